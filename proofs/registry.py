"""The claim registry: every module in ``proofs.claims`` defines ``CLAIM = Claim(...)``.

Adding a claim touches one module (proofs/claims/<paper>_<claim>.py) plus its test; discovery is
automatic and ``tests/proofs/test_registry.py`` fails when a module is unregistered or incomplete.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from iclcheck.proofs.verdict import ClaimResult

__all__ = ["Claim", "Context", "all_claims", "select"]


@dataclass(frozen=True)
class Context:
    """What a check may depend on besides the claim: the seed and the profile."""

    seed: int = 0
    profile: str = "quick"  # "quick" (default run, < 60 s for all claims) or "thorough" (nightly)

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    @property
    def thorough(self) -> bool:
        return self.profile == "thorough"


@dataclass(frozen=True)
class Claim:
    key: str  # stable key, e.g. "ahn2023.thm1"
    title: str  # a few words for the table
    source: str  # exact citation, e.g. "[Ahn et al. 2023, Thm 1] arXiv 2306.00297"
    statement: str  # as printed, in the paper's own notation
    notation: str  # the explicit map from the paper's notation to the canonical model
    verify: Callable[[Context], ClaimResult] = field(repr=False)


def all_claims() -> dict[str, Claim]:
    """Every registered claim, keyed and sorted by key."""
    import iclcheck.proofs.claims as pkg

    found: dict[str, Claim] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"iclcheck.proofs.claims.{info.name}")
        claim = getattr(mod, "CLAIM", None)
        if claim is None:
            continue
        if claim.key in found:
            raise RuntimeError(f"duplicate claim key {claim.key!r} in proofs.claims.{info.name}")
        found[claim.key] = claim
    return dict(sorted(found.items()))


def select(patterns: list[str] | None) -> list[Claim]:
    """Claims whose key equals a pattern or starts with it followed by '.' (or the pattern ends in '.')."""
    claims = all_claims()
    if not patterns:
        return list(claims.values())
    from iclcheck.theory.errors import InputError

    out: list[Claim] = []
    for p in patterns:
        hits = [c for k, c in claims.items() if k == p or k.startswith(p if p.endswith(".") else p + ".")
                or (not p.endswith(".") and k.split(".")[0] == p)]
        if not hits:
            raise InputError("claim", f"no registered claim matches {p!r} (see 'iclcheck list')")
        out.extend(c for c in hits if c not in out)
    return out
