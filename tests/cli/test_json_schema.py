"""Every command's JSON carries the one envelope of docs/json.md (schema 1): ``schema``, ``iclcheck_version``,
``command`` and a ``setting`` object (or null for commands without one), checked by a small hand-written validator
(jsonschema is not a dependency). The symbolic loss is read back by sympy (srepr and parse_expr with the symbol
table) and its value is compared with the float loss at given parameters (another route: the float closed form)."""

import json

import numpy as np
import pytest
import sympy as sp

from iclcheck import __version__
from iclcheck.cli import main

SETTING_KEYS = {"d": int, "n": (int, str), "law": str, "Sigma": dict, "Sigma_w": dict, "sigma2": float}
LAWS = {"gaussian", "uniform", "rademacher"}


def validate_setting(s):
    for k, t in SETTING_KEYS.items():
        assert k in s, f"setting lacks {k!r}"
        assert isinstance(s[k], t), f"setting[{k!r}] is {type(s[k]).__name__}"
    assert s["d"] >= 1 and s["law"] in LAWS and s["sigma2"] >= 0
    sig = s["Sigma"]
    assert {"spec", "exact", "eigenvalues", "eigenvalues_how"} <= set(sig)
    assert isinstance(sig["exact"], bool) and isinstance(sig["eigenvalues_how"], str)
    ev = sig["eigenvalues"]
    assert ev is None or (isinstance(ev, list) and len(ev) == 2 and float(ev[0]) <= float(ev[1]))
    assert sig["spec"] is None or isinstance(sig["spec"], str)
    sw = s["Sigma_w"]
    assert sw["kind"] in {"identity", "inverse", "given"} and isinstance(sw["exact"], bool)
    assert s["sigma2_exact"] is None or isinstance(s["sigma2_exact"], str)


def validate_envelope(obj, command, *, has_setting=True):
    assert isinstance(obj, dict)
    assert list(obj)[:4] == ["schema", "iclcheck_version", "command", "setting"]
    assert obj["schema"] == 1 and obj["iclcheck_version"] == __version__ and obj["command"] == command
    if has_setting:
        assert isinstance(obj["setting"], dict)
        validate_setting(obj["setting"])
    else:
        assert obj["setting"] is None


def _json(capsys, *argv, rc=0):
    assert main(list(argv)) == rc
    return json.loads(capsys.readouterr().out)


def test_precond_and_loss(capsys, tmp_path):
    o = _json(capsys, "precond", "--cov", "diag:1,2", "-n", "4", "--exact", "--format", "json")
    validate_envelope(o, "precond")
    assert o["setting"]["Sigma"]["eigenvalues"] == ["1", "2"] and o["setting"]["Sigma"]["exact"] is True
    assert o["setting"]["cov"] == "diag:1,2" and "gamma_exact" in o  # keys precond always had are kept
    o = _json(capsys, "precond", "--cov", "random:d=3,cond=10,seed=0", "-n", "4", "--task-cov", "inv", "--format",
              "json")
    validate_envelope(o, "precond")
    assert o["setting"]["Sigma"]["eigenvalues"] == [1.0, 10.0] and o["setting"]["Sigma_w"]["kind"] == "inverse"
    P, Q = np.zeros((3, 3)), np.zeros((3, 3))
    P[2, 2], Q[:2, :2] = 1.0, -0.3 * np.eye(2)
    np.savez(tmp_path / "pq.npz", P=P, Q=Q)
    o = _json(capsys, "loss", "--cov", "eye:2", "-n", "4", "--params", str(tmp_path / "pq.npz"), "--format", "json")
    validate_envelope(o, "loss")
    assert isinstance(o["loss"], float)


def test_certify_critical_layers(capsys):
    validate_envelope(_json(capsys, "certify", "--cov", "diag:1,2", "-n", "4", "--format", "json"), "certify")
    validate_envelope(_json(capsys, "critical", "--cov", "diag:1,2", "-n", "4", "--starts", "4", "--format", "json"),
                      "critical")
    o = _json(capsys, "layers", "--cov", "eye:2", "-n", "6", "-L", "2", "--format", "json")
    validate_envelope(o, "layers")
    assert o["setting"]["Sigma_w"]["kind"] == "inverse" and o["d"] == 2  # its old keys stay


def test_compare_and_train(capsys):
    o = _json(capsys, "compare", "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "2",
              "--samples", "200", "--train-steps", "2", "--format", "json")
    validate_envelope(o, "compare")
    assert isinstance(o["setting_description"], str)  # the old string setting, kept under another key
    o = _json(capsys, "train", "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "5",
              "--batch", "16", "--samples", "500", "--format", "json")
    validate_envelope(o, "train")
    assert "d=2" in o["setting_description"]


def test_verify_and_list(capsys):
    o = _json(capsys, "verify", "ahn2023.eq7", "--format", "json")
    validate_envelope(o, "verify", has_setting=False)
    assert {"claims", "summary"} <= set(o)
    o = _json(capsys, "verify", "ahn2023.eq7", "--cov", "eye:3", "-n", "7", "--format", "json")
    validate_envelope(o, "verify")
    assert o["setting"]["d"] == 3 and o["setting"]["n"] == 7 and o["claims"][0]["verdict"] == "confirmed"
    o = _json(capsys, "list", "--format", "json")
    validate_envelope(o, "list", has_setting=False)
    assert {"claims", "papers"} <= set(o)


def test_validator_rejects_what_it_should():
    good = {"schema": 1, "iclcheck_version": __version__, "command": "x", "setting": None}
    validate_envelope(good, "x", has_setting=False)
    for bad in ({**good, "schema": 2}, {"setting": None, **good}, {**good, "setting": {"d": 2}}):
        with pytest.raises(AssertionError):
            validate_envelope(bad, "x", has_setting=bad.get("setting") is not None)


def test_symbolic_loss_reads_back_and_evaluates_to_the_float_loss(capsys, tmp_path):
    o = _json(capsys, "loss", "--cov", "diag:1,2", "-n", "3", "--noise", "1/2", "--symbolic", "--format", "json")
    validate_envelope(o, "loss")
    exact = sp.parse_expr(o["loss_symbolic_srepr"])
    table = {k: sp.Symbol(k, **v["assumptions"]) for k, v in o["symbols"].items()}
    plain = sp.parse_expr(o["loss_symbolic_parseable"], local_dict=table)
    back = plain.xreplace({table[k]: sp.Symbol(v["name"], **v["assumptions"]) for k, v in o["symbols"].items()})
    assert sp.expand(back - exact) == 0
    assert str(exact) == o["loss_symbolic"]
    rng = np.random.default_rng(3)
    P, Q = np.zeros((3, 3)), np.zeros((3, 3))
    P[2, :] = rng.uniform(-1, 1, 3)
    Q[:, :2] = rng.uniform(-1, 1, (3, 2))
    np.savez(tmp_path / "pq.npz", P=P, Q=Q)
    val = _json(capsys, "loss", "--cov", "diag:1,2", "-n", "3", "--noise", "1/2", "--params", str(tmp_path / "pq.npz"),
                "--format", "json")["loss"]
    subs = {table[f"p_{k + 1}"]: sp.Float(P[2, k], 30) for k in range(3)}
    subs.update({table[f"q_{i + 1}_{j + 1}"]: sp.Float(Q[i, j], 30) for i in range(3) for j in range(2)})
    assert float(plain.xreplace(subs)) == pytest.approx(val, rel=1e-12)  # two routes: rounding only


def test_precond_out_prints_only_the_summary(capsys, tmp_path):
    o = _json(capsys, "precond", "--cov", "random:d=5,cond=10,seed=1", "-n", "8", "--out", str(tmp_path / "g.npz"),
              "--format", "json")
    validate_envelope(o, "precond")
    assert o["gamma"] is None and o["out"]["file"] == str(tmp_path / "g.npz")
    full = _json(capsys, "precond", "--cov", "random:d=5,cond=10,seed=1", "-n", "8", "--format", "json")
    with np.load(tmp_path / "g.npz", allow_pickle=False) as z:
        assert np.array_equal(z["gamma"], np.array(full["gamma"])) and float(z["loss"]) == full["loss"]
    assert main(["precond", "--cov", "eye:3", "-n", "8", "--out", str(tmp_path / "g.npy")]) == 0
    out = capsys.readouterr().out
    assert "written to" in out and "\n  [ " not in out  # the summary, no matrix rows
    assert np.load(tmp_path / "g.npy", allow_pickle=False).shape == (3, 3)
    assert main(["precond", "--cov", "eye:3", "-n", "8", "--out", str(tmp_path / "g.csv")]) == 2
    assert main(["precond", "--cov", "eye:3", "-n", "8", "--out", str(tmp_path / "no" / "g.npy")]) == 2


def test_critical_out_writes_the_points(capsys, tmp_path):
    o = _json(capsys, "critical", "--cov", "diag:1,2", "-n", "4", "--starts", "4", "--out", str(tmp_path / "c.npz"),
              "--format", "json")
    validate_envelope(o, "critical")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:
        assert z["gammas"].shape == (len(o["points"]), 2, 2)
        for g, p in zip(z["gammas"], o["points"], strict=True):
            assert np.array_equal(g, np.array(p["gamma"]))
        assert np.array_equal(z["gamma_star"], np.array(o["gamma_star"]))
