"""The brute-force moment expansion of the literal model (theory.derive) against the matrix closed form
(theory.one_layer): two independent derivations that must agree exactly, as polynomials in P, Q with
symbolic n. Plus: the literal forward pass gives the o that derive.py expands, a fully literal
expansion over n = 2 samples (no i = j / i != j split), and a Monte Carlo spot check."""

import random

import numpy as np
import pytest
import sympy as sp

from iclcheck.theory import InputError, Setting
from iclcheck.theory.derive import (
    derive_gamma_star,
    derive_one_layer_loss,
    derive_reduced_loss,
    gamma_symbols,
    param_symbols,
)
from iclcheck.theory.moments import GaussianMoments
from iclcheck.theory.one_layer import (
    SYMPY_OPS,
    exact_inputs,
    full_loss_formula,
    gamma_star_exact,
    reduced_loss_formula,
    split_params,
)

n = sp.Symbol("n", positive=True, integer=True)


def _rand_spd(rng, d, *, diagonal=False):
    if diagonal:
        return sp.diag(*[sp.Rational(rng.randint(1, 9), rng.randint(1, 4)) for _ in range(d)])
    A = sp.Matrix(d, d, lambda i, j: rng.randint(-2, 2))
    return (A @ A.T + sp.eye(d)) / rng.randint(1, 3)


def _exactly_equal(a, b, nn):
    """Exact zero test of a - b. Both sides are polynomials in the parameters with denominators that
    are powers of n only, so n^2 (a - b) expanded is a polynomial and expand is a canonical form."""
    diff = sp.expand(nn**2 * (a - b)) if isinstance(nn, sp.Symbol) else sp.expand(a - b)
    return diff == 0


def _formula(st, P, Q, *, S=None, sigma2=None, Sh=None):
    d = st.d
    if S is None:
        S_, W, Sh_, km3, s2, nn = exact_inputs(st)
    else:
        S_, W, s2, nn = S, st.Sigma_w_exact, sigma2, st.n
        km3 = sp.Matrix([st.kurtosis - 3] * d)
        Sh_ = Sh if Sh is not None else sp.zeros(d, d)
    b, c, Q11, q21 = split_params(P, Q, d)
    return full_loss_formula(S_, W, Sh_, km3, s2, nn, b, c, Q11, q21, SYMPY_OPS)


CASES = [  # (d, law, diagonal Sigma, prior, seed)
    (1, "gaussian", False, "given", 0),
    (2, "gaussian", False, "given", 1),
    (2, "gaussian", False, "inv", 2),
    (3, "gaussian", False, "given", 3),
    (1, "uniform", True, "identity", 4),
    (2, "uniform", True, "given", 5),
    (3, "uniform", True, "inv", 6),
    (2, "rademacher", True, "given", 7),
    (3, "rademacher", True, "identity", 8),
]


@pytest.mark.parametrize("d,law,diagonal,prior,seed", CASES)
def test_brute_force_equals_closed_form_symbolic_n(d, law, diagonal, prior, seed):
    rng = random.Random(seed)
    S = _rand_spd(rng, d, diagonal=diagonal)
    W = {"identity": None, "inv": "inv", "given": _rand_spd(rng, d)}[prior]
    st = Setting.make(S, n, Sigma_w=W, sigma2=sp.Rational(rng.randint(0, 8), 4), covariates=law)
    P, Q = param_symbols(d)
    derived = derive_one_layer_loss(st)
    closed = _formula(st, P, Q)
    assert _exactly_equal(derived, closed, n)
    if d == 1:  # the literal simplify test, affordable at d = 1
        assert sp.simplify(derived - closed) == 0


def test_brute_force_equals_closed_form_symbolic_sigma_and_noise():
    d = 2
    S = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"S_{min(i, j)}{max(i, j)}"))
    s2 = sp.Symbol("sigma2", nonnegative=True)
    st = Setting.make([[2, 1], [1, 3]], n, Sigma_w=[[1, sp.Rational(1, 2)], [sp.Rational(1, 2), 2]])
    P, Q = param_symbols(d)
    derived = derive_one_layer_loss(st, Sigma=S, sigma2=s2)
    assert _exactly_equal(derived, _formula(st, P, Q, S=S, sigma2=s2), n)


@pytest.mark.slow
def test_brute_force_equals_closed_form_symbolic_sigma_d3():
    d = 3
    S = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"S_{min(i, j)}{max(i, j)}"))
    s2 = sp.Symbol("sigma2", nonnegative=True)
    st = Setting.make([[2, 1, 0], [1, 3, 1], [0, 1, 2]], n, Sigma_w=[[2, 1, 0], [1, 2, 0], [0, 0, 1]])
    P, Q = param_symbols(d)
    derived = derive_one_layer_loss(st, Sigma=S, sigma2=s2)
    assert _exactly_equal(derived, _formula(st, P, Q, S=S, sigma2=s2), n)


def test_brute_force_symbolic_diagonal_sigma_uniform():
    a, b = sp.symbols("a b", positive=True)
    S = sp.diag(a, b)
    st = Setting.make([[1, 0], [0, 1]], n, sigma2=1, covariates="uniform")
    P, Q = param_symbols(2)
    derived = derive_one_layer_loss(st, Sigma=S)
    closed = _formula(st, P, Q, S=S, sigma2=sp.Integer(1), Sh=sp.diag(sp.sqrt(a), sp.sqrt(b)))
    assert _exactly_equal(derived, closed, n)


@pytest.mark.parametrize("law", ["uniform", "rademacher"])
@pytest.mark.parametrize("R", [sp.Matrix([[2, 1], [1, 3]]), sp.Matrix([[2, 1, 0], [1, 3, 1], [0, 1, 2]]) / 2])
def test_brute_force_non_diagonal_sigma_non_gaussian(law, R):
    """Non-Gaussian x = Sigma^{1/2} s with a non-diagonal Sigma: choose the exact root R, Sigma = R^2.
    Checks the kurtosis term of the closed form with a non-diagonal Sigma^{1/2} exactly."""
    d = R.shape[0]
    S = R @ R
    st = Setting.make(S, n, Sigma_w=sp.diag(*range(1, d + 1)), sigma2=sp.Rational(1, 2), covariates=law)
    P, Q = param_symbols(d)
    derived = derive_one_layer_loss(st, Sigma_half=R)
    assert _exactly_equal(derived, _formula(st, P, Q, S=S, sigma2=st.sigma2_exact, Sh=R), n)


def test_float_backend_matches_brute_force_non_diagonal_uniform():
    """iclcheck.numerics.OneLayer (float Sigma^{1/2} by eigendecomposition) against the exact derivation at numeric n, P, Q."""
    from iclcheck.numerics.one_layer.closed_form import OneLayer

    R = sp.Matrix([[2, 1], [1, 3]])
    st = Setting.make(R @ R, 4, Sigma_w=[[1, sp.Rational(1, 3)], [sp.Rational(1, 3), 2]], sigma2=sp.Rational(1, 5),
                      covariates="uniform")
    rng = random.Random(50)
    P = sp.Matrix(3, 3, lambda i, j: sp.Rational(rng.randint(-4, 4), 8))
    Q = sp.Matrix(3, 3, lambda i, j: sp.Rational(rng.randint(-4, 4), 8))
    exact = derive_one_layer_loss(st, params=(P, Q), Sigma_half=R)
    assert exact.is_Rational
    ol = OneLayer(st)
    np.testing.assert_allclose(ol.loss(np.array(P, dtype=float), np.array(Q, dtype=float)), float(exact), rtol=1e-11)
    G = derive_gamma_star(st, Sigma_half=R)
    np.testing.assert_allclose(ol.gamma_star(), np.array(G, dtype=float), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("law,seed", [("gaussian", 10), ("uniform", 11), ("rademacher", 12)])
def test_reduced_loss_three_routes(law, seed):
    """Brute-force reduced loss == matrix formula, and == the one-layer brute force at P = e e^T, Q11 = -Gamma^T."""
    rng = random.Random(seed)
    d = 2
    st = Setting.make(_rand_spd(rng, d, diagonal=law != "gaussian"), n, Sigma_w=_rand_spd(rng, d),
                      sigma2=sp.Rational(1, 3), covariates=law)
    G = gamma_symbols(d)
    L = derive_reduced_loss(st, Gamma=G)
    S, W, Sh, km3, s2, nn = exact_inputs(st)
    assert _exactly_equal(L, reduced_loss_formula(S, W, Sh, km3, s2, nn, G, SYMPY_OPS), n)
    P = sp.zeros(d + 1, d + 1)
    P[d, d] = 1
    Q = sp.zeros(d + 1, d + 1)
    Q[:d, :d] = -G.T
    assert _exactly_equal(L, derive_one_layer_loss(st, params=(P, Q)), n)


@pytest.mark.parametrize(
    "d,law,prior,sigma2,seed",
    [(1, "gaussian", "given", 1, 20), (2, "gaussian", "given", sp.Rational(1, 2), 21),
     (2, "uniform", "identity", 0, 22), (2, "rademacher", "inv", 2, 23), (3, "gaussian", "identity", 1, 24)],
)
def test_derived_gamma_star_equals_gamma_star_exact(d, law, prior, sigma2, seed):
    rng = random.Random(seed)
    S = _rand_spd(rng, d, diagonal=law != "gaussian")
    W = {"identity": None, "inv": "inv", "given": _rand_spd(rng, d)}[prior]
    st = Setting.make(S, n, Sigma_w=W, sigma2=sigma2, covariates=law)
    diff = (derive_gamma_star(st) - gamma_star_exact(st)).applyfunc(sp.cancel)
    assert diff == sp.zeros(d, d)


def test_derived_gamma_star_numeric_n_is_rational():
    st = Setting.make([[2, 1], [1, 3]], 5, sigma2=sp.Rational(1, 4))
    G = derive_gamma_star(st)
    assert all(e.is_Rational for e in G)
    assert G == gamma_star_exact(st.with_n(n)).subs(n, 5)  # closed form at symbolic n, then n = 5


def test_gamma_star_exact_numeric_n_is_rational():
    st = Setting.make([[2, 1], [1, 3]], 5, sigma2=sp.Rational(1, 4))
    assert gamma_star_exact(st) == derive_gamma_star(st)


def test_literal_forward_pass_gives_the_expanded_output():
    """[Z_1]_{d+1,n+1} from Z + (1/n) P Z M Z^T Q Z with symbolic tokens equals (1/n) p^T G Q[:, :d] x_q."""
    d, nn = 2, 3
    X = sp.Matrix(d, nn, lambda i, j: sp.Symbol(f"x_{i}{j}"))
    y = sp.Matrix(1, nn, lambda i, j: sp.Symbol(f"y_{j}"))
    xq = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"q_{i}"))
    Z = sp.Matrix.vstack(sp.Matrix.hstack(X, xq), sp.Matrix.hstack(y, sp.zeros(1, 1)))  # (d+1, n+1)
    Mmask = sp.diag(*([1] * nn + [0]))
    P, Q = param_symbols(d)
    Z1 = Z + (P @ Z @ Mmask @ (Z.T @ Q @ Z)) / nn
    literal = Z1[d, nn]
    zs = [sp.Matrix.vstack(X[:, i], y[:, i]) for i in range(nn)]
    G = sum((z @ z.T for z in zs), sp.zeros(d + 1, d + 1))
    expanded = (P[d, :] @ G @ Q[:, :d] @ xq)[0, 0] / nn
    assert sp.expand(literal - expanded) == 0


def test_fully_literal_expansion_at_two_samples():
    """E (o + w^T x_q)^2 expanded over all of w, x_1, x_2, x_q, eps_1, eps_2 (no sample split), d = 1."""
    rng = random.Random(30)
    d, nn = 1, 2
    Sig, Wv, s2 = sp.Rational(3, 2), sp.Rational(2, 3), sp.Rational(1, 5)
    P = sp.Matrix(2, 2, lambda i, j: sp.Rational(rng.randint(-3, 3), 2))
    Q = sp.Matrix(2, 2, lambda i, j: sp.Rational(rng.randint(-3, 3), 2))
    w, x1, x2, xq, e1, e2 = sp.symbols("w x1 x2 xq e1 e2")
    zs = [sp.Matrix([x1, w * x1 + e1]), sp.Matrix([x2, w * x2 + e2])]
    G = zs[0] @ zs[0].T + zs[1] @ zs[1].T
    o = (P[d, :] @ G @ Q[:, :d] @ sp.Matrix([xq]))[0, 0] / nn
    poly = sp.Poly(sp.expand((o + w * xq) ** 2), w, x1, x2, xq, e1, e2)
    law = {0: GaussianMoments([[Wv]]), 1: GaussianMoments([[Sig]]), 2: GaussianMoments([[Sig]]),
           3: GaussianMoments([[Sig]]), 4: GaussianMoments([[s2]]), 5: GaussianMoments([[s2]])}
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        t = coeff
        for k, e in enumerate(monom):
            t *= law[k]((e,))
        total += t
    st = Setting.make([[Sig]], nn, Sigma_w=[[Wv]], sigma2=s2)
    assert derive_one_layer_loss(st, params=(P, Q)) == total
    st_n = Setting.make([[Sig]], n, Sigma_w=[[Wv]], sigma2=s2)
    assert sp.simplify(derive_one_layer_loss(st_n, params=(P, Q)).subs(n, nn) - total) == 0


def test_brute_force_inside_monte_carlo_interval():
    """The derived loss at numeric P, Q lies in a 99.9% CI of the literal forward pass (uniform covariates)."""
    from iclcheck.numerics.model.montecarlo import mc_loss

    rng = np.random.default_rng(40)
    st = Setting.make([[2, 0], [0, sp.Rational(1, 2)]], 3, Sigma_w=[[1, sp.Rational(1, 3)], [sp.Rational(1, 3), 1]],
                      sigma2=sp.Rational(1, 4), covariates="uniform")
    P = sp.Matrix(3, 3, lambda i, j: sp.Rational(int(rng.integers(-4, 5)), 8))
    Q = sp.Matrix(3, 3, lambda i, j: sp.Rational(int(rng.integers(-4, 5)), 8))
    exact = float(derive_one_layer_loss(st, params=(P, Q)))
    est = mc_loss(st, [np.array(P, dtype=float)], [np.array(Q, dtype=float)], samples=200_000, rng=rng)
    assert est.contains(exact), (exact, est.ci)


def test_bad_input():
    st_float = Setting.make(np.array([[2.0, 0.3], [0.3, 1.0]]), 3)
    with pytest.raises(InputError, match="Sigma"):
        derive_one_layer_loss(st_float)
    st_u = Setting.make([[2, 1], [1, 3]], 3, covariates="uniform")
    with pytest.raises(InputError, match="diagonal"):
        derive_one_layer_loss(st_u)
    st = Setting.make([[2, 1], [1, 3]], 3)
    x = sp.Symbol("x")
    with pytest.raises(InputError, match="parameters"):
        derive_one_layer_loss(st, params=(sp.ones(3, 3) / x, sp.ones(3, 3)))
    with pytest.raises(InputError, match="Sigma_half"):
        derive_one_layer_loss(st_u, Sigma_half=sp.eye(2))
    with pytest.raises(InputError, match="parameters P"):
        derive_one_layer_loss(st, params=(sp.ones(2, 2), sp.ones(3, 3)))
