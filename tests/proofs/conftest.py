"""One quick-profile run per claim per test session, shared by tests/proofs/test_registry.py (which checks
what every claim must satisfy) and the per-claim tests (which check their independent routes)."""

import pytest

from iclcheck.proofs.registry import Context, all_claims
from iclcheck.proofs.verdict import ClaimResult

_CACHE: dict[tuple[str, int], ClaimResult] = {}


def quick_result(key: str, seed: int = 0) -> ClaimResult:
    """``all_claims()[key].run(Context(seed, "quick"))``, computed once per session."""
    if (key, seed) not in _CACHE:
        _CACHE[key, seed] = all_claims()[key].run(Context(seed=seed, profile="quick"))
    return _CACHE[key, seed]


@pytest.fixture
def claim_result():
    return quick_result
