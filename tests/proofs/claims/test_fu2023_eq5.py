"""fu2023.eq5: refuted as printed (alpha on the convergence boundary), corrected alpha confirmed."""

from fractions import Fraction

import numpy as np
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.proofs.claims.fu2023_eq5 import exact_instance, iterations_to
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory import newton as nt
from iclcheck.theory.notation import fu


def test_quick_profile_refutes_only_the_printed_alpha(claim_result):
    r = claim_result("fu2023.eq5")
    assert r.verdict is Verdict.REFUTED
    failed = [s.name for s in r.steps if s.status == "fail"]
    assert failed and all(n.startswith("as printed") for n in failed), failed
    assert all(s.status == "pass" for s in r.steps if s.name.startswith("corrected"))
    assert "X = [[1]], y = [1]" in r.finding and "1/||S S^T||_F" in r.finding
    assert r.released_verdict is Verdict.CONFIRMED  # the released code's alpha = 1/||S S^T||_F
    assert {s.scope for s in r.steps if s.name.startswith("corrected (")} == {"released"}
    # rounding-decided counts appear only as the stated ranges
    assert "52-63" in r.finding and "typical, not universal" in r.finding and "stopping point" in r.finding


def test_counterexample_by_hand_with_fractions():
    # S = 1, alpha = 2 / ||S S^T||_2 = 2: m <- 2m - m*S*m
    m, ws = Fraction(2), []
    for _ in range(4):
        ws.append(m * 1)  # w = m X^T y = m
        m = 2 * m - m * m
    assert ws == [2, 0, 0, 0]  # OLS is 1


def test_exact_instance_spectrum():
    X, y, U, lams = exact_instance(2, 3, [2, 1], seed=0)
    S = X.T @ X
    assert sorted(S.eigenvals(multiple=True)) == sorted(lams)
    assert U.T @ U == sp.eye(3)


def test_iterations_to_reports_divergence_and_convergence():
    X = np.array([[1.0]])
    y = np.array([1.0])
    assert iterations_to(X, y, 1.0, eps=1e-12) == 0  # alpha = 1/lambda^2: exact in one go
    assert iterations_to(X, y, 2.0 + 1e-9, eps=1e-12) == "diverged"  # |e_0| > 1
    assert iterations_to(X, y, 2.0, eps=1e-12) == "stalled"  # exactly on the boundary


@given(lams=st.lists(st.integers(1, 9), min_size=1, max_size=4), zeros=st.integers(0, 2), k=st.integers(1, 4))
@example(lams=[1], zeros=0, k=3)
def test_printed_alpha_annihilates_top_direction_for_every_spectrum(lams, zeros, k):
    # Exact, per eigenvalue (theory.newton): m_k(lambda) for alpha = 2/lambda_max^2; the top one is 0 for k >= 1,
    # the others converge (|e_0| < 1) unless they tie with the top.
    spec = [sp.Integer(v) for v in lams] + [sp.Integer(0)] * zeros
    a = fu.alpha_printed(spec)
    top = max(spec)
    for lam in spec:
        m = a * lam
        for _ in range(k):
            m = 2 * m - m * m * lam
        e_k = 1 - lam * m
        if lam == top:
            assert m == 0
        elif lam > 0:
            assert e_k == nt.eigen_error(1 - a * lam**2, k) and abs(1 - a * lam**2) < 1
    lo, hi = nt.safe_alpha_interval(spec)
    assert a == hi and not (a < hi)  # the printed alpha is the (excluded) endpoint
    assert lo < fu.alpha_code(spec) < hi


# --- rounding-decided quantities: the ranges the report prints are established here, by perturbing the rounding ---

def _paper_prompts():
    rng = np.random.default_rng(5)
    Qr, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    Sig = (Qr * np.r_[np.full(10, 100.0), np.ones(10)]) @ Qr.T
    out = [rng.standard_normal((40, 20)), rng.standard_normal((40, 20)) @ np.linalg.cholesky(Sig).T,
           rng.standard_normal((10, 20))]
    g = np.random.default_rng(77)
    out += [g.standard_normal(shape) for shape in ((20, 10), (10, 5), (60, 20), (1, 10), (6, 4))]
    return out


def _perturbed_outcomes(X, y, alpha, *, eps, dtype, u):
    """Outcomes under perturbed rounding: alpha moved by j ulps, and the rows summed in other orders."""
    outs = [iterations_to(X, y, alpha * (1 + j * u), eps=eps, dtype=dtype) for j in range(-6, 7)]
    for s in range(6):
        p = np.random.default_rng(s).permutation(X.shape[0])
        outs.append(iterations_to(X[p], y[p], alpha, eps=eps, dtype=dtype))
    return outs


def test_printed_alpha_float_outcome_is_divergence_or_a_delay_in_the_stated_range():
    from iclcheck.numerics.algorithms.reference import newton_alpha
    from iclcheck.proofs.claims.fu2023_eq5 import EPS, EPS32, PRINTED_DELAY
    seen = {"float64": set(), "float32": set()}
    rng = np.random.default_rng(3)
    for X in _paper_prompts():
        y = X @ rng.standard_normal(X.shape[1])
        a = float(newton_alpha(X.T @ X, rule="printed"))
        for prec, dt, eps in (("float64", np.float64, EPS), ("float32", np.float32, EPS32)):
            lo, hi = PRINTED_DELAY[prec]
            for o in _perturbed_outcomes(X, y, a, eps=eps, dtype=dt, u=float(np.finfo(dt).eps)):
                assert o == "diverged" or (isinstance(o, int) and lo <= o <= hi), (prec, X.shape, o)
                seen[prec].add("diverged" if o == "diverged" else "converged")
    # rounding really decides: both outcomes occur in both precisions
    assert seen == {"float64": {"diverged", "converged"}, "float32": {"diverged", "converged"}}


def test_code_alpha_n_below_d_error_regrows_in_the_stated_ranges():
    from iclcheck.numerics.algorithms.reference import newton_alpha
    from iclcheck.proofs.claims.fu2023_eq5 import EPS, EPS32, REGROWTH, error_path, regrowth
    rng = np.random.default_rng(2)
    for n, d in ((10, 20), (5, 20), (3, 10), (15, 20), (1, 6)):
        X = rng.standard_normal((n, d))
        y = rng.standard_normal(n)
        a = float(newton_alpha(X.T @ X, rule="code"))
        for s in range(3):
            p = np.random.default_rng(s).permutation(n)
            for prec, dt, eps in (("float64", np.float64, EPS), ("float32", np.float32, EPS32)):
                _, up, big = regrowth(error_path(X[p], y[p], a, steps=130, dtype=dt), eps)
                (u_lo, u_hi), (b_lo, b_hi) = REGROWTH[prec]
                assert up is not None and u_lo <= up <= u_hi, (prec, n, d, up)
                assert big is not None and b_lo <= big <= b_hi, (prec, n, d, big)


def test_null_space_component_doubles_in_floats():
    # independent of the claim's helpers: the projection of M_k onto null(S) doubles every step once M_k S has converged
    from iclcheck.numerics.algorithms.reference import newton_alpha, newton_iterates
    X = np.random.default_rng(4).standard_normal((5, 12))
    S = X.T @ X
    Ms = newton_iterates(S, alpha=float(newton_alpha(S, rule="code")), steps=60)
    Pn = np.eye(12) - np.linalg.pinv(X) @ X  # projector onto null(S)
    nul = np.array([np.linalg.norm(Pn @ M @ Pn) for M in Ms])
    ratios = nul[31:51] / nul[30:50]
    np.testing.assert_allclose(ratios, 2.0, rtol=1e-6)  # m -> 2m exactly on null(S); S M_k contributes ~1e-16 relative


def test_printed_delay_is_typical_not_universal_at_n_equal_d():
    # n = d = 20: S is ill-conditioned (kappa up to ~1e9), so the code alpha needs many iterations for the small
    # eigenvalues too; the printed alpha (about twice as large) then sometimes wins. The finding states 2 of 300 at
    # eps = 1e-6 and 4 of 300 where neither reaches 1e-10 (one float64 run, seed 0); here: the same run, with a
    # range for the rounding of other kernels.
    from iclcheck.numerics.algorithms.reference import newton_alpha
    from iclcheck.proofs.claims.fu2023_eq5 import error_path
    rng = np.random.default_rng(0)
    faster, neither = 0, 0
    for _ in range(300):
        X = rng.standard_normal((20, 20))
        y = X @ rng.standard_normal(20)
        S = X.T @ X
        ep = error_path(X, y, float(newton_alpha(S, rule="printed")), steps=300)
        ec = error_path(X, y, float(newton_alpha(S, rule="code")), steps=300)
        first = [int(np.argmax(e <= 1e-6)) if (e <= 1e-6).any() else 10**6 for e in (ep, ec)]
        faster += first[0] < first[1]
        neither += not (ep <= 1e-10).any() and not (ec <= 1e-10).any()
    assert 1 <= faster <= 6, faster  # not universal, and rare (the finding: 2 of 300)
    assert 2 <= neither <= 8, neither  # the finding: 4 of 300


def test_verdict_line_names_the_norm_reading(claim_result):
    from iclcheck.proofs.report import _verdict_cell

    r = claim_result("fu2023.eq5")
    cell = _verdict_cell(r)
    assert "refuted as printed (||S S^T||_2 read as the spectral norm)" in cell
    assert "Frobenius reading (rank S >= 2) confirmed" in cell


def _newton_plain(X, y, alpha, eps, steps=100):
    """A plain loop, independent of iterations_to and predicted_count: first k with |w_k - w_OLS| <= eps |w_OLS|."""
    S = X.T @ X
    w_ols = np.linalg.pinv(X) @ y
    M = alpha * S
    for k in range(steps):
        if np.linalg.norm(M @ X.T @ y - w_ols) <= eps * np.linalg.norm(w_ols):
            return k
        M = 2 * M - M @ S @ M
    return None


def test_frobenius_reading_converges_unless_rank_one():
    """The issue's numbers, re-derived: 2/||S S^T||_F converges on Gaussian prompts d = 20, n = 40 (an independent
    seed, 50 prompts) in a dozen-odd iterations; at rank 1 the two readings coincide and it fails."""
    rng = np.random.default_rng(2020)
    ks = []
    for _ in range(50):
        X = rng.standard_normal((40, 20))
        y = X @ rng.standard_normal(20)
        S = X.T @ X
        ks.append(_newton_plain(X, y, 2.0 / np.linalg.norm(S @ S.T, "fro"), 1e-10))
    assert all(k is not None for k in ks) and 10 <= min(ks) and max(ks) <= 20, ks
    # rank one: ||S S^T||_F = ||S S^T||_2 = lambda^2, e_0 = -1 exactly (sympy)
    x = sp.Matrix([[1, 2, 2]])  # one example, d = 3
    S = x.T @ x
    lam = 9
    a_f = 2 / sp.sqrt(sum(v**2 for v in (S @ S.T)))
    assert sp.simplify(1 - a_f * lam**2) == -1


def test_frobenius_exact_condition_symbolic():
    # ||S S^T||_F^2 = sum lambda^4 > lambda_max^4 iff a second eigenvalue is non-zero: |1 - alpha_F lambda^2| < 1
    l1, l2 = sp.symbols("l1 l2", positive=True)
    e = 1 - 2 * l1**2 / sp.sqrt(l1**4 + l2**4)
    assert sp.simplify(e.subs(l2, 0)) == -1
    for v1, v2 in ((3, 1), (1, 1), (100, sp.Rational(1, 100))):
        ev = e.subs({l1: v1, l2: v2})
        assert -1 < ev < 1
