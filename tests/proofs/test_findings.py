"""Findings are data and their scope is checked: a failed check of a statement that was not READ in the paper's own
text is "recorded reading fails", never "refuted", in the verdict, the counts, the Markdown headline, the findings
list, the terminal table and the JSON; each bucket is counted separately; a Finding renders in a few short lines."""

import json
import re

import pytest

from iclcheck.proofs.registry import PROVENANCE_TAGS, Claim, Context
from iclcheck.proofs.report import counts_line, json_report, markdown_report, summary, table_report
from iclcheck.proofs.verdict import Checker, ClaimResult, Finding, Reach, Verdict, scoped

NOT_READ = sorted(t for t in PROVENANCE_TAGS if t != "READ") + ["READ+3P", "3P+DERIVED", "READ-code"]


def _failing_claim(key: str, provenance: str, finding=None) -> Claim:
    def verify(ctx):
        chk = Checker()
        chk.exact("holds: one equals one", 1, 1)
        chk.exact("one equals two", 1, 2)
        return chk, finding

    return Claim(key=key, title="a failing check", source="[Nobody 2099, Thm 0] arXiv 0000.00000",
                 statement="one equals two", notation="none", verify=verify, provenance=provenance)


@pytest.mark.parametrize("provenance", NOT_READ)
def test_a_statement_not_read_never_renders_refuted(provenance):
    finding = Finding(checked="the recorded reading", fails="one is not two", corrected="one equals one",
                      holds_step="holds: one equals one", confirm="the statement in the paper's own text")
    results = [_failing_claim("x2099.a", provenance).run(Context()),
               _failing_claim("x2099.b", provenance, finding).run(Context())]
    for r in results:
        assert r.verdict is Verdict.RECORDED_FAILS
    ctx = Context()
    md = markdown_report(results, ctx, titles={})
    table = table_report(results, titles={}, verbose=False) + table_report(results, titles={}, verbose=True)
    js = json.dumps(json_report(results, ctx))
    for text in (md, table, js):
        # the only "refuted" allowed: the zero count of refutations (headline, table tail, JSON counts)
        rest = text.lower().replace("refuted as printed 0", "").replace('"refuted": 0', "")
        assert "refuted" not in rest, rest[:400]
    assert "recorded reading fails 2" in md.splitlines()[0]
    assert summary(results, ctx)["counts"] == {"confirmed": 0, "refuted": 0, "recorded reading fails": 2,
                                               "inconclusive": 0, "error": 0}
    # the reading that holds is shown next to the one that fails
    assert "recorded reading fails, corrected reading confirmed" not in md  # the cell joins them with '; '
    assert "**recorded reading fails**; corrected reading **confirmed**" in md


def test_the_invariant_holds_whichever_order_verdict_and_provenance_are_set():
    r = ClaimResult("k", "s", "t", Verdict.REFUTED, [], provenance="3P")
    assert r.verdict is Verdict.RECORDED_FAILS
    r.verdict = Verdict.REFUTED  # set again after construction: still scoped
    assert r.verdict is Verdict.RECORDED_FAILS
    r.provenance = "READ"  # the statement confirmed in the paper: now a refutation
    assert r.verdict is Verdict.REFUTED
    assert scoped("refuted", "READ+3P") is Verdict.RECORDED_FAILS and scoped("confirmed", "3P") is Verdict.CONFIRMED


def test_buckets_are_counted_separately_and_headlined():
    read = _failing_claim("x2099.read", "READ").run(Context())
    rec = _failing_claim("x2099.rec", "3P").run(Context())
    assert (read.verdict, rec.verdict) == (Verdict.REFUTED, Verdict.RECORDED_FAILS)
    line = counts_line([read, rec, rec])
    assert line == "confirmed 0, refuted as printed 1, recorded reading fails 2, inconclusive 0"
    md = markdown_report([read, rec], Context(), titles={})
    assert "Findings. Refuted as printed" in md and "Findings. Recorded reading fails" in md
    refuted_part = md.split("Findings. Refuted as printed")[1].split("Findings. Recorded reading fails")[0]
    assert "x2099.read" in refuted_part and "x2099.rec" not in refuted_part


def test_a_finding_renders_in_a_few_short_lines():
    f = Finding(checked="eq. (5) as printed", fails="alpha is on the boundary", counterexample="X = [[1]]",
                corrected="any alpha in (0, 2/lambda_max^2)", scope=Reach.EXACT, scope_note="every S",
                confirm="which norm", detail="a long explanation " * 50, reading="spectral norm")
    lines = f.lines()
    assert [ln.split(":")[0] for ln in lines] == ["checked", "fails", "smallest counterexample", "holds",
                                                  "to confirm in the paper"]
    assert "[exact (every S)]" in lines[1] and all(len(ln) < 120 for ln in lines)
    assert "a long explanation" not in " ".join(lines) and "a long explanation" in f.text()
    assert f.to_dict()["scope"] == "exact"
    with pytest.raises(ValueError):
        Finding(checked=" ")
    with pytest.raises(ValueError):
        Finding(checked="x", scope="most of the time")


@pytest.fixture(scope="module")
def report():
    """The built-in claims whose wording this issue re-scoped, and their Markdown."""
    from iclcheck.proofs.registry import select
    from iclcheck.proofs.report import run_claims

    claims = select(["li2024", "ding2024", "fu2023", "raventos2023"])
    ctx = Context()
    res = run_claims(claims, ctx)
    return res, markdown_report(res, ctx, titles={c.key: c.title for c in claims})


def test_built_in_not_read_claims_never_say_refuted(report):
    res, md = report
    for r in res:
        if r.provenance != "READ":
            assert r.verdict is not Verdict.REFUTED
            assert "refuted" not in (r.finding or "").lower(), r.key
            row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{r.key}`"))
            assert "refuted" not in row, row


def test_rescoped_claims_read_as_the_issue_asks(report):
    res, md = report
    by = {r.key: r for r in res}
    assert by["li2024.h3_and_alignment"].verdict is Verdict.CONFIRMED
    assert "not uniform in alpha" in by["li2024.h3_and_alignment"].finding
    assert "non-centred" in by["ding2024.prefix_vs_causal"].finding
    for key in ("fu2023.eq5", "fu2023.rates"):
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{key}`"))
        assert "(\\|\\|S S^T\\|\\|_2 read as the spectral norm)" in row and "Frobenius reading" in row, row
    assert "eq. (21)" in by["fu2023.thm5_1"].finding
    dm = by["raventos2023.dmmse_ridge"].steps[-1].detail
    assert re.search(r"M=4: [\d.]+ \[[\d.]+, [\d.]+\], pools [\d.]+-[\d.]+", dm), dm
