"""ahn2023.thm1: confirmed; the printed block is recomputed here by hand from the paper's formula (not from
theory.notation.ahn) and compared with the derived Gamma* the claim computed, at the paper's n = 20."""

import numpy as np
import sympy as sp

from iclcheck.proofs.claims.ahn2023_thm1 import N
from iclcheck.proofs.verdict import Verdict


def test_verdict_and_paper_block(claim_result):
    res = claim_result("ahn2023.thm1")
    assert res.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in res.steps if s.status != "pass"]
    step = res.steps[0]  # Section 4.3 spectrum, symbolic n
    lam = np.array([1, 1, 0.25, 0.0625, 1])
    n = 20
    by_hand = np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n))
    derived = np.array(sp.Matrix(step.computed).subs(N, n).evalf(), dtype=float)
    np.testing.assert_allclose(derived, by_hand, rtol=1e-14)
    names = " ".join(s.name for s in res.steps)
    assert "rescaling" in names and "symmetry w -> -w" in names and "decomposition" in names


def test_global_step_rejects_a_worse_point():
    """The decomposition step's Monte Carlo must be able to fail: at a wrong gap value it does."""
    from iclcheck.numerics.model.montecarlo import MCEstimate
    from iclcheck.proofs.verdict import Checker

    chk = Checker()
    est = MCEstimate(mean=1.0, stderr=0.01, n_samples=10_000, level=0.999)
    assert chk.within_ci("x", est, 1.2).status == "fail"


def _second_order_steps(Sigma: sp.Matrix, n: int, P: sp.Matrix, Q: sp.Matrix):
    from iclcheck.proofs.claims.ahn2023_thm1 import _second_order
    from iclcheck.proofs.verdict import Checker
    from iclcheck.theory.setting import Setting

    chk = Checker()
    f = lambda M: np.array(M.evalf(), dtype=float)  # noqa: E731
    _second_order(chk, Setting.make(f(Sigma), n), f(P), f(Q))
    return {s.name.split(" ")[0] + " " + s.name.split(" ")[1]: s for s in chk.steps}


def _exact_hessian(Sigma: sp.Matrix, n: int, P: sp.Matrix, Q: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """Independent route: sympy's Hessian of the exact full loss in (b, c, Q11, q21), at the exact point; and the
    rescaling tangent (P, -Q) in the same coordinates."""
    from iclcheck.proofs.claims.ahn2023_thm1 import full_loss_exact
    from iclcheck.theory.setting import Setting

    d = Sigma.shape[0]
    b, q = sp.symbols(f"b0:{d}"), sp.symbols(f"q0:{d}")
    c, Qs = sp.Symbol("c"), sp.symbols(f"Q0:{d * d}")
    Pv, Qv = sp.zeros(d + 1, d + 1), sp.zeros(d + 1, d + 1)
    Pv[d, :d], Pv[d, d] = sp.Matrix([b]), c
    Qv[:d, :d], Qv[d, :d] = sp.Matrix(d, d, Qs), sp.Matrix([q])
    xs = [*b, c, *Qs, *q]  # the order of numerics.one_layer.derivatives.pack
    at = dict(zip(xs, [*P[d, :d], P[d, d], *Q[:d, :d], *Q[d, :d]], strict=True))
    H = sp.hessian(sp.expand(full_loss_exact(Setting.make(Sigma, n), Pv, Qv)), xs).subs(at)
    v = sp.Matrix([*P[d, :d], P[d, d], *(-Q[:d, :d]), *(-Q[d, :d])])
    return H, v


def test_second_order_steps_against_the_exact_sympy_hessian():
    # printed point of Thm 1 for Sigma = diag(2, 1/2), n = 3 (exact), vs the float steps from exact HVPs
    from iclcheck.theory.notation.ahn import thm1_params

    Sigma, n = sp.diag(2, sp.Rational(1, 2)), 3
    P, Q = thm1_params(sp.eye(2), [2, sp.Rational(1, 2)], n)
    H, v = _exact_hessian(Sigma, n, P, Q)
    assert H * v == sp.zeros(9, 1)  # the rescaling tangent is exactly a null vector
    ev_exact = np.sort(np.linalg.eigvalsh(np.array(H.evalf(30), dtype=float)))
    assert abs(ev_exact[0]) < 1e-12 * ev_exact[-1] and ev_exact[1] > 0.01  # one zero eigenvalue, the rest > 0
    steps = _second_order_steps(Sigma, n, P, Q)
    assert all(s.status == "pass" for s in steps.values()), [(k, s.detail) for k, s in steps.items()]
    psd = steps["full-space Hessian"]
    np.testing.assert_allclose(psd.computed, ev_exact[1:], rtol=1e-9)  # the off-tangent eigenvalues, independently
    assert psd.deviation == 0.0 and f"[{ev_exact[1]:.3g}, {ev_exact[-1]:.3g}]" in psd.detail


def test_second_order_steps_fail_away_from_a_minimum():
    # P = printed, Q = 0: not stationary, and the exact Hessian there is indefinite (c and Q11 couple through -L'(0))
    Sigma, n = sp.diag(2, sp.Rational(1, 2)), 3
    P = sp.zeros(3, 3)
    P[2, 2] = 1
    Q = sp.zeros(3, 3)
    H, _ = _exact_hessian(Sigma, n, P, Q)
    assert np.linalg.eigvalsh(np.array(H.evalf(30), dtype=float))[0] < -0.1  # indefinite, by the independent route
    steps = _second_order_steps(Sigma, n, P, Q)
    assert steps["exact full-space"].status == "fail"
    assert steps["full-space Hessian"].status == "fail" and steps["full-space Hessian"].deviation > 0.1
