"""Optimisation of a Monte Carlo risk over a small grid with common random numbers, and an honest bracket of the
optimum (docs/kernel-attention.md, "An interval on an optimum").

``E`` holds per-prompt losses (B, G): the same B prompts at every grid value (common random numbers), so differences
are taken per prompt. ``bracket_optimum`` keeps the grid values whose paired difference to the grid minimum has a
two-sided ``level`` interval reaching 0 (not significantly worse), then widens that set to its grid neighbours: if
the risk is unimodal in the parameter, the continuous minimiser lies inside the bracket. An end at the grid's edge
means the minimiser may lie beyond it (``open_lo`` / ``open_hi``). This is a statement about this grid and sample,
not a confidence interval on the minimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from iclcheck.theory.errors import InputError

__all__ = ["Bracket", "bracket_optimum"]


@dataclass(frozen=True)
class Bracket:
    """lo, hi: the bracket; best: the grid minimiser; kept: grid values not significantly worse than best; open_lo /
    open_hi: the bracket end is the grid's edge (the minimiser may lie beyond)."""

    lo: float
    hi: float
    best: float
    kept: tuple[float, ...]
    open_lo: bool
    open_hi: bool

    def below(self, other: Bracket) -> bool:
        """This bracket lies entirely at or below ``other`` (shared end point allowed) and is closed on that side."""
        return self.hi <= other.lo and not self.open_hi and not other.open_lo

    def describe(self, fmt: str = ".3g") -> str:
        lo = ("<= " if self.open_lo else "") + format(self.lo, fmt)
        hi = (">= " if self.open_hi else "") + format(self.hi, fmt)
        return f"({lo}, {hi})"


def bracket_optimum(E: np.ndarray, grid, *, level: float = 0.999) -> Bracket:
    """The bracket of the minimiser of the mean of E (B, G) over the increasing ``grid`` (G,) (module doc)."""
    E = np.asarray(E, float)
    grid = np.asarray(grid, float)
    if E.ndim != 2 or E.shape[1] != grid.size or grid.size < 2 or E.shape[0] < 2 or np.any(np.diff(grid) <= 0):
        raise InputError("grid", f"needs E of shape (B >= 2, G) and an increasing grid of G >= 2 values, got E "
                         f"{E.shape}, grid {grid.shape}")
    i = int(np.argmin(E.mean(axis=0)))
    D = E - E[:, [i]]
    z = stats.norm.ppf(0.5 + level / 2)
    lo = D.mean(axis=0) - z * D.std(axis=0, ddof=1) / np.sqrt(E.shape[0])
    kept = np.flatnonzero(lo <= 0)  # includes i (difference identically 0)
    a, b = max(int(kept.min()) - 1, 0), min(int(kept.max()) + 1, grid.size - 1)
    return Bracket(lo=float(grid[a]), hi=float(grid[b]), best=float(grid[i]), kept=tuple(float(g) for g in grid[kept]),
                   open_lo=kept.min() == 0, open_hi=kept.max() == grid.size - 1)
