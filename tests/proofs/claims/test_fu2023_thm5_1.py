"""fu2023.thm5_1: the printed heads (V_1 = V_2) are refuted; V_2 = -V_1 gives T - 1/2 TST and 2T - TST."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.algorithms.reference import newton_iterates
from iclcheck.proofs.claims.fu2023_thm5_1 import float_layer
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.notation import fu


def test_printed_heads_fail_and_corrected_ones_pass(claim_result):
    r = claim_result("fu2023.thm5_1")
    assert r.verdict is Verdict.REFUTED
    failed = [s.name for s in r.steps if s.status == "fail"]
    assert failed and all(n.startswith("as printed") for n in failed), failed
    assert all(s.status == "pass" for s in r.steps if s.name.startswith("corrected"))
    assert "V_2 = -V_1" in r.finding


def test_layer_by_hand_one_dimensional():
    # d = n = 1, x_1 = 2, x_q = 1, T = t: a_1j = -(1/2) x_i t x_j; corrected update (1/1) * a * t * x_j
    t = 0.25
    H = fu.hidden_state(np.array([[2.0]]), np.array([[t]]), np.array([1.0]))
    out = float_layer(H, 1, 1, variant="corrected", mlp=False)  # attention only, through numerics.model.lsa
    # token 1 (x = 2): a = -(1/2)*2*t*2 = -2t, top = 2t + a*t*2 = 2t - 4t^2; query (x = 1): a = -t, top = t - 2t^2
    np.testing.assert_allclose(out[0], [2 * t - 4 * t * t, t - 2 * t * t], rtol=1e-12)
    np.testing.assert_allclose(out[0], (t - 0.5 * t * 4 * t) * np.array([2.0, 1.0]), rtol=1e-12)


def test_float_model_equals_the_exact_sympy_layer():
    # numerics.model.lsa with the mapped weights (P_m = V_m, Q = K_m^T Q_m) against theory.notation.fu's literal
    # exact layer (sympy, rationals), both head variants, attention alone and with the MLP.
    import sympy as sp

    X = sp.Matrix([[1, 2], [-1, sp.Rational(1, 2)], [0, 3]])
    xq = sp.Matrix([2, -1])
    T = sp.Matrix([[sp.Rational(1, 5), sp.Rational(-1, 10)], [sp.Rational(-1, 10), sp.Rational(1, 3)]])
    H = fu.hidden_state(X, T, xq)
    Hf = np.array(H.evalf(), dtype=float)
    for variant in ("printed", "corrected"):
        att = fu.relu_attention(H, fu.newton_layer_heads(2, 3, variant=variant), n=3)
        np.testing.assert_allclose(float_layer(Hf, 2, 3, variant=variant, mlp=False), np.array(att, float),
                                   rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(float_layer(Hf, 2, 3, variant=variant), np.array(fu.mlp_double(att, 2), float),
                                   rtol=1e-14, atol=1e-14)


def test_stacked_layers_converge_to_ols_prediction():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 3))
    y = X @ rng.standard_normal(3)
    xq = rng.standard_normal(3)
    S = X.T @ X
    a = 1 / np.linalg.norm(S @ S, "fro")
    H = float_layer(fu.hidden_state(X, a * S, xq), 3, 8, variant="corrected", layers=25)  # tied weights
    w_ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(H[:3, 8] @ (X.T @ y), xq @ w_ols, rtol=1e-8)
    np.testing.assert_allclose(H[:3, :8], newton_iterates(S, alpha=a, steps=25)[-1] @ X.T, rtol=1e-8, atol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 5), n=st.integers(1, 8))
@example(seed=0, d=1, n=1)
def test_corrected_layer_is_one_newton_step_for_random_prompts(seed, d, n):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    xq = rng.standard_normal(d)
    A = rng.standard_normal((d, d))
    T = A @ A.T / d  # any symmetric T
    S = X.T @ X
    out = float_layer(fu.hidden_state(X, T, xq), d, n, variant="corrected", rng=rng)
    C = np.column_stack([X.T, xq])
    expected = (2 * T - T @ S @ T) @ C
    np.testing.assert_allclose(out[:d], expected, rtol=1e-9, atol=1e-9 * (1 + np.abs(expected).max()))
    np.testing.assert_allclose(out[d:], C, rtol=0, atol=0)


def test_init_layer_eq21_step_and_finding(claim_result):
    r = claim_result("fu2023.thm5_1")
    by = {s.name: s.status for s in r.steps}
    printed = [n for n in by if n.startswith("as printed, eq. (21)-(22)")]
    assert printed and by[printed[0]] == "fail"
    assert by[next(n for n in by if n.startswith("as printed, eq. (21) (equal values"))] == "pass"  # it is |.|
    assert by[next(n for n in by if n.startswith("corrected, eq. (21)"))] == "pass"
    assert "eq. (21)" in r.finding and "|<x_t, x_j>|" in r.finding


@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4), n=st.integers(1, 6))
def test_init_layer_eq21_computes_abs_inner_products_at_random_data(seed, d, n):
    """Independent route, floats: the eq. (21) layer written as two ReLU heads with free factors Q_m, K_m
    (Q_1^T K_1 = -Q_2^T K_2 = J), equal values V_m = n alpha J: the update is alpha sum_j |<x_t, x_j>| x_j."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    alpha = rng.uniform(0.1, 1.0)
    H = np.vstack([X.T, X.T])  # (2d, n): h_j = [x_j; x_j]
    J = np.zeros((2 * d, 2 * d))
    J[:d, :d] = np.eye(d)
    Qt = rng.standard_normal((2 * d, 2 * d)) + 3 * np.eye(2 * d)
    Kt = np.linalg.inv(Qt).T  # Qt^T Kt = I
    heads = [(Qt @ J, Kt @ J), (Qt @ J, -Kt @ J)]  # (Qt J)^T (+-Kt J) = +-J
    V = n * alpha * J
    out = H.copy()
    for Q, K in heads:
        scores = (Q @ H).T @ (K @ H)  # (n, n) [t, j] = <Q h_t, K h_j>
        out = out + (V @ H) @ np.maximum(scores, 0).T / n
    G = X @ X.T
    np.testing.assert_allclose(out[:d], X.T + alpha * X.T @ np.abs(G), rtol=1e-9, atol=1e-9)
    # and V_2 = -V_1 gives alpha S x_t
    out_c = H + (V @ H) @ np.maximum((heads[0][0] @ H).T @ (heads[0][1] @ H), 0).T / n \
        - (V @ H) @ np.maximum((heads[1][0] @ H).T @ (heads[1][1] @ H), 0).T / n
    np.testing.assert_allclose(out_c[:d], X.T + alpha * (X.T @ X) @ X.T, rtol=1e-9, atol=1e-9)
