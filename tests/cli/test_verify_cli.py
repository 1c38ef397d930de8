"""`iclcheck verify` and `iclcheck list`: formats, exit codes, progress, internal errors, deterministic Markdown.

Uses the two fastest claims (ahn2023.eq7 confirmed, ahn2023.lemma1 refuted) to keep the file quick."""

import json
import re

import pytest

from iclcheck.cli import main
from iclcheck.proofs.registry import Claim, select

FAST = ["ahn2023.eq7", "ahn2023.lemma1"]
STEP_STATUSES = {"pass", "fail", "inconclusive"}
VERDICTS = {"confirmed", "refuted", "recorded reading fails", "inconclusive", "error"}


def _check_schema(obj):
    """The JSON shape documented in proofs/commands/verify.py, checked by hand."""
    assert set(obj) == {"schema", "iclcheck_version", "command", "setting", "claims", "summary"}  # docs/json.md
    for c in obj["claims"]:
        assert {"key", "source", "statement", "verdict", "steps", "finding"} <= set(c)
        assert isinstance(c["key"], str) and isinstance(c["source"], str) and isinstance(c["statement"], str)
        assert c["verdict"] in VERDICTS
        assert c["finding"] is None or isinstance(c["finding"], str)
        assert isinstance(c["steps"], list)
        for s in c["steps"]:
            assert {"name", "status", "detail"} <= set(s)
            assert s["status"] in STEP_STATUSES and isinstance(s["name"], str) and isinstance(s["detail"], str)
            assert s["deviation"] is None or isinstance(s["deviation"], (int, float))
            assert s["tolerance"] is None or isinstance(s["tolerance"], (int, float))
            assert isinstance(s["exact"], bool)
        assert c["max_deviation"] is None or isinstance(c["max_deviation"], (int, float))
        assert isinstance(c["seconds"], (int, float))
    s = obj["summary"]
    assert set(s["counts"]) == VERDICTS and all(isinstance(v, int) for v in s["counts"].values())
    assert s["claims"] == len(obj["claims"]) == sum(s["counts"].values())
    assert isinstance(s["seed"], int) and s["profile"] in ("quick", "thorough") and isinstance(s["seconds"], float)


def test_table_lists_each_claim_and_the_refuted_finding(capsys):
    assert main(["verify", *FAST, "-v"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0].split()
    assert head == ["key", "claim", "verdict", "dev", "tol", "time"]
    assert "ahn2023.eq7" in out and "confirmed" in out
    assert "ahn2023.lemma1 (refuted as printed, confirmed as released):" in out and "A_l^T" in out and "step 'smallest counterexample" in out
    assert "confirmed 1, refuted as printed 1, recorded reading fails 0, inconclusive 0" in out


def test_strict_exits_1_on_a_non_confirmed_verdict(capsys):
    assert main(["verify", "ahn2023.eq7", "--strict"]) == 0
    assert main(["verify", *FAST, "--strict"]) == 1


def test_json_validates_against_the_documented_shape(capsys):
    assert main(["verify", *FAST, "--format", "json", "--seed", "3"]) == 0
    obj = json.loads(capsys.readouterr().out)
    _check_schema(obj)
    assert [c["key"] for c in obj["claims"]] == FAST
    assert obj["summary"]["seed"] == 3 and obj["summary"]["counts"]["refuted"] == 1
    lemma = obj["claims"][1]
    assert lemma["verdict"] == "refuted" and "A_l^T" in lemma["finding"]
    assert obj["claims"][0]["finding"] is None


def test_markdown_is_byte_identical_on_rerun(capsys, tmp_path):
    keys = [*FAST, "mahankali2023.thm1"]  # the last has Monte Carlo steps: '(|z|)' must not break the table
    assert main(["verify", *keys, "--format", "markdown", "--report", str(tmp_path / "a.md")]) == 0
    first = capsys.readouterr().out
    assert main(["verify", *keys, "--format", "markdown", "--report", str(tmp_path / "b.md")]) == 0
    second = capsys.readouterr().out
    assert first == second
    assert (tmp_path / "a.md").read_bytes() == (tmp_path / "b.md").read_bytes()
    assert "| key | claim | source | verdict |" in first and "<summary><code>ahn2023.lemma1</code>: refuted" in first
    assert "**fail** smallest counterexample" in first and "Notation: Canonical model = Ahn" in first
    assert "- `ahn2023.lemma1` (refuted as printed, confirmed as released): As printed" in first
    rows = [ln for ln in first.splitlines() if ln.startswith("|")]
    assert len(rows) == 2 + len(keys) and "(\\|z\\|)" in first
    assert all(len(re.findall(r"(?<!\\)\|", ln)) == 7 for ln in rows), "a cell breaks the table"
    assert "seconds" not in first and "time" not in first.split("\n")[2]


def test_report_suffix_chooses_the_format(capsys, tmp_path):
    assert main(["verify", "ahn2023.eq7", "--report", str(tmp_path / "r.json")]) == 0
    _check_schema(json.loads((tmp_path / "r.json").read_text()))
    assert capsys.readouterr().out.startswith("key")


def test_progress_lines_on_stderr_only_when_asked(capsys):
    main(["verify", *FAST])
    assert capsys.readouterr().err == ""  # stderr is not a TTY under pytest
    main(["verify", *FAST, "--progress"])
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[1/2] ahn2023.eq7: confirmed") and err[1].startswith("[2/2] ahn2023.lemma1: refuted")


@pytest.mark.parametrize("argv,needle", [
    (["verify", "nosuch"], "no registered claim matches 'nosuch'"),
    (["verify", "--profile", "slow"], "invalid choice"),
    (["verify", "--format", "xml"], "invalid choice"),
    (["verify", "--seed", "-1"], "--seed"),
    (["verify", "--seed", "abc"], "must be a non-negative integer below 2^63"),
    (["verify", "--seed", "\u0663"], "must be a non-negative integer below 2^63"),
    (["list", "nosuch"], "no registered claim"),
])
def test_bad_input_exits_2_with_one_line(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse errors exit directly (status 2, one line)
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_unwritable_report_is_bad_input(capsys, tmp_path):
    assert main(["verify", "ahn2023.eq7", "--report", str(tmp_path / "no" / "dir" / "r.md")]) == 2
    assert "--report: cannot write" in capsys.readouterr().err


def test_a_crashing_claim_is_reported_and_the_others_still_run(monkeypatch, capsys):
    def boom(ctx):
        raise ZeroDivisionError("division by zero in step 2")

    bad = Claim(key="zz2099.crash", title="crashes", source="[Nobody 2099, Thm 0] arXiv 0000.00000",
                statement="x", notation="x", verify=boom)
    real = select(["ahn2023.eq7"])
    # verify imports select when it runs (light start-up), so the registry is where it is looked up
    monkeypatch.setattr("iclcheck.proofs.registry.select", lambda pats, **kw: [bad, *real])
    assert main(["verify", "--format", "json"]) == 1
    obj = json.loads(capsys.readouterr().out)
    _check_schema(obj)
    crash, ok = obj["claims"]
    assert crash["verdict"] == "error" and "ZeroDivisionError" in crash["finding"] and crash["steps"] == []
    assert ok["verdict"] == "confirmed"
    assert obj["summary"]["counts"]["error"] == 1


def test_list_table_json_and_keys(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.split()[:6] == ["key", "claim", "provenance", "moves", "origin", "source"] and "arXiv 2306.00297" in out
    # grouped by paper: a heading line per paper, then its claims; provenance per claim
    lines = out.splitlines()
    head = lines.index("ahn2023 (9 claims)")
    assert lines[head + 1].startswith("ahn2023.eq7 ") and " READ " in lines[head + 1]
    assert any(ln.startswith("ahn2023.thm5 ") and " RECONSTRUCTED " in ln for ln in lines)
    assert main(["list", "ahn2023", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert all(c["key"].startswith("ahn2023.") and c["source"] and c["title"] and c["paper"] == "ahn2023"
               for c in obj["claims"]) and obj["papers"] == 1
    assert {c["provenance"] for c in obj["claims"]} == {"READ", "RECONSTRUCTED"}
    assert main(["list", "zhang2024.thm4_1", "--keys"]) == 0  # the former key still selects the claim
    assert capsys.readouterr().out.split() == ["zfb2024.thm4_1"]
    assert main(["list", "mahankali2023", "--keys"]) == 0
    assert capsys.readouterr().out.split() == ["mahankali2023.thm1", "mahankali2023.thm2", "mahankali2023.thm3"]


def test_help_teaches_with_examples(capsys):
    with pytest.raises(SystemExit) as e:
        main(["verify", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--strict" in out and "verdicts:" in out


@pytest.mark.slow
def test_every_registered_claim_runs_quick_and_validates(capsys):
    """Nightly: the whole registry in the quick profile; no claim crashes, the JSON validates."""
    assert main(["verify", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    _check_schema(obj)
    assert obj["summary"]["counts"]["error"] == 0


def test_table_deviation_and_tolerance_come_from_one_decisive_step():
    """A refuted claim shows its failing step; a confirmed one its step closest to the tolerance."""
    from iclcheck.proofs.report import _worst
    from iclcheck.proofs.verdict import ClaimResult, Step

    steps = [Step("a", "pass", "", deviation=0.9, tolerance=1.0), Step("b", "pass", "", deviation=5.0, tolerance=100.0)]
    assert _worst(ClaimResult("k", "s", "t", "confirmed", steps)).name == "a"
    steps.append(Step("c", "fail", "", deviation=0.2, tolerance=0.1))
    assert _worst(ClaimResult("k", "s", "t", "refuted", steps)).name == "c"


def test_a_refutation_always_carries_its_evidence_as_finding():
    from iclcheck.proofs.verdict import Checker

    chk = Checker()
    chk.close("one equals two", 1.0, 2.0, atol=1e-12, reason="exact arithmetic in floats")
    res = chk.result("k", "s", "t")
    assert res.verdict == "refuted" and "one equals two" in res.finding and "outside tolerance" in res.finding


def test_the_light_error_verdict_constant_matches_the_report():
    from iclcheck.cli.commands import verify
    from iclcheck.proofs.report import ERROR

    assert verify.ERROR == ERROR
