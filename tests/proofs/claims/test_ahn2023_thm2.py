"""ahn2023.thm2: registered, confirmed (quick profile); the Wick full-matrix loss it relies on is checked
against the literal model by Monte Carlo inside the claim and in tests/numerics."""

import numpy as np

from iclcheck.numerics.families import full_gd_loss
from iclcheck.proofs.claims.ahn2023_thm2 import CLAIM
from iclcheck.proofs.registry import Context, all_claims


def test_registered():
    assert all_claims()["ahn2023.thm2"] is CLAIM


def test_confirmed_quick():
    res = CLAIM.run(Context(seed=0))
    assert res.verdict == "confirmed", [(s.name, s.detail) for s in res.steps if s.status != "pass"]
    assert "not proven" in res.finding


def test_wick_loss_rotation_invariant():
    """Metamorphic: f(U A_0 U^T, U A_1 U^T) = f(A_0, A_1) for orthogonal U (isotropic data)."""
    rng = np.random.default_rng(3)
    A = [rng.standard_normal((3, 3)) for _ in range(2)]
    U, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    assert np.isclose(full_gd_loss(A, (3, 7, 0.2)), full_gd_loss([U @ M @ U.T for M in A], (3, 7, 0.2)), rtol=1e-12)
