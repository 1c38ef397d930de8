"""[Fu et al. 2023/2024, eq. 5] Iterative Newton with alpha = 2/||S S^T||_2 converges to OLS (arXiv 2310.17086).

Setting: S = X^T X (unnormalised), M_0 = alpha S, M_{k+1} = 2 M_k - M_k S M_k, w_k = M_k X^T y; claimed
convergence to the OLS solution S^+ X^T y with O(log kappa(S) + log log(1/eps)) iterations.
The algebra (theory.newton): per eigenvalue lambda > 0 of S the error e = 1 - lambda m squares each step,
e_k = (1 - alpha lambda^2)^(2^k), so Newton converges iff 0 < alpha < 2/lambda_max^2. The printed alpha is
exactly the boundary: on the top eigenvector e_0 = -1, e_1 = 1 and M_k annihilates that direction forever.
The check: the error recursion exactly; the printed alpha exactly (smallest counterexample, a random
rank-deficient instance, robustness to reading ||.||_2 as Frobenius) and in floats at the paper's sizes;
then the corrected statement (any 0 < alpha < 2/||SS^T||_2, e.g. the released code's 1/||SS^T||_F), exactly
and in floats: convergence to the minimum-norm OLS (also n < d), error squaring, and the iteration bound
k <= ceil(log2(ln(1/eps) sqrt(d) kappa^2)) = O(log kappa + log log 1/eps).
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from iclcheck.numerics.algorithms.iteration_counts import error_path, iterations_to, predicted_count, regrowth
from iclcheck.numerics.algorithms.reference import newton_alpha, newton_iterates, ols
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Finding, Reach
from iclcheck.theory import newton as nt
from iclcheck.theory.notation import fu

__all__ = ["CLAIM", "exact_instance", "iterations_to"]

KEY = "fu2023.eq5"
SOURCE = "[Fu, Chen, Jia, Sharan 2024 (NeurIPS), Sec. 3.1 eq. (5) Iterative Newton] arXiv 2310.17086"
LOCATOR = "camera-ready text, Sec. 3.1 eq. (5) and App. B.3 eq. (37) (M_0 = (2/||S S^T||_2) S^T)"
STATEMENT = (
    "M_0 = alpha S with alpha = 2 / ||S S^T||_2, M_{k+1} = 2 M_k - M_k S M_k, w_k = M_k X^T y (S = X^T X); the "
    "iterates converge to the OLS solution, at the rate O(log kappa(S) + log log(1/eps))."
)
NOTATION = (
    "Same S = X^T X (unnormalised) and w_k = M_k X^T y as numerics.algorithms.newton_w; OLS = S^+ X^T y = X^+ y "
    "(minimum norm when n < d). ||S S^T||_2 = lambda_max(S)^2; the released code's alpha is 1/||S S^T||_F."
)
EPS = 1e-10  # target relative error of the float convergence steps
RTOL = 1e-6  # float identity ||E_{k+1}|| = ||E_k||^2, checked while ||E_k|| in [1e-4, 1): rounding ~1e-12 relative
EPS32 = 1e-4  # target relative error for float32 runs (float32 rounding ~6e-8 limits what is reachable)
# Rounding-decided quantities, as ranges. At the printed alpha, e_0 = -1 exactly on the top eigenvector, so in
# floats rounding alone decides whether the iterates diverge (|e_0| > 1) or converge after a delay, and how long.
# The ranges are the extremes measured over ~1,000 runs whose rounding was perturbed (alpha moved by up to 16 ulps,
# rows summed in other orders, random shapes d <= 25 and scales 0.1-10 of X, OpenBLAS kernels Prescott / Haswell /
# SkylakeX) and are re-checked on other prompts by tests/proofs/claims/test_fu2023_eq5.py. The report prints the
# range, never the count of one run (which differs between BLAS kernels: 54, 55 or 56 for the same prompt).
PRINTED_DELAY = {"float64": (52, 63), "float32": (22, 36)}  # iterations to EPS / EPS32 when the iterates converge
# n < d with the code alpha: past convergence the null-space rounding doubles each step (exact: m_{k+1} = 2 m_k on
# null(S)) and the error rises again: (first step above EPS / EPS32 again, first step above 1), measured as above.
REGROWTH = {"float64": ((74, 82), (108, 117)), "float32": ((36, 44), (50, 60))}


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(random_cases=3, frobenius_B=200), thorough=dict(random_cases=20, frobenius_B=400))


def exact_instance(n: int, d: int, sigmas: list[int], seed: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix, list]:
    """A rational X = C U^T (n x d) with U rational orthogonal (Cayley) and C = [diag(sigmas) | 0], so
    S = X^T X = U diag(sigma^2, 0..) U^T has known rational eigenvalues. Returns X, y, U, eigenvalues."""
    rng = np.random.default_rng(seed)
    U = nt.cayley_orthogonal(sp.Matrix(rng.integers(-2, 3, (d, d)).tolist()))
    r = len(sigmas)
    C = sp.zeros(n, d)
    for i, s in enumerate(sigmas):
        C[i, i] = s
    y = sp.Matrix(rng.integers(-3, 4, n).tolist())
    lams = [sp.Integer(s) ** 2 for s in sigmas] + [sp.Integer(0)] * (d - r)
    return C @ U.T, y, U, lams


def printed_outcome_text(outcome: int | str, precision: str = "float64") -> str:
    """The printed alpha's float outcome as a rounding-stable phrase: the stated range when the outcome is one the
    rounding can produce (diverged, or converged after a delay inside PRINTED_DELAY), else the outcome itself."""
    lo, hi = PRINTED_DELAY[precision]
    if outcome == "diverged" or (isinstance(outcome, int) and lo <= outcome <= hi):
        return f"diverges or converges after {lo}-{hi} its (rounding decides)"
    return f"{outcome} (outside the rounding range {lo}-{hi})"


def _exact_steps(ck: Checker) -> tuple[str, str]:
    lam, m = sp.symbols("lambda m", positive=True)
    m_next = 2 * m - m**2 * lam
    ck.exact("exact: per eigenvalue the error e = 1 - lambda m squares: 1 - lambda m_{k+1} = (1 - lambda m_k)^2",
             sp.expand(1 - lam * m_next), sp.expand((1 - lam * m) ** 2))

    # As printed: alpha = 2 / lambda_max^2 -> e_0 = -1 on the top eigenvector.
    lam_max = sp.Symbol("lambda_max", positive=True)
    m0 = fu.alpha_printed([lam_max]) * lam_max
    ms = [m0]
    for _ in range(4):
        ms.append(sp.simplify(2 * ms[-1] - ms[-1] ** 2 * lam_max))
    ck.exact("exact: printed alpha = 2/||SS^T||_2 puts the top eigen-direction at e_0 = -1 and then m_k = 0 (k = 1..4):"
             " M_k annihilates it forever", sp.Matrix([sp.simplify(1 - lam_max * m0)] + ms[1:]),
             sp.Matrix([-1, 0, 0, 0, 0]))

    # Smallest counterexample: X = [[1]], y = [1] (d = n = 1, rank 1: ||SS^T||_2 = ||SS^T||_F, both readings).
    X1, y1 = sp.Matrix([[1]]), sp.Matrix([1])
    S1 = X1.T @ X1
    a1 = fu.alpha_printed([S1[0, 0]])
    assert a1 == 2 / (S1 @ S1.T).norm()  # Frobenius reading coincides for rank one
    w = [(M @ X1.T @ y1)[0, 0] for M in nt.newton_matrices(S1, alpha=a1, steps=5)]
    w_ols = (S1.pinv() @ X1.T @ y1)[0, 0]
    ck.exact("as printed: smallest counterexample X = [[1]], y = [1] converges to OLS (either reading of ||.||_2)",
             w[-1], w_ols, detail=f"alpha = {a1}, w_0..w_5 = {w}, OLS = {w_ols}")
    counter = f"X = [[1]], y = [1]: alpha = 2, M_0 = 2, M_1 = 2*2 - 2*1*2 = 0, w_k = {w} vs OLS {w_ols}"

    # A random rank-deficient instance (n = 3 < d = 4), exactly: printed alpha loses the top direction.
    X, y, U, lams = exact_instance(3, 4, [3, 2, 1], seed=11)
    S = X.T @ X
    ck.exact("exact: the rational instance has S = U diag(9, 4, 1, 0) U^T", S, U @ sp.diag(*lams) @ U.T)
    Ms = nt.newton_matrices(S, alpha=fu.alpha_printed(lams), steps=6)
    w6 = Ms[-1] @ X.T @ y
    w_ols_r = S.pinv() @ X.T @ y
    top = U[:, 0]
    resid = (top.T @ (w6 - w_ols_r))[0, 0]
    # decided by the figure shown: the top-direction residual (exact rational), which must vanish for w_k -> OLS
    # (the other directions' residuals shrink like e^(2^k) but are not 0 at any finite k)
    ck.bounded("as printed: random rank-deficient instance (n=3 < d=4): w_6 = OLS exactly? (top-direction residual)",
               abs(float(resid)), 0.0, computed=float(resid), expected=0.0, exact=True,
               detail=f"component of w_6 - OLS on the top eigenvector = {resid} = -(v^T X^T y)/lambda_max exactly: "
               f"{sp.simplify(resid + (top.T @ X.T @ y)[0, 0] / lams[0]) == 0}")

    # The other reading of ||.||_2: the Frobenius norm (torch's default for a matrix, used by the authors' newton_inv).
    # ||S S^T||_F = sqrt(sum lambda^4) > lambda_max^2 iff rank S >= 2, so 1 - alpha_F lambda^2 lies in (-1, 1).
    pos = [L for L in lams if L != 0]
    a_frob = 2 / sp.sqrt(sum(L**4 for L in lams))
    errs = [sp.nsimplify(1 - a_frob * L**2) for L in pos]
    ck.decided(FROB_EXACT, all(bool(sp.Abs(e) < 1) for e in errs),
               f"alpha_F = 2/||S S^T||_F = {a_frob}; e_0 = 1 - alpha_F lambda^2 = {', '.join(str(e) for e in errs)} "
               f"(exact) all in (-1, 1): every error e_0^(2^k) -> 0; at rank S = 1 the two readings coincide "
               "(the counterexample above)", exact=True)

    # Corrected: alpha_code = 1/||SS^T||_F is inside (0, 2/lambda_max^2); exact identities with it.
    a_code = fu.alpha_code(lams)
    lo, hi = nt.safe_alpha_interval(lams)
    with ck.as_released():  # the released code's alpha (proofs/released.py: newton_inv)
        ck.decided("corrected (released code): code alpha = 1/||SS^T||_F lies in the convergence interval "
                   "(0, 2/lambda_max^2)", bool(a_code > lo) and bool(a_code < hi),
                   f"alpha_code = {a_code} ~ {float(a_code):.6g}, interval (0, {hi})", exact=True)
    a_rat = sp.Rational(1, 81)  # = 1/lambda_max^2, a rational alpha inside the interval (exact arithmetic)
    Ms = nt.newton_matrices(S, alpha=a_rat, steps=3)
    closed = [U @ sp.diag(*[(1 - (1 - a_rat * L**2) ** (2**k)) / L if L != 0 else 0 for L in lams]) @ U.T
              for k in range(4)]
    ck.exact("exact: M_k = U diag((1 - (1 - alpha lambda^2)^(2^k))/lambda, 0 on null(S)) U^T, k = 0..3 "
             "(alpha = 1/lambda_max^2)", sp.Matrix.vstack(*Ms), sp.Matrix.vstack(*closed))
    P_range = U @ sp.diag(1, 1, 1, 0) @ U.T
    E = [P_range - M @ S for M in Ms]
    ck.exact("exact: the error E_k = Pi_range(S) - M_k S squares, E_{k+1} = E_k^2 (k = 0..2), hence quadratic "
             "convergence to S^+ (min-norm OLS) whenever ||E_0|| < 1", sp.Matrix.vstack(*E[1:]),
             sp.Matrix.vstack(*[e @ e for e in E[:-1]]))
    # Why n < d convergence has a stopping point in floats: on null(S) (lambda = 0) the recursion is m -> 2 m, so a
    # rounding-level component of M_k there doubles every step instead of vanishing.
    m = sp.Symbol("m")
    ck.exact("exact: on null(S) (lambda = 0) the recursion is m_{k+1} = 2 m_k: a null-space perturbation of M_k "
             "doubles each step", sp.expand(2 * m - m**2 * 0), 2 * m)
    return counter, f"alpha_code = {float(a_code):.4g}"


def _top_floor(X: np.ndarray, y: np.ndarray) -> float:
    """In exact arithmetic at the printed alpha, w_k - w_OLS keeps its whole component on the top eigenvector v of S
    for every k >= 1 (m_k(lambda_max) = 0): the relative error is at least |v^T w_OLS| / ||w_OLS|| forever."""
    _, V = np.linalg.eigh(X.T @ X)
    w = ols(X, y)
    return float(abs(V[:, -1] @ w) / np.linalg.norm(w))


def _float_steps(ck: Checker, ctx: Context) -> str:
    rng = ctx.rng()  # Claim.salt
    # The paper's sizes: d = 20, n = 40, Sigma = I and the kappa = 100 covariance (half 100, half 1, random basis).
    Qr, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    Sig_ill = (Qr * np.r_[np.full(10, 100.0), np.ones(10)]) @ Qr.T
    cases = [("d=20 n=40 Sigma=I", rng.standard_normal((40, 20))),
             ("d=20 n=40 kappa(Sigma)=100", rng.standard_normal((40, 20)) @ np.linalg.cholesky(Sig_ill).T),
             ("d=20 n=10 (n<d)", rng.standard_normal((10, 20)))]
    for _ in range(SIZES.at(ctx).random_cases):
        n, d = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        cases.append((f"d={d} n={n}", rng.standard_normal((n, d))))
    rows_p, rows_floor, rows_c, ok_c, ok_rate, printed_slower = [], [], [], True, True, False
    worst_sq, floors, nd_case = 0.0, [], None
    for name, X in cases:
        y = X @ rng.standard_normal(X.shape[1])
        S = X.T @ X
        ev = np.linalg.eigvalsh(S)
        pos = ev[ev > 1e-9 * ev[-1]]
        kappa = pos[-1] / pos[0]
        a_code = float(newton_alpha(S, rule="code"))
        k_code = iterations_to(X, y, a_code, eps=EPS)
        k_print = iterations_to(X, y, float(newton_alpha(S, rule="printed")), eps=EPS)
        bound = math.ceil(math.log2(math.log(1 / EPS) * math.sqrt(len(pos)) * kappa**2))
        ok_c &= isinstance(k_code, int)
        ok_rate &= isinstance(k_code, int) and k_code <= bound
        printed_slower |= not isinstance(k_print, int) or (isinstance(k_code, int) and k_print > k_code)
        floor = _top_floor(X, y)
        floors.append(floor)
        rows_floor.append(f"{name}: error >= {floor:.3g}")
        rows_c.append(f"{name}: {k_code} its (bound {bound}, kappa {kappa:.3g})")
        rows_p.append(f"{name}: code {k_code} its, printed {printed_outcome_text(k_print)}")
        if X.shape[0] < X.shape[1] and nd_case is None:
            nd_case = (name, X, y, a_code)
        # Error squaring in floats on the range of S: ||E_{k+1}||_2 = ||E_k||_2^2.
        Ms = newton_iterates(S, alpha=a_code, steps=k_code if isinstance(k_code, int) and k_code > 0 else 1)
        Pi = np.linalg.pinv(S) @ S
        norms = [np.linalg.norm(Pi - M @ S, 2) for M in Ms]
        for a, b in zip(norms, norms[1:], strict=False):
            if 1e-4 <= a < 1:
                worst_sq = max(worst_sq, abs(b - a * a) / (a * a))
    # the floor is shown per prompt in the detail (3 digits); the step passes iff some floor is <= EPS
    ck.decided(f"as printed, exact arithmetic on the float prompts: w_k keeps its top-eigenvector component for "
               f"every k >= 1, so the relative error never falls below EPS = {EPS:g}", min(floors) <= EPS,
               "lower bound |v_max^T w_OLS| / ||w_OLS|| on the relative error for all k >= 1: " + "; ".join(rows_floor),
               computed=float(f"{min(floors):.3g}"), expected=0.0)
    ck.decided(f"as printed, floats at the paper's sizes and random ones: printed alpha needs no more iterations "
               f"than the code alpha to reach relative error {EPS:g}", not printed_slower, "; ".join(rows_p))
    _frobenius_step(ck, rng, SIZES.at(ctx).frobenius_B)
    with ck.as_released():  # the released code's alpha = 1/||S S^T||_F
        ck.decided(f"corrected (code alpha): converges to the min-norm OLS (lstsq/pinv) within {EPS:g} on every case",
                   ok_c, "; ".join(rows_c))
        ck.decided("corrected (code alpha): iterations <= ceil(log2(ln(1/eps) sqrt(rank) kappa^2)) = "
                   "O(log kappa + log log 1/eps)", ok_rate, "; ".join(rows_c))
        # The deviation itself is rounding (it differs between BLAS kernels), so only its bound is printed: decided,
        # not bounded (which would show the BLAS-dependent figure).
        ck.decided("corrected (code alpha), floats: ||E_{k+1}||_2 = ||E_k||_2^2 while 1e-4 <= ||E_k|| < 1",
                   worst_sq <= RTOL, f"largest relative deviation {'<=' if worst_sq <= RTOL else '>'} {RTOL:g} (the "
                   "tolerance: rounding of O(d^3) flops)")
        assert nd_case is not None, "the third case, d=20 n=10, has n < d"
        name, X, y, a_code = nd_case
        lo_hi = []
        for prec, dt, eps in (("float64", np.float64, EPS), ("float32", np.float32, EPS32)):
            k0, up, big = regrowth(error_path(X, y, a_code, steps=130, dtype=dt), eps)
            (u_lo, u_hi), (b_lo, b_hi) = REGROWTH[prec]
            inside = up is not None and big is not None and u_lo <= up <= u_hi and b_lo <= big <= b_hi
            lo_hi.append((inside, f"{prec}: error <= {eps:g} from step {k0}, above {eps:g} again at step "
                          + (f"{u_lo}-{u_hi} and above 1 at step {b_lo}-{b_hi} (rounding decides where)" if inside
                             else f"{up} and above 1 at step {big} (outside the stated ranges)")))
        ck.decided(f"corrected (code alpha), n < d ({name}), iterated past convergence: the error rises again "
                   "within the stated step ranges (null-space rounding doubles each step)",
                   all(i for i, _ in lo_hi), "; ".join(t for _, t in lo_hi))
    return "; ".join(rows_p[:3])


FROB_EXACT = ("Frobenius reading (||.||_2 read as ||.||_F), exact instance S = U diag(9, 4, 1, 0) U^T: |1 - alpha_F "
              "lambda^2| < 1 on every lambda > 0, so eq. (5) converges")
FROB_FLOAT = "Frobenius reading, floats: the printed alpha = 2/||S S^T||_F converges on every Gaussian prompt, d = 20, n = 40"


def _frobenius_step(ck: Checker, rng: np.random.Generator, B: int) -> None:
    counts, agree = [], True
    for _ in range(B):
        X = rng.standard_normal((40, 20))
        y = X @ rng.standard_normal(20)
        S = X.T @ X
        a = 2.0 / float(np.linalg.norm(S @ S.T, "fro"))
        k = iterations_to(X, y, a, eps=EPS)
        counts.append(k)
        # the float iteration and the eigenvalue route agree up to the one step rounding can move
        agree &= isinstance(k, int) and abs(k - predicted_count(X, y, a, eps=EPS)) <= 1
    ok = [k for k in counts if isinstance(k, int)]
    ck.decided(FROB_FLOAT, len(ok) == B and agree,
               f"{len(ok)} of {B} prompts reach relative error {EPS:g} in {min(ok)}-{max(ok)} iterations, each within "
               "one step of the count predicted from the eigenvalues ((1 - alpha lambda^2)^(2^k)); it fails only when "
               "rank S = 1 (both readings coincide there)")


def verify(ctx: Context) -> tuple[Checker, Finding | None]:
    ck = Checker()
    counter, _ = _exact_steps(ck)
    float_rows = _float_steps(ck, ctx)
    (d64, D64), (d32, D32) = PRINTED_DELAY["float64"], PRINTED_DELAY["float32"]
    (u64, U64), (b64, B64) = REGROWTH["float64"]
    (u32, U32), (b32, B32) = REGROWTH["float32"]
    frob = next(st for st in ck.steps if st.name == FROB_FLOAT)
    finding = Finding(
        checked="eq. (5) as printed, with ||S S^T||_2 read as the spectral norm: alpha = 2/lambda_max(S)^2",
        reading="||S S^T||_2 read as the spectral norm",
        fails="alpha is the boundary of the convergence region 0 < alpha < 2/lambda_max^2: on the top eigenvector "
              "e_0 = 1 - alpha lambda_max^2 = -1, so M_k annihilates that direction for every k >= 1 and w_k never "
              "reaches OLS",
        counterexample=counter,
        corrected="read as the Frobenius norm (torch's default, the authors' newton_inv), the printed alpha converges "
                  f"unless rank S = 1 ({frob.detail.split(' iterations')[0]} iterations); any 0 < alpha < "
                  "2/lambda_max^2 (e.g. the code's 1/||S S^T||_F) converges to the min-norm OLS with "
                  "k <= ceil(log2(ln(1/eps) sqrt(rank S) kappa^2))",
        holds_step=FROB_FLOAT, holds_reading="Frobenius reading (rank S >= 2)",
        scope=Reach.EXACT, scope_note="every S, per eigenvalue; floats at the paper's sizes d = 20, n = 40",
        confirm="which norm ||.||_2 denotes in eq. (5) (camera-ready Sec. 3.1 writes ||S S^T||_2; the released code "
                "uses the Frobenius norm)",
        detail=(
            "In floats rounding moves e_0 off -1 by ~1e-16 and decides the outcome: the iterates diverge "
            f"(|e_0| > 1) or converge late, after {d64}-{D64} iterations in float64 (to relative error {EPS:g}) and "
            f"{d32}-{D32} in float32 (to {EPS32:g}), ranges measured under perturbed rounding ({float_rows}). The delay "
            "is typical, not universal: where S is ill-conditioned the code alpha itself needs about as many "
            "iterations (n = d = 20, kappa(S) up to ~1e9: the printed alpha reached 1e-6 first on 2 of 300 Gaussian "
            "prompts, and at 1e-10 neither alpha converged on 4 of them, in one float64 run). "
            "Corrected statement (the released code's convention): with any 0 < alpha < 2/||S S^T||_2, e.g. the code's "
            "alpha = 1/||S S^T||_F, the iterates converge to the minimum-norm OLS S^+ X^T y, the error squares each "
            "step; checked exactly and in floats. The Frobenius reading 2/||S S^T||_F is inside that interval iff "
            "rank S >= 2 (checked exactly and on Gaussian prompts). For "
            "n < d this holds up to a stopping point in floats: on null(S) the recursion is m -> 2m (exact), so "
            f"null-space rounding doubles each step and, iterated past convergence, the error exceeds {EPS:g} again at "
            f"step {u64}-{U64} and 1 at step {b64}-{B64} in float64 ({EPS32:g} at {u32}-{U32}, 1 at {b32}-{B32} in "
            "float32; ranges measured under perturbed rounding): stop at the bound above."))
    return ck, (finding if ck.failed else None)


CLAIM = Claim(key=KEY, title="Iterative Newton converges to OLS (eq. 5)", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, salt=5, locator=LOCATOR,
              fixed="its statement is Newton's convergence for every data matrix X (exact per eigenvalue of "
                    "S), not about a data law")
