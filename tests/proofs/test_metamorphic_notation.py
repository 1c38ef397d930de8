"""Metamorphic: Ahn et al. Thm 1 re-expressed in Zhang, Frei, Bartlett's notation (and back) must give the same
predictor on random prompts and the same verdict (PEPit's 'uselessly complexified' tests, for notations)."""

import numpy as np
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.proofs.claims import ahn2023_thm1, zfb2024_thm4_1
from iclcheck.proofs.steps import cayley
from iclcheck.proofs.verdict import Checker, Verdict
from iclcheck.theory.notation.ahn import thm1_params
from iclcheck.theory.notation.zhang import from_canonical, to_canonical, zhang_forward, zhang_gamma
from iclcheck.theory.setting import Setting


def _ahn_point(U: np.ndarray, lam: np.ndarray, n: int, gamma: float = 1.0):
    d = len(lam)
    P = np.zeros((d + 1, d + 1))
    P[d, d] = gamma
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = -(U @ np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n)) @ U.T) / gamma
    return P, Q


@given(d=st.integers(1, 4), n=st.integers(1, 40), seed=st.integers(0, 2**31 - 1),
       gamma=st.sampled_from([1.0, 0.25, -2.0, 7.0]))
@example(d=5, n=20, seed=0, gamma=1.0)  # the paper's sizes
def test_ahn_thm1_in_zhang_notation_same_predictor(d, n, seed, gamma):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.2, 4.0, size=d)
    U, _ = np.linalg.qr(rng.normal(size=(d, d)))
    Lam = U @ np.diag(lam) @ U.T
    Lam = (Lam + Lam.T) / 2
    P, Q = _ahn_point(U, lam, n, gamma)
    W_PV, W_KQ = from_canonical(P, Q)
    # Zhang's characterisation of the same point: W^PV_22 W^KQ_11 = Gamma^{-1}
    np.testing.assert_allclose(W_PV[d, d] * W_KQ[:d, :d], np.linalg.inv(zhang_gamma(Lam, n)), rtol=1e-9, atol=1e-12)
    # and back
    P2, Q2 = to_canonical(W_PV, W_KQ)
    np.testing.assert_array_equal(P2, P)
    np.testing.assert_array_equal(Q2, Q)
    # same predictor on random prompts: their unmasked forward pass vs ours
    pr = sample_prompts(Setting.make(Lam, n), 16, rng)
    np.testing.assert_allclose(zhang_forward(pr.Z0, W_PV, W_KQ), predict(pr.Z0, [P], [Q]), rtol=1e-10, atol=1e-10)


def test_same_verdict_in_both_notations(claim_result):
    v_ahn = claim_result(ahn2023_thm1.CLAIM.key).verdict
    v_zhang = claim_result(zfb2024_thm4_1.CLAIM.key).verdict
    # Ahn's printed block, translated into Zhang's notation, checked against Zhang's printed optimum (exact)
    chk = Checker()
    n = sp.Symbol("n", positive=True, integer=True)
    for lams, A in (([1, 2], sp.Matrix([[0, 1], [0, 0]])), ([sp.Rational(1, 2), 3, 5], sp.Matrix([[1, 2, 0], [0, 0, 1], [0, 0, 0]]))):
        U = cayley(A)
        P, Q = thm1_params(U, lams, n)
        W_PV, W_KQ = from_canonical(P, Q)
        d = len(lams)
        Lam = U * sp.diag(*lams) * U.T
        chk.exact("Ahn's point in Zhang's notation: W^PV_22 W^KQ_11 = Gamma^-1",
                  (W_PV[d, d] * W_KQ[:d, :d]).applyfunc(sp.simplify), zhang_gamma(Lam, n).inv().applyfunc(sp.simplify))
    v_translated = chk.result("metamorphic", "", "").verdict
    assert v_ahn is v_zhang is v_translated is Verdict.CONFIRMED
