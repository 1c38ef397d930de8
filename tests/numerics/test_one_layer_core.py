"""The closed-form one-layer loss against the literal forward pass (Monte Carlo, 99.9% CI) and
the reduced minimiser against the published Ahn et al. Thm 1 block (an independent route)."""

import numpy as np
import pytest

from iclcheck.numerics.montecarlo import mc_loss
from iclcheck.numerics.one_layer import OneLayer
from iclcheck.theory import Setting


def _random_setting(rng, d, n, law, sigma2, prior):
    A = rng.standard_normal((d, d))
    S = A @ A.T + np.eye(d)
    W = None
    if prior == "given":
        B = rng.standard_normal((d, d))
        W = B @ B.T / d + 0.5 * np.eye(d)
    elif prior == "inv":
        W = "inv"
    return Setting.make(S, n, Sigma_w=W, sigma2=sigma2, covariates=law)


@pytest.mark.parametrize(
    "law,prior,sigma2,seed",
    [("gaussian", "given", 0.3, 0), ("uniform", "identity", 0.0, 1), ("rademacher", "inv", 0.5, 2)],
)
def test_closed_form_matches_literal_forward_pass(law, prior, sigma2, seed):
    rng = np.random.default_rng(seed)
    st = _random_setting(rng, 3, 4, law, sigma2, prior)
    d = st.d
    P = rng.standard_normal((d + 1, d + 1)) * 0.3
    Q = rng.standard_normal((d + 1, d + 1)) * 0.2
    exact = OneLayer(st).loss(P, Q)
    est = mc_loss(st, [P], [Q], samples=300_000, rng=rng, level=0.999)
    assert est.contains(exact), (exact, est.ci)


def test_gamma_star_is_ahn_thm1_block_for_gaussian_identity_prior():
    rng = np.random.default_rng(5)
    d, n = 4, 7
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.array([0.5, 1.0, 2.0, 4.0])
    S = U @ np.diag(lam) @ U.T
    st = Setting.make((S + S.T) / 2, n)
    expected = U @ np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n)) @ U.T
    np.testing.assert_allclose(OneLayer(st).gamma_star(), expected, rtol=1e-10, atol=1e-12)
