"""The API functions beyond their doctests: argument checks, structured results, verify at a setting."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck


def test_verify_returns_structured_results():
    [r] = iclcheck.verify("ahn2023.eq7", seed=0)
    d = r.to_dict()
    assert d["key"] == "ahn2023.eq7" and d["verdict"] == str(r.verdict) and len(d["steps"]) == len(r.steps) > 0


def test_api_and_cli_give_the_same_verdicts_and_skips_at_a_setting(capsys):
    """One runner and one policy: a selection with a claim that cannot move runs the others, skips that one with
    its reason (API: a ClaimSkipped warning; CLI: a line on stderr), and gives the same verdicts."""
    import json

    from iclcheck.cli.main import main
    from iclcheck.proofs.registry import ClaimSkipped

    keys = ["ahn2023.eq7", "vonoswald2023.setup", "mahankali2023.thm1"]
    st = iclcheck.setting(np.eye(2), 5)
    with pytest.warns(ClaimSkipped, match="vonoswald2023.setup is not run at this setting"):
        api = iclcheck.verify(keys, setting=st)
    assert main(["verify", *keys, "--cov", "eye:2", "-n", "5", "--format", "json", "--no-progress"]) == 0
    out = capsys.readouterr()
    cli = json.loads(out.out)["claims"]
    assert "vonoswald2023.setup is not run at this setting" in out.err
    assert [(r.key, str(r.verdict)) for r in api] == [(c["key"], c["verdict"]) for c in cli]
    assert [r.key for r in api] == ["ahn2023.eq7", "mahankali2023.thm1"]


def test_api_reports_a_crashing_claim_as_an_error_result_like_the_cli(monkeypatch):
    """The crash policy is the runner's: an exception inside a claim's check is that claim's 'error' result."""
    import dataclasses

    from iclcheck.proofs import registry

    [claim] = registry.select(["ahn2023.eq7"])

    def boom(ctx):
        raise RuntimeError("a bug in the check")

    broken = dataclasses.replace(claim, verify=boom)
    monkeypatch.setattr(registry, "select", lambda *a, **k: [broken])
    [r] = iclcheck.verify(["ahn2023.eq7"])
    assert str(r.verdict) == "error" and "a bug in the check" in (r.finding or "")


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
    Ps, Qs = rng.normal(size=(3, 3, 3)) * 0.2, rng.normal(size=(3, 3, 3)) * 0.2  # L = 3: no exact route
    r = iclcheck.loss(st, Ps, Qs, samples=5_000, seed=2)
    assert not r.exact and r.estimate.n_samples == 5_000 and r.interval[0] <= r.value <= r.interval[1]
    assert r.to_dict()["exact"] is False
    r2 = iclcheck.loss(st, Ps[:2], Qs[:2], samples=5_000, seed=2)  # L = 2: exact for any weights (Gaussian data)
    assert r2.exact and r2.method.startswith("L = 2, general P_l, Q_l: exact") and r2.interval == (r2.value,) * 2
