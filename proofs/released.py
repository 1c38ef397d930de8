"""What the authors' released code does, per claim: repository, commit, file and the convention or constant
it uses, transcribed as facts (read from the public repository; no code is copied).

A finding that a paper is wrong is read next to the authors' code. Where the code's convention differs from
the paper as printed, the claim also checks itself under the code's convention (steps in the ``released``
scope of its ``Checker``), and the report shows both verdicts side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RELEASED", "ReleasedCode", "released_code"]


@dataclass(frozen=True)
class ReleasedCode:
    repo: str  # "owner/name" of the public repository
    commit: str  # the commit read (40 hex digits)
    path: str  # file inside the repository
    fact: str  # the convention or constant the code uses, in one or two sentences
    differs: bool  # True where this differs from the paper as printed

    def to_dict(self) -> dict[str, object]:
        return {"repo": self.repo, "commit": self.commit, "path": self.path, "fact": self.fact,
                "differs": self.differs}


# claim key -> the released-code facts that bear on it (filled in per claim)
RELEASED: dict[str, tuple[ReleasedCode, ...]] = {}


def released_code(key: str) -> tuple[ReleasedCode, ...]:
    return RELEASED.get(key, ())
