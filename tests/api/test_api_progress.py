"""The API twins' keyword-only ``progress=`` (critical_points, optimal_layers, check_weights, implements, sweep):
reported through, the same result without it, and anything but a callable or None refused before any work."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck
from iclcheck import InputError


def test_optimal_layers_reports_the_gdpp_starts_and_returns_the_same_optimum():
    st = iclcheck.setting(np.eye(3), 11, Sigma_w="inv")
    calls: list[tuple[int, int]] = []
    got = iclcheck.optimal_layers(st, 2, family="gdpp", starts=5, seed=99, progress=lambda k, t: calls.append((k, t)))
    assert calls[-1] == (5, 5) and calls in ([(k, 5) for k in range(1, 6)], [(5, 5)])  # (computed, or cached)
    plain = iclcheck.optimal_layers(st, 2, family="gdpp", starts=5, seed=99)
    np.testing.assert_array_equal(got.a, plain.a)
    np.testing.assert_array_equal(got.b, plain.b)
    assert got.loss == plain.loss and got.local_minima == plain.local_minima
    calls.clear()
    assert iclcheck.optimal_layers(st, 2, progress=lambda k, t: calls.append((k, t))).certified and calls == []


def test_check_weights_and_implements_report_and_agree():
    st = iclcheck.setting(np.eye(3), 10, Sigma_w="inv")
    rng = np.random.default_rng(1)
    Ps, Qs = np.zeros((3, 4, 4)), np.zeros((3, 4, 4))
    Ps[:, 3, 3], Qs[:, :3, :3] = 1.0, -0.3 * np.eye(3)
    W = {"P": Ps + 0.02 * rng.standard_normal(Ps.shape), "Q": Qs + 0.02 * rng.standard_normal(Qs.shape)}
    seen: list[tuple[int, int]] = []
    r = iclcheck.check_weights(W, st, samples=2000, progress=lambda k, t: seen.append((k, t)))
    assert seen and seen[0][0] <= seen[-1][0] == seen[-1][1]
    assert r.to_dict() == iclcheck.check_weights(W, st, samples=2000).to_dict()
    fits: list[tuple[int, int]] = []
    m = iclcheck.implements(W, st, prompts=400, max_steps=2, progress=lambda k, t: fits.append((k, t)))
    assert fits == [(k, 12) for k in range(1, 13)]
    assert m.to_dict() == iclcheck.implements(W, st, prompts=400, max_steps=2).to_dict()


@pytest.mark.parametrize("call", [
    lambda st, bad: iclcheck.critical_points(st, starts=2, progress=bad),
    lambda st, bad: iclcheck.optimal_layers(st, 2, family="gdpp", starts=2, progress=bad),
    lambda st, bad: iclcheck.optimal_layers(st, 2, progress=bad),
    lambda st, bad: iclcheck.check_weights({"P": np.eye(3), "Q": np.eye(3)}, st, progress=bad),
    lambda st, bad: iclcheck.implements({"P": np.eye(3), "Q": np.eye(3)}, st, progress=bad),
])
def test_a_progress_that_is_not_callable_is_refused(call):
    st = iclcheck.setting(np.eye(2), 5, Sigma_w="inv")
    with pytest.raises(InputError, match="progress"):
        call(st, 5)


def test_sweep_refuses_a_progress_that_is_not_callable_before_any_work(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="progress"):
        iclcheck.sweep({"d": [2], "cond": [1.0], "n": [3]}, tmp_path / "atlas", starts=2, progress="yes")
    assert not (tmp_path / "atlas").exists()
