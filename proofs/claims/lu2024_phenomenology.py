"""[Lu et al. 2024, abstract] Double descent in the number of pretraining examples, and a transition from
memorization (low task diversity) to in-context learning (high task diversity), decided from Result 1 (as recorded,
lu2024.result1.e_icl) on grids and at one finite d.

Steps: (1) Result 1 has a pole at tau = 1 (the interpolation threshold n = d^2): |1 - tau| e(tau) tends to a positive
constant from both sides (kappa = 0.5, 2, inf); (2) on a tau grid e increases up to the pole and decreases after it
(one peak: double descent); (3) at large tau (100, 1e6) e decreases monotonically in kappa (more task diversity helps);
at tau = 2..10 only beyond a small-kappa maximum (reported as a note); (4) finite d = 10: the authors' ridgeless pipeline (mean of
fits) has its largest error next to its own threshold n = d(d+1), above the errors at tau = 0.5 and 3.
The IDG (in-distribution) error that decides "memorization" for kappa < 1 is not recorded in closed form; not checked.
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.proportional import fit_gamma, sample_pool
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker
from iclcheck.theory.proportional import exact_error, result1_e_icl, task_moments_gaussian

__all__ = ["CLAIM", "verify"]

SOURCE = ("[Lu, Letey, Zavatone-Veth, Maiti, Pehlevan 2024, Abstract (read); the curves from Result 1 as implemented in "
          "Pehlevan-Group/icl-asymptotic:Linear/Fig1_Linear_Double_Descent/common.py] arXiv 2405.11751")
STATEMENT = ("\"We demonstrate a double-descent learning curve with increasing pretraining examples, and uncover a phase "
             "transition in the model's behavior between low and high task diversity regimes\": low diversity tends to "
             "memorization, high diversity achieves genuine ICL.")
NOTATION = "as lu2024.result1.e_icl (tau = pretraining contexts / d^2, kappa = pool size / d, alpha = context / d)"

ALPHA, RHO = 1.0, 0.1


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(reps=6), thorough=dict(reps=24))


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    kappas = np.array([0.5, 2.0, np.inf])
    # (1) the pole at tau = 1
    for side, sgn in (("below", -1), ("above", 1)):
        c1 = (1e-4) * result1_e_icl(1 + sgn * 1e-4, ALPHA, kappas, RHO)
        c2 = (1e-6) * result1_e_icl(1 + sgn * 1e-6, ALPHA, kappas, RHO)
        ok = bool(np.all(c1 > 0) and np.all(np.abs(c2 / c1 - 1) < 1e-2))
        chk.decided(f"pole at tau = 1 ({side}): |1 - tau| e(tau) -> a positive constant", ok,
                    f"|1-tau| e at |1-tau| = 1e-4: {np.round(c1, 5).tolist()}, at 1e-6: {np.round(c2, 5).tolist()} "
                    "(kappa = 0.5, 2, inf); rule: positive and agreeing to 1%")
    # (2) one peak in tau
    taus = np.concatenate([np.linspace(0.05, 0.99, 48), np.geomspace(1.01, 1e4, 48)])
    e = result1_e_icl(taus[:, None], ALPHA, kappas[None, :], RHO)  # (96, 3)
    lo, hi = taus < 1, taus > 1
    ok = bool(np.all(np.diff(e[lo], axis=0) > 0) and np.all(np.diff(e[hi], axis=0) < 0))
    chk.decided("double descent: e increases in tau up to 1 and decreases after it", ok,
                f"96-point tau grid in [0.05, 1e4], kappa = 0.5, 2, inf: e(0.05) = {np.round(e[0], 4).tolist()}, "
                f"e(0.99) = {np.round(e[47], 3).tolist()}, e(1.01) = {np.round(e[48], 3).tolist()}, "
                f"e(1e4) = {np.round(e[-1], 4).tolist()}")
    # (3) task diversity at large tau (the recorded [DERIVED] note: "at large tau, e decreases monotonically in kappa")
    ks = np.geomspace(0.05, 1e3, 60)
    for t in (100.0, 1e6):
        ek = result1_e_icl(t, ALPHA, ks, RHO)
        chk.decided(f"tau = {t:g}: e decreases monotonically in kappa (task diversity)", bool(np.all(np.diff(ek) < 0)),
                    f"60-point kappa grid in [0.05, 1e3]: e = {ek[0]:.4f} -> {ek[-1]:.4f}")
    bumps = []
    for t in (2.0, 3.0, 10.0):
        ek = result1_e_icl(t, ALPHA, ks, RHO)
        i = int(np.argmax(ek))
        bumps.append((t, float(ks[i]), float(ek[i]), float(ek[0])))
        chk.decided(f"tau = {t:g}: e decreases in kappa beyond its maximum at kappa = {ks[i]:.3g}",
                    bool(np.all(np.diff(ek[i:]) < 0)), f"max e = {ek[i]:.4f} at kappa = {ks[i]:.3g} (e(0.05) = "
                    f"{ek[0]:.4f}); decreasing on the grid beyond it")
    # (4) finite d = 10: the pipeline's peak next to its threshold n = d (d + 1)
    d, kappa = 10, 2.0
    tm = task_moments_gaussian(np.zeros(d), np.eye(d), RHO)
    reps = SIZES.at(ctx).reps
    p = d * (d + 1)
    means = {}
    for label, n in (("tau = 0.5", d * d // 2), ("n = 0.9 d(d+1)", int(0.9 * p)), ("n = 1.1 d(d+1)", int(1.1 * p)),
                     ("tau = 3", 3 * d * d)):
        v = [exact_error(fit_gamma(rng, sample_pool(rng, int(kappa * d), d), n, d, RHO), d, RHO, tm) for _ in range(reps)]
        means[label] = float(np.mean(v))
    peak = min(means["n = 0.9 d(d+1)"], means["n = 1.1 d(d+1)"])
    chk.decided("finite d = 10: the ridgeless pipeline peaks at its threshold n = d(d+1)",
                peak > 2 * max(means["tau = 0.5"], means["tau = 3"]),
                "mean exact test error over " + str(reps) + " fits: "
                + ", ".join(f"{k}: {v:.3g}" for k, v in means.items()) + "; rule: both threshold neighbours above twice "
                "the larger far value (the threshold sits at tau = (d+1)/d = 1.1 at this d)")
    note = ("Extension of the recorded note, not a refutation: at moderate tau e is not monotone in kappa; it first "
            "rises at small kappa, then falls (" + "; ".join(f"tau = {t:g}: max {m:.4f} at kappa = {k:.3g}, "
            f"e(0.05) = {e0:.4f}" for t, k, m, e0 in bumps) + "); on the grid it is monotone for tau >= 30. The pole "
            "at tau = 1 (residue ~0.56-0.62 at alpha = 1, rho = 0.1) and the finite-d peak at n = d(d+1) support the "
            "double descent. To confirm in the paper's text: where the memorization/ICL transition in kappa is placed "
            "(the IDG error is not recorded in closed form and is not checked).")
    return chk, note


CLAIM = Claim(key="lu2024.phenomenology", title="double descent in tau; task diversity in kappa", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, provenance="READ+READ-code",
              fixed="its statement is a proportional limit (d -> oo with ell/d, k/d, n/d^2 fixed), not "
                    "a finite (Sigma, n)")
