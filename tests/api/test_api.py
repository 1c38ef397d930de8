"""The API functions beyond their doctests: argument checks, structured results, verify at a setting."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck


def test_verify_returns_structured_results():
    [r] = iclcheck.verify("ahn2023.eq7", seed=0)
    d = r.to_dict()
    assert d["key"] == "ahn2023.eq7" and d["verdict"] == str(r.verdict) and len(d["steps"]) == len(r.steps) > 0


def test_verify_refuses_to_move_a_claim_that_declares_no_parameters():
    fixed = [c for c in iclcheck.claims() if not c.parameters]
    if not fixed:
        pytest.skip("every claim can be moved")
    st = iclcheck.setting(np.eye(2), 5)
    with pytest.raises(iclcheck.InputError) as e:
        iclcheck.verify([fixed[0].key], setting=st)
    assert fixed[0].key in str(e.value)


@pytest.mark.parametrize("kw, what", [({"profile": "fast"}, "profile"), ({"seed": -1}, "seed"),
                                      ({"setting": "eye:2"}, "setting")])
def test_verify_bad_options(kw, what):
    with pytest.raises(iclcheck.InputError) as e:
        iclcheck.verify(["ahn2023.eq7"], **kw)
    assert e.value.what == what


def test_functions_refuse_a_non_setting():
    for fn in (iclcheck.gamma_star, iclcheck.min_loss):
        with pytest.raises(iclcheck.InputError, match="Setting"):
            fn(np.eye(2))


def test_optimal_layers_families():
    st = iclcheck.setting(np.eye(2), 8, Sigma_w="inv")
    gd = iclcheck.optimal_layers(st, 2)
    pp = iclcheck.optimal_layers(st, 2, family="gdpp", starts=4)
    assert pp.loss <= gd.loss * (1 + 1e-9)  # (11) contains (8) (b = 0)
    with pytest.raises(iclcheck.InputError):
        iclcheck.optimal_layers(st, 2, family="newton")
    with pytest.raises(iclcheck.InputError):
        iclcheck.optimal_layers(st, 2, starts=3)


def test_loss_of_stacked_layers_says_how_it_was_computed():
    st = iclcheck.setting(np.diag([1.0, 2.0]), 6)
    rng = np.random.default_rng(0)
    Ps, Qs = rng.normal(size=(2, 3, 3)) * 0.2, rng.normal(size=(2, 3, 3)) * 0.2
    r = iclcheck.loss(st, Ps, Qs, samples=5_000, seed=2)
    assert not r.exact and r.estimate.n_samples == 5_000 and r.interval[0] <= r.value <= r.interval[1]
    assert r.to_dict()["exact"] is False
