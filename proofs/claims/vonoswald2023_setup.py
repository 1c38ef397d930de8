"""[von Oswald et al. 2023, Sec. 4 setup] the published data law and the reported one-step GD loss of 0.2
(arXiv 2212.07677).

Setting as published: d = N = 10, w ~ N(0, I), y = w^T x (noiseless), the loss 1/2 (yhat - y_test)^2 on the
query, one GD step from W_0 = 0 with a line-searched step size. The paper text says x ~ U(-1, 1)^d; the
released code samples x ~ U(-r/2, r/2)^d with r = input_range = 1. The reported "desired GD loss of 0.2"
(printed with one significant digit, so the window is [0.15, 0.25)) is computed here exactly: one GD step
from 0 predicts x_test^T (eta I) (1/N) sum y_i x_i, the canonical reduced model with Gamma = eta I, whose
loss L(eta I) is the exact quadratic of theory.one_layer (uniform coordinates, Sigma = r^2/12 I); their
loss is L/2, and the line search finds eta* = argmin L(eta I). Cross-checked by an independent hand formula,
by Monte Carlo of their literal GD step on directly sampled U(-r/2, r/2) data, by a replay of their grid
line search, and by the eigenvalue extremes of X X^T that they report over 10,000 tasks.
"""

from __future__ import annotations

import contextlib

import numpy as np
import sympy as sp
from scipy import stats

from iclcheck.numerics.algorithms.reference import gd
from iclcheck.numerics.model.montecarlo import mc_mean
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation import vonoswald as vo
from iclcheck.theory.notation.vonoswald import setup_gd_loss_exact as gd_loss_exact
from iclcheck.theory.notation.vonoswald import setup_hand_formula as hand_formula
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "gd_loss_exact", "hand_formula"]

KEY = "vonoswald2023.setup"
SOURCE = "[von Oswald et al. 2023, Sec. 4 and App. (experimental setup); released code] arXiv 2212.07677"
STATEMENT = (
    "d = N = 10, x ~ U(-1, 1)^d, w ~ N(0, I), noiseless, loss on the query only; one step of GD with the "
    "line-searched step size reaches 'the desired GD loss of 0.2'."
)
NOTATION = (
    "Their loss = 1/2 x the canonical f (1/2 MSE); one GD step from W_0 = 0 with Delta W = (eta/N) sum y_i x_i^T is "
    "the canonical reduced predictor with Gamma = eta I (n = N); U(-r/2, r/2)^d is the 'uniform' covariate law "
    "with Sigma = r^2/12 I (kurtosis 9/5). Paper text: r = 2; code: r = 1 (input_range)."
)
D = N = 10
WINDOW = (sp.Rational(3, 20), sp.Rational(1, 4))  # "0.2" printed with one significant digit
REPORTED = sp.Rational(1, 5)
# The window decided as the shown figures: |loss - 0.2| <= 0.05 (its closed form; only loss = 0.25 exactly would
# differ from the half-open [0.15, 0.25), and no loss here is near it)
HALF_WIDTH = float((WINDOW[1] - WINDOW[0]) / 2)
EXACT_RATIONAL = Tolerance(rtol=1e-12, reason="float evaluation of an exact rational")
LEVEL_ALPHA = 0.001  # two-sided level of the eigenvalue-extreme tests and CI level 99.9% of the Monte Carlo
EIGEN_TASKS = 10_000  # tasks per published extreme (as published)
PUBLISHED_MAX = {10: 4.6, 25: 7.712, 50: 10.845, 100: 17.196}
PUBLISHED_MIN = {25: 0.097, 50: 0.666, 100: 2.870}  # N = 10 reports ~1e-10 (numerically singular), skipped


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(samples=100_000, tasks=10_000, K_printed=2_000, K_code=10_000),
                 thorough=dict(samples=2_000_000, tasks=100_000, K_printed=200_000, K_code=200_000))


def _mc_gd_step(r: float, eta: float, samples: int, rng: np.random.Generator):
    def draw(g: np.random.Generator, k: int) -> np.ndarray:
        X = g.uniform(-r / 2, r / 2, (k, N, D))  # (k, N, d) the code's sampler, directly
        w = g.standard_normal((k, D))  # (k, d)
        y = np.einsum("knd,kd->kn", X, w)  # (k, N) noiseless
        xq = g.uniform(-r / 2, r / 2, (k, D))  # (k, d)
        w1 = gd(X, y, eta=eta, steps=1)  # (k, d): their Delta W from W_0 = 0
        return 0.5 * (np.einsum("kd,kd->k", xq, w1) - np.einsum("kd,kd->k", xq, w)) ** 2  # 1/2 MSE
    return mc_mean(draw, samples=samples, rng=rng, level=1 - LEVEL_ALPHA)


def _line_search(r: float, rng: np.random.Generator, tasks: int) -> tuple[float, float]:
    """Their procedure: a grid of step sizes scored by Monte Carlo on ``tasks`` tasks (common random numbers)."""
    X = rng.uniform(-r / 2, r / 2, (tasks, N, D))
    w = rng.standard_normal((tasks, D))
    y = np.einsum("knd,kd->kn", X, w)
    xq = rng.uniform(-r / 2, r / 2, (tasks, D))
    g = np.einsum("kd,kd->k", xq, np.einsum("kn,knd->kd", y, X) / N)  # prediction per unit eta
    t = np.einsum("kd,kd->k", xq, w)
    etas = np.linspace(0.05, 3.0, 300) / float(vo.uniform_variance(r))  # brackets eta* for any r
    losses = 0.5 * ((etas[:, None] * g[None] - t[None]) ** 2).mean(axis=1)  # (grid,)
    i = int(np.argmin(losses))
    return float(etas[i]), float(losses[i])


def _extreme_consistent(r: float, rng: np.random.Generator, K: int) -> tuple[bool, bool, list[str]]:
    """Is each published extreme a plausible max/min over 10,000 tasks under U(-r/2, r/2)^10?

    With q = P(one task is more extreme than the published value) estimated from K simulated tasks
    (Clopper-Pearson interval at level 1 - alpha), P(max over m tasks <= v) = (1 - q)^m; the published value is
    rejected when that probability lies outside [alpha/2, 1 - alpha/2] for the whole interval of q, and
    accepted (consistent) when the interval of (1-q)^m meets it."""
    rows, consistent, rejected_any = [], True, False
    for Nn in (10, 25, 50, 100):
        X = rng.uniform(-r / 2, r / 2, (K, D, Nn))  # (K, d, N) inputs as columns
        ev = np.linalg.eigvalsh(X @ X.transpose(0, 2, 1))  # (K, d) eigenvalues of X X^T
        for kind, table, col, more in (("max", PUBLISHED_MAX, -1, np.greater), ("min", PUBLISHED_MIN, 0, np.less)):
            if Nn not in table:
                continue
            v = table[Nn]
            hits = int(more(ev[:, col], v).sum())
            lo = stats.beta.ppf(LEVEL_ALPHA / 2, hits, K - hits + 1) if hits > 0 else 0.0
            hi = stats.beta.ppf(1 - LEVEL_ALPHA / 2, hits + 1, K - hits) if hits < K else 1.0
            p_hi, p_lo = (1 - lo) ** EIGEN_TASKS, (1 - hi) ** EIGEN_TASKS  # P(extreme not beyond v)
            ok = p_hi >= LEVEL_ALPHA / 2 and p_lo <= 1 - LEVEL_ALPHA / 2
            consistent &= ok
            rejected_any |= not ok
            rows.append(f"N={Nn} {kind} {v}: {hits}/{K} tasks beyond, P(published extreme) in "
                        f"[{p_lo:.2g}, {p_hi:.2g}] -> {'not rejected' if ok else 'rejected'}")
    return consistent, rejected_any, rows


def _scope(ck: Checker, printed: bool):
    """Steps about the paper's text are in the printed scope; steps about the code's law in the released scope."""
    return contextlib.nullcontext() if printed else ck.as_released()


def verify(ctx: Context) -> tuple[Checker, str | None]:
    ck = Checker()
    r_text, r_code = vo.PAPER_TEXT_INPUT_RANGE, vo.CODE_INPUT_RANGE
    results = {}
    for label, r in (("paper text U(-1,1)", r_text), ("code U(-1/2,1/2)", r_code)):
        eta_star, half_loss = gd_loss_exact(r)
        results[label] = (r, eta_star, half_loss)
        h_eta, h_loss = hand_formula(r)
        ck.exact(f"{label}: exact closed form (theory.one_layer) = independent hand formula, eta* and 1/2 loss",
                 sp.Matrix([eta_star, half_loss]), sp.Matrix([h_eta, h_loss]),
                 detail=f"eta* = {eta_star} ({float(eta_star):.6g}), 1/2 L* = {half_loss} ({float(half_loss):.6g})")

    table = []
    for label, (_r, _, half_loss) in results.items():
        full = 2 * half_loss
        table.append(f"{label}: 1/2 MSE {float(half_loss):.4f}, MSE {float(full):.4f}")
    for label, printed in (("paper text U(-1,1)", True), ("code U(-1/2,1/2)", False)):
        val = results[label][2]
        with _scope(ck, printed):
            ck.bounded(f"{'as printed' if printed else 'corrected (code law)'}: {label} data, 1/2 MSE, optimal eta: "
                       "one-step GD loss is 'about 0.2' (window [0.15, 0.25) for one printed digit)",
                       abs(float(val - REPORTED)), HALF_WIDTH, detail="; ".join(table), computed=float(val),
                       expected=float(REPORTED), exact=True)

    # The canonical loss of the Prop. 1 weights at eta* is 2 x their loss (loss scaling, both parameterisations).
    r, eta_star, half_loss = results["code U(-1/2,1/2)"]
    fl = OneLayer(Setting.make(np.eye(D) / 12.0, N, covariates="uniform"))
    w = vo.prop1_weights(np.zeros((1, D)), float(eta_star), N)
    P_can, Q_can = vo.to_canonical(N=N, **w)
    ck.close("loss scaling: canonical f of the Prop. 1 weights at eta* (OneLayer.loss) = 2 x their 1/2-MSE loss",
             fl.loss(P_can, Q_can), 2 * float(half_loss), EXACT_RATIONAL)

    # Monte Carlo of their literal GD step on directly sampled data, both laws.
    rng = ctx.rng()  # Claim.salt
    samples = SIZES.at(ctx).samples  # 99.9% CI half-width ~0.6% of the loss (quick)
    for label in ("code U(-1/2,1/2)", "paper text U(-1,1)"):
        r, eta_star, half_loss = results[label]
        est = _mc_gd_step(float(r), float(eta_star), samples, rng)
        with _scope(ck, label.startswith("paper")):
            ck.within_ci(f"Monte Carlo ({label}): literal GD step at eta*, 1/2 MSE on the query", est, float(half_loss))

    # Their grid line search lands in the reported window only with the code law.
    tasks = SIZES.at(ctx).tasks
    eta_ls, loss_ls = _line_search(float(r_code), rng, tasks)
    with ck.as_released():
        ck.bounded("line search replay (grid x Monte Carlo on 10^4 tasks, code law): minimum in [0.15, 0.25)",
                   abs(loss_ls - 0.2), HALF_WIDTH, computed=loss_ls, expected=0.2,
                   detail=f"grid argmin eta = {eta_ls:.4g} (exact eta* = {float(results['code U(-1/2,1/2)'][1]):.4g}), "
                   f"MC loss {loss_ls:.4f}")

    # The published eigenvalue extremes of X X^T over 10,000 tasks identify the data law.
    for label, r, printed in (("paper text U(-1,1)", r_text, True), ("code U(-1/2,1/2)", r_code, False)):
        # Rejecting U(-1,1) is decisive with few tasks (every task exceeds the published max); the code law needs more.
        K = SIZES.at(ctx).K_printed if printed else SIZES.at(ctx).K_code
        consistent, _, rows = _extreme_consistent(float(r), rng, K)
        with _scope(ck, printed):
            ck.decided(f"{'as printed' if printed else 'corrected (code law)'}: published eigenvalue extremes of X X^T "
                       f"over 10,000 tasks are plausible under {label} (level {LEVEL_ALPHA})", consistent, "; ".join(rows))

    finding = None
    if ck.failed:
        t = results["paper text U(-1,1)"][2]
        c = results["code U(-1/2,1/2)"][2]
        finding = (
            f"The data law printed in the paper (x ~ U(-1,1)^d) does not reproduce the reported one-step GD loss 0.2: "
            f"exactly, 1/2 MSE at the optimal step is {t} = {float(t):.4f} (MSE {float(2 * t):.4f}); the published "
            f"eigenvalue ranges of XX^T also reject it. The released code's law x ~ U(-1/2,1/2)^d (input_range = 1) "
            f"gives {c} = {float(c):.4f} with eta* = {results['code U(-1/2,1/2)'][1]} (1/2 MSE; plain MSE would be "
            f"{float(2 * c):.4f}) and matches the eigenvalue ranges. Corrected statement: x ~ U(-1/2, 1/2)^d, "
            "1/2 MSE; the GD loss is 245/1188 = 0.206. The released code says U(-1,1) too, in create_reg_data's "
            "docstring, while the function draws U(-input_range/2, input_range/2) (src/data.py, "
            "google-research/self-organising-systems); the 'Test on larger inputs' plot of "
            "constructed_token_setup.ipynb labels its axis 'x ~ U(-alpha, alpha)' but passes alpha as input_range, "
            "so the data are U(-alpha/2, alpha/2): the label is off by a factor 2 (transcribed in "
            "proofs/released.py; the notebook's plot is not re-run here).")
    return ck, finding


CLAIM = Claim(key=KEY, title="published setup, GD loss 0.2", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, salt=3,
              fixed="its statement is one number (GD loss 0.2) at the paper's own setting d = N = 10, x ~ U(-1, 1)^d")
