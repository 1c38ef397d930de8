"""fu2023.eq5: refuted as printed (alpha on the convergence boundary), corrected alpha confirmed."""

import json
from fractions import Fraction

import numpy as np
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.proofs.claims.fu2023_eq5 import CLAIM, exact_instance, iterations_to
from iclcheck.proofs.registry import Context
from iclcheck.theory import newton as nt
from iclcheck.theory.notation import fu


def test_quick_profile_refutes_only_the_printed_alpha():
    r = CLAIM.verify(Context(seed=0, profile="quick"))
    assert json.loads(json.dumps(r.to_dict()))["key"] == r.key  # the report serialises
    assert r.verdict == "refuted"
    failed = [s.name for s in r.steps if s.status == "fail"]
    assert failed and all(n.startswith("as printed") for n in failed), failed
    assert all(s.status == "pass" for s in r.steps if s.name.startswith("corrected"))
    assert "X = [[1]], y = [1]" in r.finding and "1/||S S^T||_F" in r.finding


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
