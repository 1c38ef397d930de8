"""numerics.model.crn: the bracket holds the true minimiser of a known noisy risk (coverage over repetitions), flags the
grid's edges, orders brackets, rejects bad input."""

import numpy as np
import pytest

from iclcheck.numerics.model.crn import bracket_optimum
from iclcheck.theory.errors import InputError

GRID = np.linspace(-2.0, 2.0, 17)


def draws(rng, B, centre):
    # loss (g - centre - u)^2 with u ~ N(0, 1) shared by the grid (common random numbers): mean (g - centre)^2 + 1
    u = rng.standard_normal((B, 1))
    return (GRID[None, :] - centre - u) ** 2


def test_bracket_covers_the_true_minimiser():
    rng = np.random.default_rng(0)
    misses = 0
    for _ in range(200):
        b = bracket_optimum(draws(rng, 500, 0.3), GRID)
        misses += not (b.lo <= 0.3 <= b.hi)
    assert misses <= 2  # 99.9% paired intervals, widened by a grid step: misses are rare


def test_edges_and_ordering():
    rng = np.random.default_rng(1)
    left = bracket_optimum(draws(rng, 2000, -5.0), GRID)
    assert left.open_lo and left.lo == GRID[0] and "<=" in left.describe()
    a, b = bracket_optimum(draws(rng, 4000, -1.0), GRID), bracket_optimum(draws(rng, 4000, 1.0), GRID)
    assert a.below(b) and not b.below(a)
    assert a.lo <= -1.0 <= a.hi and a.best in a.kept


def test_bad_input():
    with pytest.raises(InputError):
        bracket_optimum(np.zeros((5, 3)), [0.0, 1.0])
    with pytest.raises(InputError):
        bracket_optimum(np.zeros((5, 2)), [1.0, 0.0])
