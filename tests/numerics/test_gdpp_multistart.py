"""The GD++ multistart's stopping rules (issue 19): diverging starts are stopped, only stationary and bounded
points are listed as local minima, and the best point is the one the former limits found, to the bit."""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.families.gdpp import THETA_MAX, _multistart, gdpp_loss, optimal_gdpp
from iclcheck.numerics.finite_diff import central_gradient, hessian_from_values


def _F(theta: np.ndarray, L: int, problem) -> float:
    return gdpp_loss(theta[:L], np.concatenate([theta[L:], [0.0]]), problem)


def test_listed_local_minima_are_bounded_stationary_points_and_stopped_starts_are_not_listed():
    """d=5, n=20, L=3: three of the 24 starts run off (the former limits listed their end points, e.g. 0.00717 at
    max|theta| = 8e4). Every listed minimum is checked by routes other than the optimiser's: the loss by
    ``gdpp_loss`` at the listed point, the gradient by central differences of it (not the complex step), and the
    Hessian (from values) positive semidefinite."""
    L, pr = 3, (5, 20)
    o = optimal_gdpp(pr, L)
    assert o.stopped >= 1
    assert len(o.local_minimizers) == len(o.local_minima) >= 2
    assert list(o.local_minima) == sorted(o.local_minima) and o.local_minima[0] == o.loss
    for v, th in zip(o.local_minima, o.local_minimizers, strict=True):
        assert np.max(np.abs(th)) < THETA_MAX
        f = _F(th, L, pr)
        assert f == v
        g = central_gradient(lambda t: _F(t, L, pr), th, h=1e-6)
        assert np.linalg.norm(g) < 1e-6  # central differences: error ~1e-10 at h = 1e-6; F ~ 1e-3
        ev = np.linalg.eigvalsh(hessian_from_values(lambda t: _F(t, L, pr), th, h=1e-4))
        assert ev[0] > -1e-6 * ev[-1], (v, ev)


def test_a_start_that_leaves_the_bound_is_stopped_and_never_listed():
    """With the bound shrunk below every minimiser (max|theta| of the d=3, n=20, L=2 minima is 1.7-3.2), every
    start leaves it: all are stopped, none is listed, the best point is not 'attained'."""
    out = _multistart(3, 20, 0.0, 2, 4, 0, theta_max=1.0)
    attained, minima, points, stopped = out[4], out[7], out[8], out[9]
    assert stopped == 4 and minima == () and points == () and not attained


def test_the_best_point_is_the_former_limits_best_point_to_the_bit():
    """d=3, n=20, L=2, the first 6 starts (start 5 diverges: under the former limits it ran 3000 BFGS iterations to
    max|theta| = 1.3e6). The best point, its loss, gradient norm, spread and hits are identical."""
    new = _multistart(3, 20, 0.0, 2, 6, 0)
    old = _multistart(3, 20, 0.0, 2, 6, 0, bfgs_maxiter=3000, trust_maxiter=200, theta_max=np.inf)
    assert new[9] >= 1
    np.testing.assert_array_equal(new[0], old[0])
    np.testing.assert_array_equal(new[1], old[1])
    assert new[2:7] == old[2:7]
