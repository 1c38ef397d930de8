"""In-context regression algorithms side by side, step by step (issue 5, item 4).

Every algorithm maps a prompt (X, y, x_q) to a sequence of predictions yhat_k, k = 0..K (step k of
an iterative method, or layer k of an attention model: yhat_0 = 0 for all of them, being w_0 = 0),
and the per-step error is the population loss of the canonical model, E (yhat_k - w^T x_q)^2, exact where
the restricted families give it (opt-poly, pgd, gdpp in the family setting), otherwise estimated by Monte Carlo
over fresh prompts with an interval clipped at 0 and tail diagnostics (``numerics.montecarlo``): a heavy-tailed
step is reported as "mean not estimable at this sample size" with its median, never as an interval.

Conventions (as in ``numerics.algorithms``): R(w) = (1/2n)||Xw - y||^2, grad R = (1/n) X^T (Xw - y).

- ``gd``        w_{k+1} = w_k - eta grad R(w_k), eta minimising the loss after L steps (the attention models'
                depth; 1-D search on common pilot prompts); steps k > L are run with that eta and flagged
                ``beyond_L`` (eta is not tuned for them)
- ``pgd``       w_{k+1} = w_k - eta Sigma^{-1} grad R(w_k), eta likewise (exact loss per step in the family setting)
- ``opt-poly``  L steps w_{l+1} = w_l - a_l Sigma^{-1} grad R(w_l) with the exact condition-(8) optimum
                (``numerics.families.gd.optimal_gd``, certified; the loss is symmetric in the a_l, the
                intermediate curve uses the ascending order)
- ``gdpp``      the condition-(11) LSA with A_l = a_l Sigma^{-1}, B_l = b_l I at the restricted optimum
                (THE optimiser ``numerics.families.gdpp.optimal_gdpp`` on the exact loss in the family setting x ~ N(0,
                Sigma), w ~ N(0, Sigma^-1); otherwise the common-random-number sample optimum of
                ``numerics.training.restricted_optimum``, labelled as such), layer by layer
- ``newton``    Iterative Newton (Fu et al. eq. 5) with the convergent alpha = 1/||S S^T||_F, S = X^T X;
                step k is their w_k = M_k X^T y (w_0 = alpha S X^T y is already one step from 0)
- ``ols``       minimum-norm least squares (a constant curve);  ``bayes`` the posterior mean
                Sigma_w X^T (X Sigma_w X^T + sigma2 I)^{-1} y (ridge with the Bayes penalty; = ``ols`` if
                sigma2 = 0 and n >= d)
- ``lsa``       a trained L-layer LSA with full P_l, Q_l (``numerics.training.train``, gradient clipped to
                norm 1 with 100 warm-up steps: without them the full-parameter runs diverge), read out after
                every layer: yhat_l = -[Z_l]_{d+1,n+1}

Fu et al.'s similarity of errors (STATEMENTS.md s.4): SimE(A, B) = E cos(err_A, err_B) with
err_A = [A(x_2) - y_2, ..., A(x_{n+1}) - y_{n+1}], where A(x_{i+1}) is A's prediction for x_{i+1}
from the prefix prompt of the first i examples (i = 1..n). The attention model sees each prefix as
a prompt of i context tokens (its 1/i normalisation), exactly as its literal forward pass defines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from iclcheck.numerics.algorithms.iteration_counts import gd_counts, gd_unnormalised_errors, newton_counts  # noqa: F401
from iclcheck.numerics.algorithms.reference import newton_w, ols
from iclcheck.numerics.bayes import posterior_mean
from iclcheck.numerics.families.gd import gd_loss, optimal_gd
from iclcheck.numerics.families.gdpp import family_params, gdpp_loss, optimal_gdpp
from iclcheck.numerics.families.gdpp_recurrent import (  # noqa: F401 (re-exported)
    best_eta_quartic,
    gdpp_recurrent_from_gram,
    gdpp_recurrent_predict,
    gdpp_two_layer_terms,
)
from iclcheck.numerics.families.quadrature import problem_from
from iclcheck.numerics.limits import MAX_COMPARE_LAYERS, MAX_COMPARE_SAMPLES, MAX_COMPARE_STEPS, MAX_GD_LAYERS
from iclcheck.numerics.model.forward import Prompts, lsa_forward, sample_prompts
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.numerics.model.montecarlo import MCEstimate, estimate_from_values
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.random_matrices import split_spectrum_sigma  # noqa: F401 (re-exported)
from iclcheck.numerics.training import restricted_optimum, train
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.setting import Setting

__all__ = [
    "ALGORITHMS",
    "Curve",
    "best_eta_quartic",
    "best_match",
    "compare",
    "estimate",
    "gd_counts",
    "gd_path",
    "gd_unnormalised_errors",
    "gdpp_recurrent_from_gram",
    "gdpp_recurrent_predict",
    "gdpp_two_layer_terms",
    "newton_counts",
    "split_spectrum_sigma",
    "lsa_path",
    "optimal_step",
    "prefix_errors",
    "sim_e",
    "similarity_maps",
]

ALGORITHMS = ("gd", "pgd", "opt-poly", "gdpp", "newton", "ols", "bayes", "lsa")

PathFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (X, y, xq) -> (K+1, B)


def estimate(sq: np.ndarray, *, level: float = 0.999, nonnegative: bool = False) -> MCEstimate:
    """Sample mean of iid values with a CLT interval and tail diagnostics (``numerics.montecarlo``)."""
    return estimate_from_values(sq, level=level, nonnegative=nonnegative)


# ---------------------------------------------------------------------------------------------
# prediction paths, batched: X (B, n, d), y (B, n), xq (B, d) -> (K+1, B)
# ---------------------------------------------------------------------------------------------
def gd_path(X, y, xq, *, steps: int, Gamma: np.ndarray) -> np.ndarray:
    """Predictions x_q^T w_k of w_{k+1} = w_k - Gamma_k grad R(w_k); Gamma (d, d) or per-step (K, d, d)."""
    B, n, d = X.shape
    G = np.asarray(Gamma, float)
    Gs = np.broadcast_to(G, (steps, d, d)) if G.ndim == 2 else G
    w = np.zeros((B, d))
    out = [np.zeros(B)]
    for k in range(steps):
        grad = np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w) - y) / n  # (B, d)
        w = w - grad @ Gs[k].T  # (B, d)
        out.append(np.einsum("bd,bd->b", xq, w))
    return np.stack(out)  # (K+1, B)


def lsa_path(X, y, xq, Ps, Qs) -> np.ndarray:
    """Read-out -[Z_l]_{d+1,n+1} after every layer l = 0..L of the literal forward pass, (L+1, B)."""
    B, n, d = X.shape
    Z = build_prompts(X, y, xq)  # (B, d+1, n+1)
    out = [np.zeros(B)]
    for P, Q in zip(Ps, Qs, strict=True):
        Z = lsa_forward(Z, [P], [Q])
        out.append(-Z[:, d, n])
    return np.stack(out)


def _newton_path(X, y, xq, *, steps: int) -> np.ndarray:
    """Iterative Newton in Fu et al.'s indexing: entry k is x_q^T w_k, w_k = M_k X^T y, k = 0..steps."""
    W = newton_w(X, y, steps=steps, alpha="code")  # (steps+1, B, d)
    return np.einsum("kbd,bd->kb", W, xq)


def _bayes(X, y, Sigma_w, sigma2) -> np.ndarray:
    """The posterior mean (B, d): ``numerics.bayes.posterior_mean`` (stable for every sigma2 >= 0, also at
    sigma2 = 1e-320 where X Sigma_w X^T + sigma2 I is singular in float64)."""
    return posterior_mean(X, y, Sigma_w=Sigma_w, sigma2=sigma2)


def optimal_step(X, y, xq, yq, *, steps: int, precond: np.ndarray) -> float:
    """eta minimising the sample mean of (yhat_steps - y_q)^2 for Gamma = eta * precond (log grid + Brent)."""
    d = X.shape[2]
    Sn = np.einsum("bni,bnj->ij", X, X) / (X.shape[0] * X.shape[1])  # (d, d) pooled (1/n) X^T X
    lam = float(np.max(np.real(np.linalg.eigvals(precond @ Sn))))

    def f(log_eta: float) -> float:
        p = gd_path(X, y, xq, steps=steps, Gamma=np.exp(log_eta) * precond)[-1]
        v = float(np.mean((p - yq) ** 2))
        return v if np.isfinite(v) else 1e300

    grid = np.linspace(np.log(1e-3 / lam), np.log(2.5 / lam), 36)
    vals = [f(g) for g in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    r = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    del d
    return float(np.exp(r.x))


# ---------------------------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------------------------
@dataclass
class Curve:
    name: str
    label: str
    steps: np.ndarray  # (m,) step / layer indices
    errors: list[MCEstimate]  # one per step (Monte Carlo on the common test prompts)
    params: dict
    exact: list[float | None] = field(default_factory=list)  # exact population error per step where known
    tuned_steps: int | None = None  # the step count its step size / coefficients were optimised for

    def beyond(self) -> list[bool]:
        """Per step: run beyond the step count it was tuned for (gd / pgd with an eta optimal for L steps)."""
        return [self.tuned_steps is not None and int(k) > self.tuned_steps for k in self.steps]


def _check_int(v, what: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InputError(what, f"must be an integer >= {lo}, got {v!r}")
    return int(v)


def compare(setting: Setting, L: int, **options) -> dict:
    """Per-step errors of every algorithm on ``samples`` fresh prompts (common to all algorithms); the options
    are those of ``_compare`` (steps, samples, rng, train_steps, train_batch, train_lr, algorithms, train_callback,
    sim_prompts).

    Bounds (``numerics.limits``) are checked before any work: L <= MAX_COMPARE_LAYERS, steps <= MAX_COMPARE_STEPS,
    samples <= MAX_COMPARE_SAMPLES. Intermediate overflow (a line search trying far parameters, a diverging
    iteration) is not printed as warnings; instead every reported number is checked, and a non-finite one is a
    ``NumericalFailure`` naming the algorithm and step."""
    L = _check_int(L, "L", 1)
    if L > MAX_COMPARE_LAYERS:
        raise InputError("L", f"at most {MAX_COMPARE_LAYERS} layers (the exact condition-(8) optimum stops there), "
                         f"got {L:,}")
    steps = options.get("steps")
    if steps is not None and _check_int(steps, "steps", 1) > MAX_COMPARE_STEPS:
        raise InputError("steps", f"at most {MAX_COMPARE_STEPS:,}, got {steps:,}")
    samples = options.get("samples", 4000)
    if _check_int(samples, "samples", 10) > MAX_COMPARE_SAMPLES:
        raise InputError("samples", f"at most {MAX_COMPARE_SAMPLES:,}, got {samples:,}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = _compare(setting, L, **options)
    for c in res["curves"]:
        for k, e, x in zip(c.steps, c.errors, c.exact or [None] * len(c.errors), strict=True):
            v = x if x is not None else e.mean
            if not np.isfinite(v):
                raise NumericalFailure(f"compare ({c.name})", f"the error at step {int(k)} is not finite ({v}): the "
                                       "iteration overflowed float64", "fewer steps or layers (L)")
    for key, v in res["similarity"].items():
        if not np.all(np.isfinite(np.asarray(v["sim_e"], dtype=float))):
            raise NumericalFailure(f"compare ({key})", "the similarity of errors is not finite: an iteration "
                                   "overflowed float64", "fewer steps or layers (L)")
    return res


def _compare(
    setting: Setting,
    L: int,
    *,
    steps: int | None = None,
    samples: int = 4000,
    rng: np.random.Generator,
    train_steps: int = 1500,
    train_batch: int = 1024,
    train_lr: float = 0.05,
    algorithms: tuple[str, ...] = ALGORITHMS,
    train_callback: Callable[[int, float], None] | None = None,
    sim_prompts: int = 400,
) -> dict:
    """Per-step errors of every algorithm (``compare`` checks the bounds and the results).

    L: layers of the attention models (opt-poly, gdpp, lsa) and the step count gd / pgd's eta is optimal for;
    steps: iterations of gd / pgd / newton shown (default max(L, 10); steps beyond L are flagged). Step sizes
    and sample optima are tuned on a separate pilot sample. ``train_callback(step, running_loss)``: the trained
    LSA's progress (``training.train``'s callback)."""
    L = _check_int(L, "L", 1)
    K = _check_int(steps if steps is not None else max(L, 10), "steps", 1)
    samples = _check_int(samples, "samples", 10)
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown:
        raise InputError("algorithms", f"unknown {unknown}; choose from {', '.join(ALGORITHMS)}")
    d = setting.d
    Si = np.linalg.inv(setting.Sigma)
    Si = (Si + Si.T) / 2
    pilot = sample_prompts(setting, max(2000, samples // 2), rng)
    test = sample_prompts(setting, samples, rng)
    X, y, xq, yq = test.X, test.y, test.xq, test.yq
    curves: list[Curve] = []

    family_pr = _family_problem(setting)  # the exact restricted-family losses apply (x Gaussian, w ~ N(0, Sigma^-1))

    one = OneLayer(setting)  # exact one-step loss of x_q^T Gamma (1/n) X^T y for any Sigma, Sigma_w, law
    f0 = float(np.trace(setting.Sigma @ setting.Sigma_w))  # step 0 predicts 0: E (w^T x_q)^2

    def early_exact(Gamma: np.ndarray) -> list[float | None]:
        return [f0, float(one.reduced_loss(Gamma))] + [None] * (K - 1)

    def add(name: str, label: str, preds: np.ndarray, params: dict, idx=None, exact=None, tuned=None) -> None:
        errs = [estimate((p - yq) ** 2, nonnegative=True) for p in preds]
        if exact is None:  # step 0 of every layer / step model predicts 0: its error is E (w^T x_q)^2 exactly
            exact = [f0 if idx is None and k == 0 else None for k in range(len(errs))]
        curves.append(Curve(name, label, np.arange(len(preds)) if idx is None else np.asarray(idx), errs, params,
                            exact=list(exact), tuned_steps=tuned))

    if "gd" in algorithms:
        eta = optimal_step(pilot.X, pilot.y, pilot.xq, pilot.yq, steps=L, precond=np.eye(d))
        add("gd", f"GD (eta*={eta:.3g}, optimal for {L} steps)", gd_path(X, y, xq, steps=K, Gamma=eta * np.eye(d)),
            {"eta": eta, "eta_optimal_for_steps": L}, exact=early_exact(eta * np.eye(d)), tuned=L)
    if "pgd" in algorithms:
        eta = optimal_step(pilot.X, pilot.y, pilot.xq, pilot.yq, steps=L, precond=Si)
        # exact per step up to MAX_GD_LAYERS steps (the quadrature of degree 2k: ~13 s at k = 20, ~9 min at k = 30
        # here); later steps are Monte Carlo, so --steps never makes the exact route unbounded
        K_ex = min(K, MAX_GD_LAYERS)
        ex: list[float | None] | None = ([gd_loss([eta] * k, family_pr) if k else float(d) for k in range(K_ex + 1)] + [None] * (K - K_ex)
              if family_pr else early_exact(eta * Si))
        add("pgd", f"precond. GD Sigma^-1 (eta*={eta:.3g}, optimal for {L} steps)",
            gd_path(X, y, xq, steps=K, Gamma=eta * Si), {"eta": eta, "eta_optimal_for_steps": L}, exact=ex, tuned=L)
    if "opt-poly" in algorithms:
        try:
            opt = optimal_gd(setting, L)
            a = opt.coefficients
            ex = [gd_loss(a[:k], opt.problem) if k else float(d) for k in range(L + 1)]
            add("opt-poly", f"optimal {L}-step poly (8)", gd_path(X, y, xq, steps=L, Gamma=a[:, None, None] * Si),
                {"a": a.tolist(), "exact_loss": opt.loss, "method": opt.method}, exact=ex)
        except InputError as exc:  # the exact family optimum needs Gaussian data and w ~ N(0, Sigma^-1)
            curves.append(Curve("opt-poly", "optimal poly (8): n/a", np.arange(0), [], {"skipped": str(exc)}))
    if "gdpp" in algorithms:
        if family_pr is not None and L <= 3:
            o = optimal_gdpp(family_pr, L, seed=int(rng.integers(2**31)))
            a_pp, b_pp = o.a, o.b
            ex = [gdpp_loss(a_pp[:k], b_pp[:k], family_pr) if k else float(d) for k in range(L + 1)]
            how = o.method
            label = f"GD++ (11) optimum, {L} layers"
        else:
            th, _ = restricted_optimum(setting, L, family_name="gdpp-scalar", fixed_prompts=pilot, rng=rng,
                                       starts_count=2)
            a_pp, b_pp, ex = th[:L], th[L:], None
            how = (f"sample-average optimum on {pilot.X.shape[0]} pilot prompts (L-BFGS, 2 starts); no exact loss "
                   "outside the family setting x ~ N(0, Sigma), w ~ N(0, Sigma^-1)")
            label = f"GD++ (11) sample optimum, {L} layers"
        Ps, Qs = family_params(setting.Sigma, a_pp, b_pp)
        add("gdpp", label, lsa_path(X, y, xq, Ps, Qs), {"a": list(map(float, a_pp)), "b": list(map(float, b_pp)),
                                                         "method": how}, exact=ex)
    if "newton" in algorithms:
        add("newton", "Iterative Newton (alpha=1/||SS^T||_F)", _newton_path(X, y, xq, steps=K), {},
            exact=[None] * (K + 1))  # its step 0 is already alpha S X^T y, not 0
    if "ols" in algorithms:
        p = np.einsum("bd,bd->b", xq, ols(X, y))
        add("ols", "OLS", p[None], {}, idx=[K])
    if "bayes" in algorithms:
        p = np.einsum("bd,bd->b", xq, _bayes(X, y, setting.Sigma_w, setting.sigma2))
        add("bayes", f"Bayes ridge (sigma2={setting.sigma2:g})", p[None], {}, idx=[K])
    trained = None
    if "lsa" in algorithms and train_steps > 0:
        trained = train(setting, L, family_name="full", steps=train_steps, batch=train_batch, lr=train_lr,
                        clip=1.0, warmup=min(100, train_steps // 10), rng=rng, callback=train_callback)
        add("lsa", f"trained LSA (full P,Q; {train_steps} Adam steps)", lsa_path(X, y, xq, trained.Ps, trained.Qs),
            {"train_steps": train_steps, "batch": train_batch, "lr": train_lr, "seconds": trained.seconds})
    sims = similarity_maps(setting, curves, trained, K=K, rng=rng, prompts=sim_prompts) if sim_prompts else {}
    return {"setting": setting.describe(), "L": L, "steps": K, "samples": samples, "curves": curves,
            "trained": trained, "similarity": sims}


def _family_problem(setting: Setting):
    """The whitened FamilyProblem when the exact restricted-family losses apply to ``setting``, else None."""
    try:
        return problem_from(setting)
    except InputError:
        return None


def similarity_maps(setting: Setting, curves: list[Curve], trained, *, K: int, rng: np.random.Generator,
                    prompts: int = 400) -> dict:
    """Best-matching steps (by SimE on prefix prompts) of the attention models' layers l = 1..L against
    Iterative Newton steps 0..K and GD steps 0..K (GD with the step tuned in ``compare``)."""
    pr = sample_prompts(setting, prompts, rng)
    params = {c.name: c.params for c in curves}
    refs: dict[str, np.ndarray] = {}
    if "newton" in params:
        refs["newton"] = prefix_errors(pr, lambda X, y, xq: _newton_path(X, y, xq, steps=K))
    if "gd" in params:
        eta = params["gd"]["eta"]
        refs["gd"] = prefix_errors(pr, lambda X, y, xq: gd_path(X, y, xq, steps=K, Gamma=eta * np.eye(setting.d)))
    models: dict[str, np.ndarray] = {}
    if trained is not None:
        models["lsa"] = prefix_errors(pr, lambda X, y, xq: lsa_path(X, y, xq, trained.Ps, trained.Qs))[1:]
    if "gdpp" in params:
        Ps, Qs = family_params(setting.Sigma, params["gdpp"]["a"], params["gdpp"]["b"])
        models["gdpp"] = prefix_errors(pr, lambda X, y, xq: lsa_path(X, y, xq, Ps, Qs))[1:]
    out = {}
    for m, em in models.items():
        for r, er in refs.items():
            idx, S = best_match(em, er)
            out[f"{m}_vs_{r}"] = {"best_step": idx.tolist(), "sim_e": S.max(axis=1).tolist(), "matrix": S.tolist()}
    return out


# ---------------------------------------------------------------------------------------------
# SimE and best-matching steps
# ---------------------------------------------------------------------------------------------
def prefix_errors(prompts: Prompts, path_fn: PathFn, *, first: int = 1) -> np.ndarray:
    """err[k, b, i] = A_k(x_{i+1}) - y_{i+1} from the prefix of the first i examples, i = first..n.

    ``prompts`` has n context examples (x_1..x_n) and the query x_q as example n+1 (label w^T x_q + noise
    is not drawn for the query, so y_{n+1} = w^T x_q). Returns (K+1, B, n - first + 1)."""
    Xall = np.concatenate([prompts.X, prompts.xq[:, None, :]], axis=1)  # (B, n+1, d)
    yall = np.concatenate([prompts.y, prompts.yq[:, None]], axis=1)  # (B, n+1)
    n = prompts.X.shape[1]
    cols = []
    for i in range(first, n + 1):
        pred = path_fn(Xall[:, :i], yall[:, :i], Xall[:, i])  # (K+1, B)
        cols.append(pred - yall[None, :, i])
    return np.stack(cols, axis=-1)  # (K+1, B, n-first+1)


def sim_e(err_a: np.ndarray, err_b: np.ndarray, *, level: float = 0.999) -> MCEstimate:
    """SimE = E cos(err_a, err_b) over prompts (the last axis is the error vector), with a CI."""
    num = np.sum(err_a * err_b, axis=-1)
    den = np.linalg.norm(err_a, axis=-1) * np.linalg.norm(err_b, axis=-1)
    cos = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return estimate(cos.ravel(), level=level)


def best_match(err_layers: np.ndarray, err_steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each layer l (axis 0 of err_layers), the step k maximising SimE(layer l, step k).

    err_layers: (L, B, m); err_steps: (K, B, m). Returns (argmax step (L,), SimE matrix (L, K))."""
    La, Ka = err_layers.shape[0], err_steps.shape[0]
    S = np.empty((La, Ka))
    for l in range(La):
        for k in range(Ka):
            S[l, k] = sim_e(err_layers[l], err_steps[k]).mean
    return np.argmax(S, axis=1), S
