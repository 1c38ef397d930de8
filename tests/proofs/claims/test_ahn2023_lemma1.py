"""ahn2023.lemma1: refuted as printed for non-symmetric A_l; the smallest counterexample recomputed here by hand."""

import numpy as np

from iclcheck.numerics.model.forward import lsa_forward
from iclcheck.proofs.verdict import Verdict


def test_verdict_counterexample_and_correction(claim_result):
    res = claim_result("ahn2023.lemma1")
    assert res.verdict is Verdict.REFUTED
    assert "A_l^T" in res.finding
    by_name = {s.name.split(" (")[0]: s for s in res.steps}
    assert by_name["printed recursion, symmetric A_l"].status == "pass"
    assert by_name["corrected recursion"].status == "pass"
    failing = [s for s in res.steps if s.status == "fail"]
    assert {s.name.split(" (")[0] for s in failing} == {"printed recursion, non-symmetric A_l",
                                                         "smallest counterexample d=2, n=1, L=1: x_1=e_1, w*=e_1, x_q=e_2, A_0=e_1 e_2^T"}
    # by hand: Z0 = [[1, 0], [0, 1], [1, 0]] (x_1 = e1, x_q = e2, y_1 = 1), P = e3 e3^T, Q = -[[A, 0], [0, 0]]
    Z0 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    A = np.array([[0.0, 1.0], [0.0, 0.0]])
    P = np.diag([0.0, 0.0, 1.0])
    Q = np.zeros((3, 3))
    Q[:2, :2] = -A
    z = lsa_forward(Z0, [P], [Q])[0, 2, 1]
    assert z == -1.0  # forward pass
    w1 = -A @ (-(np.array([1.0, 0.0]) * 1.0))  # printed: w_1 = 0 - A grad R(0), grad R(0) = -(1/n) x_1 y_1
    assert -np.array([0.0, 1.0]) @ w1 == 0.0  # printed prediction 0 != -1
    w1c = -A.T @ (-(np.array([1.0, 0.0])))
    assert -np.array([0.0, 1.0]) @ w1c == -1.0  # corrected: A^T
    cx = [s for s in failing if s.name.startswith("smallest")][0]
    assert cx.deviation == 1.0


def test_released_convention_is_the_printed_form_with_Q_transposed():
    # independent route: the released code's row-token forward pass with A equals the printed (column) form with A^T
    import sympy as sp

    from iclcheck.proofs.claims.ahn2023_lemma1 import exact_forward, released_forward
    X = sp.Matrix([[1, 2], [0, -1], [3, 1]])
    y = sp.Matrix([1, -2, 1])
    xq = sp.Matrix([2, -1])
    As = [sp.Matrix([[1, 2], [0, 1]]) / 3, sp.Matrix([[0, 1], [-1, 2]]) / 5]
    assert released_forward(X, y, xq, As) == exact_forward(X, y, xq, [A.T for A in As])
    assert released_forward(X, y, xq, As) != exact_forward(X, y, xq, As)


def test_released_verdict_confirms_the_lemma_as_printed(claim_result):
    res = claim_result("ahn2023.lemma1")
    assert res.verdict is Verdict.REFUTED and res.released_verdict is Verdict.CONFIRMED
    released = [s for s in res.steps if s.scope == "released"]
    assert len(released) == 4 and all(s.status == "pass" for s in released)
    assert "printed Z^T Q Z form only" in res.finding and "Z_query Q Z_key^T" in res.finding
