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
    from iclcheck.numerics.montecarlo import MCEstimate
    from iclcheck.proofs.verdict import Checker

    chk = Checker()
    est = MCEstimate(mean=1.0, stderr=0.01, n_samples=10_000, level=0.999)
    assert chk.within_ci("x", est, 1.2).status == "fail"
