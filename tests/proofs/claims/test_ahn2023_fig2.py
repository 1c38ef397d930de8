"""ahn2023.fig2: registered, confirmed, and sensitive (a wrong published value would fail)."""

import numpy as np

import iclcheck.proofs.claims.ahn2023_fig2 as mod
from iclcheck.proofs.registry import Context, all_claims


def test_registered():
    assert all_claims()["ahn2023.fig2"] is mod.CLAIM


def test_confirmed_quick(claim_result):
    res = claim_result("ahn2023.fig2")
    assert res.verdict == "confirmed", [(s.name, s.detail) for s in res.steps if s.status != "pass"]
    assert "not determined by the loss" in res.finding


def test_sensitive_to_wrong_values(monkeypatch):
    """Swap in coefficients 20% off: the coefficient and the loss steps must fail."""
    monkeypatch.setattr(mod, "PUBLISHED_CODE_SIGN", tuple(0.8 * np.array(mod.PUBLISHED_CODE_SIGN)))
    res = mod.CLAIM.run(Context(seed=0))
    failed = {s.name for s in res.steps if s.status == "fail"}
    assert res.verdict == "refuted" and any("published coefficients" in f for f in failed)
