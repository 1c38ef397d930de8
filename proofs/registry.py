"""The claim registry and runner: every module in ``proofs.claims`` defines ``CLAIM = Claim(...)``.

Adding a claim touches one module (proofs/claims/<paper>_<claim>.py, pattern: proofs/claims/_template.py)
plus its test; discovery is automatic and ``tests/proofs/test_registry.py`` fails when a module is
unregistered or incomplete. Modules whose name starts with ``_`` are not claims.

The runner is ``Claim.run(ctx)``: it hands the claim to ``verify`` (as ``ctx.claim``), salts the claim's
random stream by the claim (``ctx.rng()`` draws from ``[seed, claim.salt]``), and builds the result from the
``Checker`` that ``verify`` returns (optionally with a finding: ``return chk, finding``).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from iclcheck.proofs.verdict import Checker, ClaimResult

__all__ = ["PROVENANCE_TAGS", "Claim", "Context", "all_claims", "default_salt", "select"]

# Where a claim's statement comes from (docs/NEXT-CLAIMS.md, "Tags"). Only READ is the paper's own text: every other
# statement is a hypothesis, and its verdict is reported "as recorded" (e.g. "refuted as recorded").
PROVENANCE_TAGS: dict[str, str] = {
    "READ": "read in the paper's own text",
    "READ-code": "read in the authors' official code (a formula as implemented)",
    "READ-PARTIAL": "text read, formulas garbled or missing and rebuilt",
    "3P": "a third party's restatement (notes, reviews, a translation)",
    "RECALLED": "from memory, not verified",
    "DERIVED": "derived while compiling the notes; re-derived by the check",
    "RECONSTRUCTED": "rebuilt from the proofs or secondary notes (docs/STATEMENTS.md)",
}

def default_salt(key: str) -> int:
    """A claim's default RNG salt: CRC32 of its key (stable across machines and runs, unlike hash())."""
    return zlib.crc32(key.encode("utf-8"))


@dataclass(frozen=True)
class Context:
    """What a check may depend on besides the claim: the seed, the profile and (inside ``Claim.run``)
    the claim being checked."""

    seed: int = 0
    profile: str = "quick"  # "quick" (default run, < 60 s for all claims) or "thorough" (nightly)
    # the user's setting (a theory.setting.Setting, optionally with a "test" setting and L) for claims that declare
    # parameters (Claim.parameters); None in the default run, where every claim uses its built-in settings
    setting: Any = field(default=None, compare=False)
    claim: Claim | None = field(default=None, compare=False, repr=False)

    def rng(self, salt: int | None = None) -> np.random.Generator:
        """The claim's random stream, ``default_rng([seed, claim.salt])``. An explicit ``salt`` (the old
        pattern, ``ctx.rng(131)``) is deprecated but still honoured: new claims declare ``Claim.salt``."""
        if salt is None:
            if self.claim is None:
                raise ValueError("Context.rng() without a salt needs the claim: run it through Claim.run(ctx)")
            salt = self.claim.salt
        return np.random.default_rng([self.seed, salt])

    @property
    def thorough(self) -> bool:
        return self.profile == "thorough"

    def for_claim(self, claim: Claim) -> Context:
        return dataclasses.replace(self, claim=claim)


@dataclass(frozen=True)
class Claim:
    key: str  # stable key, e.g. "ahn2023.thm1"
    title: str  # a few words for the table
    source: str  # exact citation, e.g. "[Ahn et al. 2023, Thm 1] arXiv 2306.00297"
    statement: str  # as printed, in the paper's own notation
    notation: str  # the explicit map from the paper's notation to the canonical model
    # verify(ctx) -> Checker | (Checker, finding) (new), or -> ClaimResult (old pattern, still accepted)
    verify: Callable[[Context], Any] = field(repr=False)
    salt: int | None = None  # the claim's RNG salt; None -> default_salt(key)
    # the statement's provenance: tags of PROVENANCE_TAGS joined by '+', e.g. "3P+DERIVED"; only "READ" is the paper
    provenance: str = "READ"
    aliases: tuple[str, ...] = ()  # former keys that still select this claim (e.g. "zhang2024.thm4_1")
    # what the claim can be moved to (names from "Sigma", "n", "Sigma_w", "sigma2", "law", "L", "test"): verify reads
    # ctx.setting when it is given; () means the claim runs only at its built-in settings
    parameters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        tags = self.provenance.split("+") if isinstance(self.provenance, str) else [None]
        if not tags or any(t not in PROVENANCE_TAGS for t in tags):
            raise ValueError(f"claim {self.key!r}: provenance must be tags of {sorted(PROVENANCE_TAGS)} joined by "
                             f"'+', got {self.provenance!r}")
        if self.salt is None:
            object.__setattr__(self, "salt", default_salt(self.key))
        elif not isinstance(self.salt, int) or isinstance(self.salt, bool) or self.salt < 0:
            raise ValueError(f"claim {self.key!r}: salt must be an int >= 0, got {self.salt!r}")

    @property
    def paper(self) -> str:
        """The paper part of the key ('ahn2023' for 'ahn2023.thm1')."""
        return self.key.split(".")[0]

    @property
    def as_printed(self) -> bool:
        """True when the statement is the paper's own text ([READ]); otherwise verdicts are 'as recorded'."""
        return self.provenance == "READ"

    def run(self, ctx: Context) -> ClaimResult:
        """Run ``verify`` with this claim in ``ctx`` and build its result (key, source, statement from here)."""
        out = self.verify(ctx.for_claim(self))
        if isinstance(out, ClaimResult):  # old pattern: verify called chk.result(...) itself
            out.provenance = self.provenance
            return out
        finding = None
        if isinstance(out, tuple):
            chk, finding = out
        else:
            chk = out
        if not isinstance(chk, Checker):
            raise TypeError(f"{self.key}: verify() must return its Checker (or (Checker, finding)), "
                            f"got {type(out).__name__}")
        res = chk.result(self.key, self.source, self.statement, finding=finding)
        res.provenance = self.provenance
        return res


def all_claims() -> dict[str, Claim]:
    """Every registered claim, keyed and sorted by key."""
    import iclcheck.proofs.claims as pkg

    found: dict[str, Claim] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):  # the template and private helpers are not claims
            continue
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
        hits = [c for k, c in claims.items() if k == p or p in c.aliases
                or k.startswith(p if p.endswith(".") else p + ".")
                or (not p.endswith(".") and k.split(".")[0] == p)]
        if not hits:
            raise InputError("claim", f"no registered claim matches {p!r} (see 'iclcheck list')")
        out.extend(c for c in hits if c not in out)
    return out
