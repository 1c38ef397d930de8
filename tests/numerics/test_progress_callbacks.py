"""The library's progress callbacks (the CLI draws its bars from them): each reports what it says, in order, and
changes nothing computed - the same results, to the bit, with and without a callback."""

from __future__ import annotations

import dataclasses

import numpy as np

from iclcheck.theory.setting import Setting


def _recorder() -> tuple[list[tuple[int, int]], object]:
    calls: list[tuple[int, int]] = []
    return calls, lambda done, total: calls.append((done, total))


def _same(x, y) -> None:
    """Equal results: arrays bit for bit, tuples and dataclasses field by field."""
    if isinstance(x, np.ndarray):
        np.testing.assert_array_equal(x, y)
    elif isinstance(x, (tuple, list)):
        assert type(x) is type(y) and len(x) == len(y)
        for a, b in zip(x, y, strict=True):
            _same(a, b)
    elif dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            _same(getattr(x, f.name), getattr(y, f.name))
    else:
        assert x == y or (x != x and y != y), (x, y)  # (nan == nan)


def test_gdpp_multistart_reports_each_start_and_computes_the_same():
    from iclcheck.numerics.families.gdpp import _multistart

    calls, progress = _recorder()
    with np.errstate(over="ignore", invalid="ignore"):
        got = _multistart(3, 20, 0.0, 2, 5, 7, progress=progress)
        plain = _multistart(3, 20, 0.0, 2, 5, 7)
    assert calls == [(k, 5) for k in range(1, 6)]
    _same(got, plain)


def test_optimal_gdpp_reports_through_its_cache():
    """A multistart computed once per process: the first call reports every start, a cached one reports done."""
    from iclcheck.numerics.families import gdpp

    key = (3, 17, 0.0, 2, 4, 123_457)  # a problem no other test asks for
    gdpp._CORE_CACHE.pop(key, None)
    first, p1 = _recorder()
    again, p2 = _recorder()
    a = gdpp.optimal_gdpp((3, 17), 2, starts=4, seed=123_457, progress=p1)
    b = gdpp.optimal_gdpp((3, 17), 2, starts=4, seed=123_457, progress=p2)
    c = gdpp.optimal_gdpp((3, 17), 2, starts=4, seed=123_457)
    assert first == [(1, 4), (2, 4), (3, 4), (4, 4)] and again == [(4, 4)]
    _same(a, b)
    _same(a, c)


def test_gd_reports_only_when_its_multistart_runs():
    """Without noise the (8) optimum is solved (real-rooted, certified): no call. With strong noise its best filter
    has complex roots and the 64-start multistart runs: 64 calls, and the same optimum as without a callback."""
    from iclcheck.numerics.families.gd import GD_MULTISTART_STARTS, optimal_gd

    calls, progress = _recorder()
    assert optimal_gd((5, 20), 3, progress=progress).certified and calls == []
    for exact in (True, False):  # the rational solve (L <= 12) and the float path both fall back to it
        calls, progress = _recorder()
        got = optimal_gd((5, 20, 5.0), 3, exact=exact, progress=progress)
        assert not got.certified
        assert calls == [(k, GD_MULTISTART_STARTS) for k in range(1, GD_MULTISTART_STARTS + 1)]
        _same(got, optimal_gd((5, 20, 5.0), 3, exact=exact))


def test_mc_mean_reports_each_batch_without_changing_a_draw():
    from iclcheck.numerics.model.montecarlo import mc_mean

    def draw(r, k):
        return r.standard_normal(k) ** 2

    calls, progress = _recorder()
    got = mc_mean(draw, samples=2500, rng=np.random.default_rng(3), batch=1000, progress=progress)
    plain = mc_mean(draw, samples=2500, rng=np.random.default_rng(3), batch=1000)
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]
    _same(got, plain)


def _deep_model(L: int = 3, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Near the (8) family, with no exact route for L = 3: a Monte Carlo loss."""
    rng = np.random.default_rng(1)
    Ps, Qs = np.zeros((L, d + 1, d + 1)), np.zeros((L, d + 1, d + 1))
    Ps[:, d, d], Qs[:, :d, :d] = 1.0, -0.3 * np.eye(d)
    return Ps + 0.02 * rng.standard_normal(Ps.shape), Qs + 0.02 * rng.standard_normal(Qs.shape)


def test_model_loss_reports_its_monte_carlo_and_nothing_when_exact():
    from iclcheck.numerics.deep.model_loss import model_loss

    st = Setting.make(np.eye(3), 10, Sigma_w="inv")
    Ps, Qs = _deep_model()
    for estimator in ("literal", "conditioned"):
        calls, progress = _recorder()
        got = model_loss(st, Ps, Qs, samples=3000, seed=2, estimator=estimator, progress=progress)
        assert not got.exact and calls and calls[-1] == (3000, 3000), (estimator, calls)
        assert [c[0] for c in calls] == sorted({c[0] for c in calls})  # increasing
        _same(got, model_loss(st, Ps, Qs, samples=3000, seed=2, estimator=estimator))
    calls, progress = _recorder()
    assert model_loss(st, Ps[:1], Qs[:1], progress=progress).exact and calls == []


def test_check_weights_counts_every_prompt_of_the_model_and_its_variants():
    """done increases to the prompts drawn by all Monte Carlo runs (the model's and each variant's screen or full
    run), total never falls below done, and the check is the same without the callback."""
    from iclcheck.numerics.weights import load_weights
    from iclcheck.numerics.weights.check import check_loaded_weights

    st = Setting.make(np.eye(3), 10, Sigma_w="inv")
    Ps, Qs = _deep_model()
    w = load_weights({"P": Ps, "Q": Qs}, convention="canonical", n=10, d=3)
    calls, progress = _recorder()
    got = check_loaded_weights(st, w, samples=3000, seed=0, flip_samples=8000, progress=progress)
    drawn = got.loss.estimate.n_samples + sum(fl.estimate.n_samples for _, fl in got.flips if not fl.exact)
    screens = sum(1 for _, fl in got.flips if not fl.exact and fl.estimate.n_samples == 8000)
    drawn += 5000 * screens  # a full run is drawn after its 5000-prompt screen
    done = [c[0] for c in calls]
    assert done == sorted(done) and calls[-1] == (drawn, drawn) and all(d <= t for d, t in calls)
    plain = check_loaded_weights(st, w, samples=3000, seed=0, flip_samples=8000)
    assert got.to_dict() == plain.to_dict()


def test_implements_reports_each_layer_and_algorithm():
    from iclcheck.numerics.deep.implements import implements

    st = Setting.make(np.eye(3), 10, Sigma_w="inv")
    Ps, Qs = _deep_model(L=2)
    calls, progress = _recorder()
    got = implements(st, Ps, Qs, prompts=400, max_steps=2, progress=progress)
    assert calls == [(k, 8) for k in range(1, 9)]  # 2 layers x 4 algorithms
    assert got.to_dict() == implements(st, Ps, Qs, prompts=400, max_steps=2).to_dict()
