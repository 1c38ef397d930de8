"""Hypothesis properties of the one-layer theory (numerics.one_layer.closed_form / theory.one_layer).

Every expected value comes from another route: finite differences of the loss, a transformation of
the data whose effect is derived by hand below, or a paper's printed formula. Tolerances are tied to
double-precision rounding: a linear solve with M loses about cond(M) * eps relative accuracy.

Hand derivations used below (canonical model, f = E (o + w^T x_q)^2, o = (1/n) p^T G Q[:, :d] x_q):

- Linear change of coordinates E = diag(D, 1) with D orthogonal: x -> D x, w -> D w leaves y and
  w^T x_q unchanged, so f'(E P E^T, E Q E^T) = f(P, Q) and Gamma*' = D Gamma* D^T. It is a symmetry
  of the data law when x ~ N(0, Sigma) (any D), and for x = Sigma^{1/2} s with iid symmetric s only
  when D is a signed permutation: (D Sigma D^T)^{1/2} D s = D Sigma^{1/2} (D^T D s), D^T D s = s.
- Scaling A (x -> c x, sigma2 -> c^2 sigma2, Sigma_w fixed): z -> c z, target -> c w^T x_q, so
  o' = c^3 o and f'(P, Q) = c^2 f(P, c^2 Q); for the reduced model L'(Gamma) = c^2 L(c^2 Gamma),
  Gamma*' = Gamma*/c^2, L*' = c^2 L*.
- Scaling B (x -> c x, Sigma_w -> Sigma_w / c^2, sigma2 fixed): y and the target unchanged, z ->
  E z with E = diag(c I, 1), so f'(P, Q) = f(P E, E Q E); Gamma*' = Gamma*/c^2, L*' = L*.
- n -> infinity: with R := n M - n S W S (R = E[y^2 x x^T] - S W S, computed in the test from the
  fourth-moment identity E[(a^T s)^2 s s^T] = |a|^2 I + 2 a a^T + (kappa-3) diag(a^2)),
  M = S W S + R/n, so Gamma* = W S M^{-1} = S^{-1} (I + B/n)^{-1}, B = R S^{-1} W^{-1} S^{-1}.
  Hence Gamma* -> Sigma^{-1} for EVERY prior W (not W S (S W S)^{-1} only for W = I: it is the same
  matrix), with n (Gamma* - Sigma^{-1}) = -Gamma* B exactly, i.e. rate O(1/n) and first-order
  coefficient -Sigma^{-1} B; and L* -> tr(S W) - tr(S^{-1} S W S) = 0, even with label noise.
"""

import numpy as np
import pytest
import scipy.linalg as sla
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory import Setting
from iclcheck.theory.one_layer import gamma_star_exact
from iclcheck.theory.setting import KURTOSIS

EPS = np.finfo(float).eps
LAWS = ("gaussian", "uniform", "rademacher")
PRIORS = ("identity", "inv", "random")


def _rotation(rng, d):
    A = rng.standard_normal((d, d))
    Qm, Rm = np.linalg.qr(A)
    return Qm * np.sign(np.diag(Rm))  # (d, d) Haar orthogonal


def _spd(rng, d, cond, scale=1.0):
    U = _rotation(rng, d)
    lam = np.geomspace(1.0, cond, d) * scale
    S = (U * rng.permutation(lam)) @ U.T  # (d, d)
    return (S + S.T) / 2


def _make(S, n, prior, W, sigma2, law):
    Sw = {"identity": None, "inv": "inv", "random": W}[prior]
    return Setting.make(S, n, Sigma_w=Sw, sigma2=sigma2, covariates=law)


@st.composite
def settings(draw, *, laws=LAWS, d_max=5):
    """(Setting, rng) with d in 1..5, n in 1..50, cond(Sigma) up to 1e3, all priors and laws."""
    d = draw(st.integers(1, d_max), label="d")
    n = draw(st.integers(1, 50), label="n")
    cond = draw(st.floats(1.0, 1e3), label="cond")
    scale = draw(st.floats(0.1, 10.0), label="scale")
    prior = draw(st.sampled_from(PRIORS), label="prior")
    sigma2 = draw(st.floats(0.0, 2.0), label="sigma2")
    law = draw(st.sampled_from(laws), label="law")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    S = _spd(rng, d, cond, scale)
    W = _spd(rng, d, 10.0, 0.5)
    return _make(S, n, prior, W, sigma2, law), rng


def _cond(A):
    ev = np.linalg.eigvalsh((A + A.T) / 2)
    return ev[-1] / ev[0]


def _solve_tol(ol):
    """Relative accuracy of Gamma* from one SPD solve: generous constant * d * eps * cond(M)."""
    return 100 * ol.d * EPS * _cond(ol.M)


# ------------------------------------------------------------------------------------------------
# Stationarity and convexity of the reduced loss
# ------------------------------------------------------------------------------------------------
@given(settings())
@example((Setting.make(np.diag([1.0, 1000.0]), 1, Sigma_w="inv", sigma2=2.0, covariates="rademacher"),
          np.random.default_rng(0)))
def test_gamma_star_is_stationary_by_finite_differences(case):
    """L is quadratic, so (L(G+hE) - L(G-hE)) / 2h = <grad L(G), E> with no truncation error; at a
    stationary point it must vanish next to the curvature term (L(G+hE) + L(G-hE) - 2L(G)) / 2 = h^2 q(E)."""
    setting, rng = case
    ol = OneLayer(setting)
    G = ol.gamma_star()
    h = 1e-2 * max(np.linalg.norm(G), 1e-300)
    for _ in range(3):
        E = rng.standard_normal(G.shape)
        E /= np.linalg.norm(E)
        lp, lm, l0 = ol.reduced_loss(G + h * E), ol.reduced_loss(G - h * E), ol.reduced_loss(G)
        linear, curv = (lp - lm) / 2, (lp + lm - 2 * l0) / 2
        assert curv > 0
        # rounding: each L value carries ~ eps * (tr(S W) + |terms|); the solve error adds cond(M) eps h q
        noise = 1e3 * EPS * (abs(l0) + np.trace(ol.SW) + abs(lp) + abs(lm))
        assert abs(linear) <= _solve_tol(ol) * curv / 1e-2 + noise, (linear, curv)


@given(settings())
def test_reduced_loss_is_convex_quadratic_around_gamma_star(case):
    """M > 0, and L(Gamma* + E) - L(Gamma*) = tr(E^T S E M) >= 0 for random E (no linear term)."""
    setting, rng = case
    ol = OneLayer(setting)
    assert np.linalg.eigvalsh(ol.M)[0] > 0
    G = ol.gamma_star()
    for _ in range(3):
        E = rng.standard_normal(G.shape) * rng.uniform(0.01, 10) * max(np.linalg.norm(G), 1e-12)
        gap = ol.reduced_loss(G + E) - ol.reduced_loss(G)
        quad = np.trace(E.T @ ol.S @ E @ ol.M)
        assert quad >= 0
        scale = abs(ol.reduced_loss(G + E)) + abs(ol.reduced_loss(G)) + np.trace(ol.SW)
        lin_err = 2 * _solve_tol(ol) * np.sqrt(quad * max(ol.reduced_loss(G + E), quad))  # solve error * |E|
        assert abs(gap - quad) <= 1e3 * EPS * scale + lin_err, (gap, quad)


# ------------------------------------------------------------------------------------------------
# Invariances
# ------------------------------------------------------------------------------------------------
def _transform_setting(setting, D):
    S2 = D @ setting.Sigma @ D.T
    W2 = D @ setting.Sigma_w @ D.T
    prior = {"identity": "identity", "inverse": "inv", "given": "random"}[setting.task_cov_kind]
    return _make((S2 + S2.T) / 2, setting.n, prior, (W2 + W2.T) / 2, setting.sigma2, setting.covariates)


def _embed(D):
    d = D.shape[0]
    E = np.eye(d + 1)
    E[:d, :d] = D
    return E


@given(settings(laws=("gaussian",)))
def test_rotation_invariance_gaussian(case):
    setting, rng = case
    U = _rotation(rng, setting.d)
    ol, ol2 = OneLayer(setting), OneLayer(_transform_setting(setting, U))
    G, G2 = ol.gamma_star(), ol2.gamma_star()
    tol = _solve_tol(ol) + _solve_tol(ol2)
    assert np.linalg.norm(G2 - U @ G @ U.T) <= tol * np.linalg.norm(G)
    P, Q = rng.standard_normal((2, setting.d + 1, setting.d + 1))
    E = _embed(U)
    f, f2 = ol.loss(P, Q), ol2.loss(E @ P @ E.T, E @ Q @ E.T)
    assert abs(f - f2) <= 1e-9 * (abs(f) + np.trace(ol.SW))


@given(settings())
def test_signed_permutation_invariance_all_laws(case):
    setting, rng = case
    d = setting.d
    D = np.eye(d)[rng.permutation(d)] * rng.choice([-1.0, 1.0], size=d)  # (d, d) signed permutation
    ol, ol2 = OneLayer(setting), OneLayer(_transform_setting(setting, D))
    G, G2 = ol.gamma_star(), ol2.gamma_star()
    assert np.linalg.norm(G2 - D @ G @ D.T) <= (_solve_tol(ol) + _solve_tol(ol2)) * np.linalg.norm(G)
    P, Q = rng.standard_normal((2, d + 1, d + 1))
    E = _embed(D)
    f, f2 = ol.loss(P, Q), ol2.loss(E @ P @ E.T, E @ Q @ E.T)
    assert abs(f - f2) <= 1e-9 * (abs(f) + np.trace(ol.SW))


@pytest.mark.parametrize("law", ["uniform", "rademacher"])
def test_non_gaussian_laws_are_not_rotation_invariant(law):
    """A fact, not a bug: with Sigma = I, W = diag(1, 3) and a 45-degree rotation, the kurtosis term
    (1/n) S^{1/2} diag((kappa-3) nu) S^{1/2} is diagonal before and after, so U Gamma* U^T (not
    diagonal) cannot be the new Gamma* (diagonal)."""
    c = np.sqrt(0.5)
    U = np.array([[c, -c], [c, c]])
    st1 = Setting.make(np.eye(2), 3, Sigma_w=np.diag([1.0, 3.0]), covariates=law)
    st2 = _transform_setting(st1, U)
    G, G2 = OneLayer(st1).gamma_star(), OneLayer(st2).gamma_star()
    assert np.linalg.norm(G2 - U @ G @ U.T) > 1e-3 * np.linalg.norm(G)


@given(settings(), st.floats(1e-2, 1e2))
def test_rescaling_P_and_Q_leaves_the_loss_unchanged(case, gamma):
    setting, rng = case
    ol = OneLayer(setting)
    d = setting.d
    P, Q = rng.standard_normal((2, d + 1, d + 1))
    f, f2 = ol.loss(P, Q), ol.loss(gamma * P, Q / gamma)
    assert abs(f - f2) <= 1e-9 * (abs(f) + np.trace(ol.SW))


@given(settings())
def test_only_last_row_of_P_and_first_d_columns_of_Q_matter(case):
    setting, rng = case
    ol = OneLayer(setting)
    d = setting.d
    P, Q = rng.standard_normal((2, d + 1, d + 1))
    P2, Q2 = P.copy(), Q.copy()
    P2[:d, :] = rng.standard_normal((d, d + 1))
    Q2[:, d] = rng.standard_normal(d + 1)
    assert ol.loss(P, Q) == ol.loss(P2, Q2)


@given(settings(), st.floats(0.1, 10.0))
def test_scaling_x_with_noise_scaled(case, c):
    """Scaling A: Sigma -> c^2 Sigma, sigma2 -> c^2 sigma2: f'(P, Q) = c^2 f(P, c^2 Q), Gamma*' = Gamma*/c^2, L*' = c^2 L*."""
    setting, rng = case
    # Sigma_w stays the same matrix (passed explicitly: the "inv" keyword would follow Sigma)
    st2 = _make(c**2 * setting.Sigma, setting.n, "random", setting.Sigma_w, c**2 * setting.sigma2, setting.covariates)
    ol, ol2 = OneLayer(setting), OneLayer(st2)
    G, G2 = ol.gamma_star(), ol2.gamma_star()
    assert np.linalg.norm(G2 - G / c**2) <= (_solve_tol(ol) + _solve_tol(ol2)) * np.linalg.norm(G) / c**2
    Lstar = ol.min_loss()
    assert abs(ol2.min_loss() - c**2 * Lstar) <= 10 * _solve_tol(ol) * c**2 * np.trace(ol.SW)
    d = setting.d
    P, Q = rng.standard_normal((2, d + 1, d + 1))
    f2, f = ol2.loss(P, Q), c**2 * ol.loss(P, c**2 * Q)
    assert abs(f2 - f) <= 1e-9 * (abs(f) + c**2 * np.trace(ol.SW))


@given(settings(), st.floats(0.1, 10.0))
def test_scaling_x_with_prior_scaled(case, c):
    """Scaling B: Sigma -> c^2 Sigma, Sigma_w -> Sigma_w/c^2: f'(P, Q) = f(P E, E Q E), E = diag(cI, 1);
    Gamma*' = Gamma*/c^2, L*' = L*."""
    setting, rng = case
    d = setting.d
    st2 = _make(c**2 * setting.Sigma, setting.n, "random", setting.Sigma_w / c**2, setting.sigma2,
                setting.covariates)
    ol, ol2 = OneLayer(setting), OneLayer(st2)
    G, G2 = ol.gamma_star(), ol2.gamma_star()
    assert np.linalg.norm(G2 - G / c**2) <= (_solve_tol(ol) + _solve_tol(ol2)) * np.linalg.norm(G) / c**2
    assert abs(ol2.min_loss() - ol.min_loss()) <= 10 * _solve_tol(ol) * np.trace(ol.SW)
    P, Q = rng.standard_normal((2, d + 1, d + 1))
    E = np.diag([c] * d + [1.0])
    f2, f = ol2.loss(P, Q), ol.loss(P @ E, E @ Q @ E)
    assert abs(f2 - f) <= 1e-9 * (abs(f) + np.trace(ol.SW))


# ------------------------------------------------------------------------------------------------
# n -> infinity
# ------------------------------------------------------------------------------------------------
def _R_by_hand(setting):
    """R = E[y^2 x x^T] - S W S from the fourth-moment identity (see module docstring):
    E[y^2 x x^T] = tau S + 2 S W S + (kappa - 3) S^{1/2} diag(diag(S^{1/2} W S^{1/2})) S^{1/2}."""
    S, W = setting.Sigma, setting.Sigma_w
    Sh = np.real(sla.sqrtm(S))
    Sh = (Sh + Sh.T) / 2
    tau = np.trace(S @ W) + setting.sigma2
    k3 = float(KURTOSIS[setting.covariates]) - 3
    Eyy = tau * S + 2 * S @ W @ S + k3 * Sh @ np.diag(np.diag(Sh @ W @ Sh)) @ Sh
    return Eyy - S @ W @ S


@given(settings())
def test_large_n_expansion_identity(case):
    """n (Gamma*_n - Sigma^{-1}) = -Gamma*_n B with B = R S^{-1} W^{-1} S^{-1} (exact at every n)."""
    setting, _ = case
    ol = OneLayer(setting)
    S, W = setting.Sigma, setting.Sigma_w
    Sinv = np.linalg.inv(S)
    R, Winv = _R_by_hand(setting), np.linalg.inv(W)
    B = R @ Sinv @ Winv @ Sinv
    G = ol.gamma_star()
    lhs = setting.n * (G - Sinv)
    rhs = -G @ B
    # magnitudes of the terms formed (norm products, as cancellation can make the results smaller) and
    # the relative rounding of each: the Gamma* solve, and inverting S and W
    nrm = np.linalg.norm
    scale = setting.n * (nrm(G) + nrm(Sinv)) + nrm(G) * nrm(R) * nrm(Sinv) ** 2 * nrm(Winv)
    tol = 10 * (_solve_tol(ol) + 100 * EPS * (_cond(S) + _cond(W)))
    assert nrm(lhs - rhs) <= tol * scale


@pytest.mark.parametrize(
    "S,W,sigma2,law",
    [([[2, 1], [1, 3]], None, 0, "gaussian"),
     ([[2, 1], [1, 3]], [[1, sp.Rational(1, 2)], [sp.Rational(1, 2), 2]], sp.Rational(1, 2), "gaussian"),
     ([[3, 0], [0, sp.Rational(1, 2)]], "inv", 1, "uniform"),
     ([[1, 0, 0], [0, 2, 0], [0, 0, 4]], [[2, 1, 0], [1, 2, 0], [0, 0, 1]], 2, "rademacher")],
)
def test_exact_limit_and_rate_in_symbolic_n(S, W, sigma2, law):
    """Exactly, with symbolic n: Gamma* -> Sigma^{-1}, n (Gamma* - Sigma^{-1}) -> -Sigma^{-1} B != 0 (rate
    exactly 1/n), and L* -> 0 even with label noise."""
    n = sp.Symbol("n", positive=True, integer=True)
    setting = Setting.make(S, n, Sigma_w=W, sigma2=sigma2, covariates=law)
    G = gamma_star_exact(setting)
    Se, We = setting.Sigma_exact, setting.Sigma_w_exact
    Sinv = Se.inv()
    assert (G.applyfunc(lambda e: sp.limit(e, n, sp.oo)) - Sinv) == sp.zeros(*Se.shape)
    first = (n * (G - Sinv)).applyfunc(lambda e: sp.limit(sp.cancel(e), n, sp.oo))
    R = sp.Matrix(_R_by_hand(Setting.make(S, 1, Sigma_w=W, sigma2=sigma2, covariates=law)))
    expected = -Sinv @ R @ Sinv @ We.inv() @ Sinv
    assert np.allclose(np.array(first, dtype=float), np.array(expected, dtype=float), rtol=1e-12, atol=1e-12)
    assert first != sp.zeros(*Se.shape)
    Lstar = (Se @ We).trace() - (G.T @ Se @ We @ Se).trace()
    assert sp.limit(sp.cancel(Lstar), n, sp.oo) == 0


# ------------------------------------------------------------------------------------------------
# Special cases: the papers' printed formulas (mapped to the canonical model: Gamma = -Q11^T)
# ------------------------------------------------------------------------------------------------
@given(settings(laws=("gaussian",)))
def test_ahn_theorem_1_block(case):
    """[Ahn et al. 2023, Thm 1] x ~ N(0, U Lam U^T), w ~ N(0, I), no noise: Q_0 = -U diag(1/((n+1)/n lam_i
    + (1/n) sum_k lam_k)) U^T, P_0 = e e^T. Our Gamma* = -Q11^T must equal the block."""
    setting, rng = case
    st0 = Setting.make(setting.Sigma, setting.n, covariates="gaussian")
    n = setting.n
    lam, U = np.linalg.eigh(setting.Sigma)
    block = (U / ((n + 1) / n * lam + lam.sum() / n)) @ U.T
    ol = OneLayer(st0)
    assert np.linalg.norm(ol.gamma_star() - block) <= 10 * _solve_tol(ol) * np.linalg.norm(block)
    # the full loss at (P_0, Q_0) is the reduced minimum and no small perturbation of P, Q lowers it
    d = setting.d
    P0 = np.zeros((d + 1, d + 1))
    P0[d, d] = 1.0
    Q0 = np.zeros((d + 1, d + 1))
    Q0[:d, :d] = -block
    f0 = ol.loss(P0, Q0)
    assert abs(f0 - ol.min_loss()) <= 10 * _solve_tol(ol) * np.trace(ol.SW)
    for _ in range(3):
        dP, dQ = rng.standard_normal((2, d + 1, d + 1)) * 1e-3
        assert ol.loss(P0 + dP, Q0 + dQ) >= f0 - 10 * _solve_tol(ol) * np.trace(ol.SW)


@given(st.integers(1, 8), st.integers(1, 60))
def test_ahn_eq7_isotropic(d, n):
    """[Ahn et al. 2023, eq. (7)] Sigma = I, w ~ N(0, I): Q_0 = -(1 / ((n-1)/n + (d+2)/n)) I."""
    G = OneLayer(Setting.make(np.eye(d), n)).gamma_star()
    np.testing.assert_allclose(G, np.eye(d) / ((n - 1) / n + (d + 2) / n), rtol=1e-13, atol=1e-15)


@given(st.integers(1, 8), st.integers(1, 60), st.floats(0.0, 2.0))
def test_mahankali_theorem_1_isotropic_noisy(d, n, sigma2):
    """[Mahankali et al. 2024, Thm 1, reconstructed] Sigma = I, W = I: eta = n / (n + d + 1 + sigma2), Gamma* = eta I."""
    G = OneLayer(Setting.make(np.eye(d), n, sigma2=sigma2)).gamma_star()
    np.testing.assert_allclose(G, np.eye(d) * n / (n + d + 1 + sigma2), rtol=1e-13, atol=1e-15)


@given(settings(laws=("gaussian",)))
def test_mahankali_theorem_2_inverse_prior(case):
    """[Mahankali et al. 2024, Thm 2, reconstructed] x ~ N(0, Sigma), w ~ N(0, Sigma^{-1}): Gamma* = eta Sigma^{-1}."""
    setting, _ = case
    st2 = Setting.make(setting.Sigma, setting.n, Sigma_w="inv", sigma2=setting.sigma2)
    d, n = setting.d, setting.n
    eta = n / (n + d + 1 + setting.sigma2)
    expected = eta * np.linalg.inv(setting.Sigma)
    ol = OneLayer(st2)
    assert np.linalg.norm(ol.gamma_star() - expected) <= 10 * _solve_tol(ol) * _cond(setting.Sigma) * np.linalg.norm(
        expected
    )


# ------------------------------------------------------------------------------------------------
# Exactness
# ------------------------------------------------------------------------------------------------
@st.composite
def rational_settings(draw):
    d = draw(st.integers(1, 3))
    n = draw(st.integers(1, 50))
    law = draw(st.sampled_from(LAWS))
    if law == "gaussian":
        A = sp.Matrix(d, d, lambda i, j: draw(st.integers(-3, 3)))
        S = A @ A.T + sp.eye(d) * sp.Rational(draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    else:
        S = sp.diag(*[sp.Rational(draw(st.integers(1, 20)), draw(st.integers(1, 5))) for _ in range(d)])
    prior = draw(st.sampled_from(["identity", "inv", "random"]))
    Bm = sp.Matrix(d, d, lambda i, j: draw(st.integers(-2, 2)))
    W = {"identity": None, "inv": "inv", "random": Bm @ Bm.T + sp.eye(d)}[prior]
    sigma2 = sp.Rational(draw(st.integers(0, 8)), draw(st.integers(1, 4)))
    return Setting.make(S, n, Sigma_w=W, sigma2=sigma2, covariates=law)


@given(rational_settings())
def test_exact_gamma_star_matches_float(setting):
    G_ex = np.array(gamma_star_exact(setting).evalf(30), dtype=float)
    ol = OneLayer(setting)
    G = ol.gamma_star()
    assert np.linalg.norm(G - G_ex) <= max(1e-10, _solve_tol(ol)) * np.linalg.norm(G_ex)


@given(rational_settings())
def test_exact_gamma_star_is_rational(setting):
    """Regression: an int n once made (n + 1) / n float division (fixed in c2e5e1c)."""
    assert all(e.is_Rational for e in gamma_star_exact(setting))


# ------------------------------------------------------------------------------------------------
# L* by the cancellation-free route, and exact homogeneity under power-of-4 rescaling
# ------------------------------------------------------------------------------------------------
@given(settings())
def test_min_loss_routes_agree(case):
    """L* = (1/n) tr(N Gamma*) (min_loss) = L(Gamma*) = tr(S W) - <Gamma*, S W S> (the stationary identity)."""
    setting, _ = case
    ol = OneLayer(setting)
    G = ol.gamma_star()
    L = ol.min_loss()
    tol = 10 * _solve_tol(ol) * np.trace(ol.SW)
    assert abs(L - ol.reduced_loss(G)) <= tol
    assert abs(L - (np.trace(ol.SW) - np.sum(G * ol.SWS))) <= tol
    assert L >= 0


@given(settings(), st.integers(-8, 8))
def test_power_of_four_rescaling_is_exact(case, k):
    """Sigma -> c Sigma, sigma2 -> c sigma2 (W fixed) maps Gamma* -> Gamma*/c and L* -> c L*; for c = 4^k every
    rounding is scaled by a power of two (products, sums, square roots of 4^k x), so both hold bit for bit."""
    setting, _ = case
    if setting.task_cov_kind == "inverse":
        return  # W = Sigma^-1 changes with Sigma: covered by the scale-free closed form of min_loss
    c = 4.0**k
    W = None if setting.task_cov_kind == "identity" else setting.Sigma_w
    s2 = Setting.make(setting.Sigma * c, setting.n, Sigma_w=W, sigma2=setting.sigma2 * c, covariates=setting.covariates)
    ol, ol2 = OneLayer(setting), OneLayer(s2)
    np.testing.assert_array_equal(ol2.gamma_star() * c, ol.gamma_star())
    assert ol2.min_loss() == c * ol.min_loss()
