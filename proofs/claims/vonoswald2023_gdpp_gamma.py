"""[von Oswald et al. 2023, GD++ gamma] The learned GD++ curvature-correction gamma of a recurrent
two-layer LSA, 0.179 / 0.099 / 0.056 / 0.029 for N = 10 / 25 / 50 / 100, and the eigenvalue ranges
of X X^T over 10,000 tasks.

Setting (their code): d = 10, x ~ U(-1/2, 1/2)^d, w ~ N(0, I), noiseless, loss on the query only.
Check: gamma* = argmin over (eta, gamma) of the two-layer recurrent GD++ loss (Monte Carlo on a fixed
set of tasks, i.e. common random numbers; exact minimisation over eta of the quartic, Brent over gamma), repeated on R independent task sets; a
t-interval over the replicates against the published gamma (rounded to 3 decimals, +-0.0005).
Eigenvalues: one simulation of 10,000 tasks per N, extremes of lambda(X X^T) (no 1/N).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from iclcheck.numerics.compare import best_eta_quartic, gdpp_two_layer_terms
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker

PUBLISHED_GAMMA = {10: 0.179, 25: 0.099, 50: 0.056, 100: 0.029}
PUBLISHED_MAX = {10: 4.6, 25: 7.712, 50: 10.845, 100: 17.196}
PUBLISHED_MIN = {10: 1e-10, 25: 0.097, 50: 0.666, 100: 2.870}
D = 10
LAYERS = 2
ROUNDING = 0.0005  # the published gammas carry 3 decimals
# The published gamma is a *learned* value: a trained network sits near, not at, the optimum. As in
# ahn2023.fig4, a learned value counts as the optimum's when it lies in the band of gamma whose profile
# loss is within DELTA = 5% of the optimal loss (plus our CI for gamma* and the rounding); the strict
# comparison (CI + rounding only) is reported in the detail.
DELTA = 0.05
# Extremes over 10,000 tasks are themselves random (over 12 independent 10,000-task simulations the
# max of lambda_max spread over [6.85, 7.68] for N = 25 and the min of lambda_min over [0.057, 0.110]):
# so the published extreme is tested as one draw of the max (min) of 10,000 iid per-task values, with
# the per-task law estimated from a pool of simulated tasks: two-sided p = 2 min(q, 1 - q),
# q = P(max of 10,000 <= published) = F(v)^10000 (F with the (rank + 1) / (M + 2) estimate); pass iff
# p >= 0.001. For the square case N = d = 10 the min is near-singular and the same test applies.
P_LEVEL = 0.001
TASKS = 10_000

def _tasks(rng: np.random.Generator, B: int, N: int, r: float = 1.0):
    X = rng.uniform(-r / 2, r / 2, (B, N, D))  # (B, N, d)
    xq = rng.uniform(-r / 2, r / 2, (B, D))
    w = rng.standard_normal((B, D))
    y = np.einsum("bnd,bd->bn", X, w)
    yq = np.einsum("bd,bd->b", xq, w)
    return X, y, xq, yq


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(R=4, B=2000, pool_size=10_000), thorough=dict(R=10, B=50_000, pool_size=60_000))


def gamma_star(N: int, rng: np.random.Generator, B: int) -> tuple[float, float, float]:
    """(gamma*, eta*, band): the sample-average argmin and the half-width of the gamma interval whose
    profile loss min_eta L(eta, gamma) stays within DELTA of the optimum (quadratic model)."""
    X, y, xq, yq = _tasks(rng, B, N)
    C = X.transpose(0, 2, 1) @ X  # (B, d, d)
    b = np.einsum("bnd,bn->bd", X, y)

    def profile(g: float) -> float:  # min over eta, exactly (the loss is a quartic in eta for 2 layers)
        u, v = gdpp_two_layer_terms(C, b, xq, N=N, gamma=g)
        return best_eta_quartic(u, v, yq)[1]

    r = optimize.minimize_scalar(profile, bounds=(1e-4, 1.0 / (1 + N / 12)), method="bounded",
                                 options={"xatol": 1e-7})
    u, v = gdpp_two_layer_terms(C, b, xq, N=N, gamma=r.x)
    eta, fstar = best_eta_quartic(u, v, yq)
    h = 0.02 * r.x
    curv = (profile(r.x + h) - 2 * fstar + profile(r.x - h)) / h**2
    band = float(np.sqrt(2 * DELTA * fstar / curv)) if curv > 0 else float("inf")
    return float(r.x), float(eta), band


def eig_pool(N: int, rng: np.random.Generator, tasks: int, r: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-task lambda_max and lambda_min of X X^T (no 1/N) for ``tasks`` simulated tasks."""
    mx, mn = [], []
    for start in range(0, tasks, 2000):
        k = min(2000, tasks - start)
        X = rng.uniform(-r / 2, r / 2, (k, N, D))  # (k, N, d)
        ev = np.linalg.eigvalsh(X.transpose(0, 2, 1) @ X)  # (k, d)
        mx.append(ev[:, -1])
        mn.append(ev[:, 0])
    return np.concatenate(mx), np.concatenate(mn)


def extreme_pvalue(pool: np.ndarray, v: float, *, upper: bool) -> tuple[float, float]:
    """(q, two-sided p) for v as the max (upper) or min of TASKS iid draws from the pool's law."""
    M = pool.size
    if upper:
        F = (np.sum(pool <= v) + 1) / (M + 2)
        q = F**TASKS
    else:
        G = (np.sum(pool < v) + 1) / (M + 2)
        q = 1 - (1 - G) ** TASKS  # P(min <= v)
    return float(q), float(2 * min(q, 1 - q))


def verify(ctx: Context) -> Checker:
    ck = Checker()
    R, B = SIZES.at(ctx).R, SIZES.at(ctx).B
    Ns = (10, 25, 50, 100)
    for i, N in enumerate(Ns):
        fits = np.array([gamma_star(N, ctx.stream("fit", i, r), B) for r in range(R)])  # (R, 3)
        reps, band = fits[:, 0], float(np.median(fits[:, 2]))
        m, se = reps.mean(), reps.std(ddof=1) / np.sqrt(R)
        hw = stats.t.ppf(0.9995, R - 1) * se
        pub = PUBLISHED_GAMMA[N]
        strict = abs(m - pub) <= hw + ROUNDING
        ck.bounded(f"gamma* (N={N}, {LAYERS} recurrent layers) vs published {pub}", float(abs(m - pub)),
                   float(band + hw + ROUNDING),
                   detail=f"gamma* = {m:.4f} +- {hw:.4f} (99.9% t-interval over {R} replicate optimisations on {B} "
                   f"tasks each; replicates {np.round(reps, 4).tolist()}); published {pub} +- {ROUNDING} rounding; "
                   f"{DELTA:.0%}-loss band +-{band:.4f}; strict comparison (CI + rounding only): "
                   f"{'consistent' if strict else 'distinguishable'} (|diff| = {abs(m - pub):.4f})",
                   computed=float(m), expected=pub)
    pool_size = SIZES.at(ctx).pool_size
    for i, N in enumerate(Ns):
        pmx, pmn = eig_pool(N, ctx.stream("eig_pool", i), pool_size)
        one_mx, one_mn = float(pmx[:TASKS].max()), float(pmn[:TASKS].min())
        wide = 4.0 * one_mx  # U(-1, 1) scales X by 2, XX^T by 4
        for label, pool, pub, upper, one in (("max", pmx, PUBLISHED_MAX[N], True, one_mx),
                                             ("min", pmn, PUBLISHED_MIN[N], False, one_mn)):
            q, p = extreme_pvalue(pool, pub, upper=upper)
            _, p_wide = extreme_pvalue(4.0 * pool, pub, upper=upper)  # the paper's U(-1,1): XX^T scaled by 4
            extra = f"; under the paper's U(-1,1) (XX^T x 4) p = {p_wide:.3g}"
            if upper:
                extra += f", one simulated max {wide:.4g}"
            ck.decided(f"{label} eigenvalue of XX^T over 10,000 tasks (N={N})", p >= P_LEVEL,
                       f"published {pub:g}; one simulated 10,000-task {label} {one:.4g}; P({label} <= published) "
                       f"= {q:.3g} from a pool of {pool_size} tasks, two-sided p = {p:.3g} (pass iff >= {P_LEVEL})"
                       f"{extra}", computed=one, expected=pub)  # pass iff p >= level: the p-value is in the detail
    return ck  # a refutation's finding: its failing steps


CLAIM = Claim(
    key="vonoswald2023.gdpp_gamma",
    title="learned GD++ gamma vs optimum",
    source="[von Oswald et al. 2023, GD++ section / appendix] arXiv 2212.07677",
    statement="A recurrent 2-layer LSA trained on d = 10 regression learns GD++ with gamma = 0.179, 0.099, "
    "0.056, 0.029 for N = 10, 25, 50, 100; over 10,000 tasks the eigenvalues of XX^T range up to "
    "4.6 / 7.712 / 10.845 / 17.196 and down to 1e-10 / 0.097 / 0.666 / 2.870.",
    notation="Their token e_j = (x_j, y_j), X = [x_1..x_N] (d x N) so XX^T = sum_i x_i x_i^T with no 1/N; "
    "GD++ layer P = [[-gamma I, 0], [0, eta/N]], W_K = W_Q = [[I,0],[0,0]], W_V = [[I,0],[0,-1]] (W_0 = 0), "
    "prediction = -(query label), 1/2 MSE (does not move the argmin). x ~ U(-1/2, 1/2)^d (code's input_range 1).",
    verify=verify,
    # replicate r of the fit at the i-th N: salt 100 i + r; the eigenvalue pool of the i-th N: salt 1000 + i
    streams={"fit": (0, 100, 1), "eig_pool": (1000, 1)},
    fixed="its statement is the learned gamma of the authors' runs (d = 10, x ~ U(-1/2, 1/2)^d, N = "
          "10..100)",
)
