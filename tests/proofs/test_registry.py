"""Registry hygiene: every claim module is registered, cited, stated, mapped to the canonical notation and tested.

Adding a claim touches one module (proofs/claims/<paper><year>_<claim>.py defining CLAIM with key
'<paper><year>.<claim>') plus its test tests/proofs/claims/test_<module>.py; this file fails otherwise."""

import importlib
import json
import pkgutil
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

import iclcheck.proofs.claims as pkg
from iclcheck.proofs.registry import KEY_PATTERN, Claim, Context, Profiles, all_claims, default_salt, select
from iclcheck.proofs.verdict import (
    Checker,
    ClaimResult,
    InconsistentStep,
    Scope,
    Status,
    Step,
    Tolerance,
    Verdict,
    overall,
    scoped,
)
from iclcheck.theory.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(i.name for i in pkgutil.iter_modules(pkg.__path__) if not i.name.startswith("_"))
ARXIV = re.compile(r"arXiv:? ?\d{4}\.\d{4,5}")
LOCATOR = re.compile(r"\b(Thm|Theorem|Lemma|Prop|Proposition|Cor|Corollary|eq|Eq|Fig|Figure|Sec|Section|section|"
                     r"Appendix|appendix|Table|Algorithm|[A-Z]\.\d)")


def module_to_key(name: str) -> str:
    """ahn2023_thm1 -> ahn2023.thm1, zfb2024_thm4_1 -> zfb2024.thm4_1 (the first underscore is the dot)."""
    paper, _, claim = name.partition("_")
    return f"{paper}.{claim}"


def test_there_are_claims():
    assert len(MODULES) >= 8


@pytest.mark.parametrize("name", MODULES)
def test_module_defines_a_complete_claim(name):
    mod = importlib.import_module(f"iclcheck.proofs.claims.{name}")
    claim = getattr(mod, "CLAIM", None)
    assert isinstance(claim, Claim), f"proofs/claims/{name}.py defines no CLAIM = Claim(...)"
    # keys may have more parts (zfb2024.thm4_2.prediction_error lives in zfb2024_thm4_2_prediction_error.py)
    assert claim.key.replace(".", "_") == name, f"key {claim.key!r} does not match module {name!r}"
    assert claim.key.startswith(module_to_key(name).split(".")[0] + "."), claim.key
    assert KEY_PATTERN.fullmatch(claim.key), claim.key
    assert claim.title.strip() and len(claim.title) <= 60, "a few words for the table"
    assert ARXIV.search(claim.source), f"{claim.key}: source lacks the arXiv id: {claim.source!r}"
    assert LOCATOR.search(claim.source), f"{claim.key}: source lacks a theorem/equation/section locator"
    assert re.search(r"[A-Z][a-z]+", claim.source.split("]")[0]), f"{claim.key}: source lacks the authors"
    assert len(claim.statement.strip()) >= 20, f"{claim.key}: statement as printed is missing"
    assert len(claim.notation.strip()) >= 20, f"{claim.key}: notation map to the canonical model is missing"
    assert callable(claim.verify)


def test_key_pattern_accepts_a_letter_after_the_year_and_matches_new_claim():
    from iclcheck.cli.commands.new_claim import KEY_RE, claim_module_name

    for key in ("vonoswald2023b.mesa_layer_rls", "ahn2023.thm1", "zfb2024.thm4_2.prediction_error", "smith2024z.a"):
        assert KEY_PATTERN.fullmatch(key) and KEY_RE.fullmatch(key), key
    for key in ("vonoswald2023B.x", "vonoswald2023bc.x", "vonoswald2023b", "x2023b.1a", "ab23b.x", "ab2023b_x"):
        assert not KEY_PATTERN.fullmatch(key) and not KEY_RE.fullmatch(key), key
    assert KEY_RE.pattern == KEY_PATTERN.pattern and KEY_RE.flags == KEY_PATTERN.flags  # one rule, two homes
    assert claim_module_name("vonoswald2023b.ar_one_step") == "vonoswald2023b_ar_one_step"
    assert module_to_key("vonoswald2023b_ar_one_step") == "vonoswald2023b.ar_one_step"
    assert [c.key for c in select(["vonoswald2023"])] == [k for k in all_claims() if k.startswith("vonoswald2023.")]


@pytest.mark.parametrize("name", MODULES)
def test_every_claim_module_has_a_test(name):
    path = ROOT / "tests" / "proofs" / "claims" / f"test_{name}.py"
    assert path.is_file(), f"claim module proofs/claims/{name}.py has no test {path.relative_to(ROOT)}"


def test_every_module_is_registered_and_keys_are_unique():
    claims = all_claims()
    # the module-name rule of test_module_defines_a_complete_claim (key with every '.' -> '_'), so that keys with
    # several parts (zfb2024.thm4_2.prediction_error) count; module_to_key only splits off the paper
    assert sorted(k.replace(".", "_") for k in claims) == MODULES
    assert len(set(claims)) == len(MODULES)


def test_select_by_key_prefix_and_unknown():
    keys = [c.key for c in select(["ahn2023"])]
    assert "ahn2023.thm1" in keys and all(k.startswith("ahn2023.") for k in keys)
    assert [c.key for c in select(["ahn2023.thm1"])] == ["ahn2023.thm1"]
    assert [c.key for c in select(["ahn2023.thm1", "ahn2023.thm1"])] == ["ahn2023.thm1"]
    with pytest.raises(InputError, match="no registered claim matches 'nosuch'"):
        select(["nosuch"])


# --- what every claim must satisfy when run (the per-claim tests keep only their independent routes) ----------

KNOWN_INCONSISTENT: frozenset[str] = frozenset()  # steps whose figures contradict their status (none left)


@pytest.mark.parametrize("key", sorted(all_claims()))
def test_claim_runs_and_its_result_is_well_formed(key, claim_result):
    claim = all_claims()[key]
    res = claim_result(key)
    assert (res.key, res.source, res.statement) == (claim.key, claim.source, claim.statement)
    assert isinstance(res.verdict, Verdict) and res.verdict is not Verdict.ERROR
    assert res.steps and all(isinstance(s.status, Status) and isinstance(s.scope, Scope) for s in res.steps)
    assert res.verdict is scoped(overall(res.steps), claim.provenance)  # a non-READ failure: 'recorded reading fails'
    if res.verdict in (Verdict.REFUTED, Verdict.RECORDED_FAILS):
        assert res.finding and res.finding.strip(), f"{key} is refuted without a finding"
    d = res.to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back == d and back["verdict"] == res.verdict.value
    assert [s["status"] for s in back["steps"]] == [s.status.value for s in res.steps]
    if key not in KNOWN_INCONSISTENT:
        bad = [s.name for s in res.steps if not s.consistent]
        assert not bad, f"{key}: steps whose shown deviation/tolerance contradict their status: {bad}"


@pytest.mark.parametrize("key", sorted(KNOWN_INCONSISTENT))
def test_known_inconsistent_steps_are_still_there(key, claim_result):
    """Keeps KNOWN_INCONSISTENT honest: remove a key from it once its claim is converted."""
    assert any(not s.consistent for s in claim_result(key).steps)


def test_claims_keep_their_salt_and_default_salt_is_crc32():
    claims = all_claims()
    assert claims["ahn2023.thm1"].salt == 101 and claims["zfb2024.thm4_1"].salt == 307
    assert default_salt("ahn2023.thm1") == zlib.crc32(b"ahn2023.thm1")
    c = Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=lambda ctx: Checker())
    assert c.salt == zlib.crc32(b"x2000.y") == 1558610583  # stable across runs and machines (not hash()); binascii.crc32
    with pytest.raises(ValueError, match="salt"):
        Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=print, salt=-1)


def test_runner_hands_the_claim_and_its_stream_to_verify():
    seen = {}

    def verify(ctx):
        seen["claim"], seen["draw"] = ctx.claim, ctx.rng().random()
        chk = Checker()
        chk.close("one", 1.0, 1.0, Tolerance(atol=0.0, reason="equal"))
        return chk, "a note"

    c = Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=verify, salt=42)
    res = c.run(Context(seed=3))
    assert seen["claim"] is c and seen["draw"] == np.random.default_rng([3, 42]).random()
    assert (res.key, res.verdict, res.finding) == ("x2000.y", Verdict.CONFIRMED, "a note")
    with pytest.raises(ValueError, match="Claim.run"):
        Context().rng()
    with pytest.raises(TypeError, match="declare the stream by name"):
        Context().rng(7)  # the old integer salt at the call site is gone, with a pointer to streams
    bad = Claim(key="x2000.z", title="t", source="s", statement="st", notation="no", verify=lambda ctx: 1)
    with pytest.raises(TypeError, match="must return its Checker"):
        bad.run(Context())


def test_named_streams_are_declared_once_and_keep_their_salts():
    seen = {}

    def verify(ctx):
        seen["mc"] = ctx.stream("mc").random()
        seen["fit"] = ctx.stream("fit", 2, 3).random()
        with pytest.raises(KeyError, match="no random stream named 'nope'.*fit, mc"):
            ctx.stream("nope")
        with pytest.raises(TypeError, match="takes 2 index"):
            ctx.stream("fit", 1)
        with pytest.raises(TypeError, match="takes 0 index"):
            ctx.stream("mc", 1)
        chk = Checker()
        chk.decided("one", True, "ran")
        return chk

    c = Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=verify, salt=42,
              streams={"mc": 7, "fit": (1000, 100, 1)})
    c.run(Context(seed=3))
    assert seen["mc"] == np.random.default_rng([3, 7]).random()
    assert seen["fit"] == np.random.default_rng([3, 1203]).random()
    with pytest.raises(ValueError, match="Claim.run"):
        Context().stream("mc")
    for bad in ({"mc": -1}, {"m c": 1}, {"mc": 1.5}, {"mc": (5, 0)}, {"mc": ()}, {"mc": True}):
        with pytest.raises(ValueError, match="streams maps identifiers"):
            Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=verify, streams=bad)
    with pytest.raises(ValueError, match="salt 42 of the claim's salt"):
        Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=verify, salt=42,
              streams={"mc": 42})
    with pytest.raises(ValueError, match="salt 7 of stream 'a'"):
        Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=verify,
              streams={"a": 7, "b": 7})


def test_profiles_name_a_recipe_per_profile():
    sizes = Profiles(quick=dict(samples=40, cases=((1, 2),)), thorough=dict(samples=400, cases=((1, 2), (3, 4))))
    quick, thorough = sizes.at(Context()), sizes.at(Context(profile="thorough"))
    assert (quick.samples, quick.cases) == (40, ((1, 2),)) and (thorough.samples, len(thorough.cases)) == (400, 2)
    with pytest.raises(AttributeError, match="the quick recipe declares no size 'sample'"):
        _ = quick.sample  # a misspelt size is an error naming it
    with pytest.raises(ValueError, match=r"only one declares \['starts'\]"):
        Profiles(quick=dict(samples=4), thorough=dict(samples=40, starts=8))
    with pytest.raises(ValueError, match="identifiers"):
        Profiles(quick={"a b": 1}, thorough={"a b": 2})


def test_old_pattern_verify_returning_a_result_is_still_accepted():
    def verify(ctx):
        chk = Checker()
        chk.add(Step(name="hand-built", status="pass", detail="old keyword construction"))
        return chk.result("x2000.y", "s", "st")

    c = Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=verify)
    res = c.run(Context())
    assert res.verdict is Verdict.CONFIRMED and res.steps[0].status is Status.PASS


def test_template_runs_is_short_and_is_not_registered():
    from iclcheck.proofs.claims import _template

    path = ROOT / "proofs" / "claims" / "_template.py"
    assert len(path.read_text().splitlines()) < 40
    assert _template.CLAIM.key not in all_claims()
    res = _template.CLAIM.run(Context())
    assert res.verdict is Verdict.CONFIRMED and len(res.steps) >= 2


def test_claims_name_their_sizes_per_profile_and_their_streams():
    """Sizes of random instances are a recipe per profile (registry.Profiles), not `x if ctx.thorough else y` at a
    call site; random streams are declared by name (Claim.streams), not salted with an integer at the call site."""
    import ast

    bad = []
    for path in sorted((ROOT / "proofs" / "claims").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.IfExp) and ast.unparse(node.test) == "ctx.thorough":
                bad.append(f"{path.name}:{node.lineno} picks a size by profile inline (declare SIZES = Profiles(...))")
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "ctx.rng" and node.args:
                bad.append(f"{path.name}:{node.lineno} salts ctx.rng() at the call site (declare Claim.streams)")
    assert not bad, bad


def test_no_claim_imports_another_claim():
    for path in (ROOT / "proofs" / "claims").glob("*.py"):
        assert "from iclcheck.proofs.claims." not in path.read_text(), f"{path.name} imports another claim"


# --- typed verdicts and tolerances -------------------------------------------------------------------------------


def test_close_cannot_fail_while_showing_a_deviation_inside_its_tolerance():
    # the old close(): entry 1e-6 off by 1e-9 fails rtol=1e-6 entrywise, but showed max|c-e|/max|e| = 1e-9 <= 1e-6
    c, e = np.array([1.0, 1e-6 + 1e-9]), np.array([1.0, 1e-6])
    s = Checker().close("x", c, e, rtol=1e-6, reason="r")
    assert s.status is Status.FAIL and s.deviation > s.tolerance == 1e-6
    assert s.deviation == pytest.approx(1e-3, rel=1e-6)  # |c - e| / |e| at the failing entry, by hand
    ok = Checker().close("x", c, e, rtol=2e-3, reason="r")
    assert ok.status is Status.PASS and ok.deviation <= ok.tolerance


@pytest.mark.parametrize("rtol, atol", [(0.0, 1e-6), (1e-6, 0.0), (1e-6, 1e-9), (1e-3, 1e-2)])
def test_tolerance_decision_is_the_entrywise_rule_and_matches_its_figures(rtol, atol):
    rng = np.random.default_rng(0)
    tol = Tolerance(rtol=rtol, atol=atol, reason="r")
    for _ in range(300):
        e = rng.normal(size=4) * 10.0 ** rng.integers(-8, 3)
        c = e + rng.normal(size=4) * 10.0 ** rng.integers(-12, 0)
        ok, dev, shown = tol.check(c, e)
        assert ok == bool(np.all(np.abs(c - e) <= atol + rtol * np.abs(e))) == (dev <= shown)
        assert shown == (rtol or atol)


def test_tolerance_rejects_bad_numbers_and_close_needs_a_reason():
    with pytest.raises(ValueError):
        Tolerance(rtol=-1e-9)
    with pytest.raises(ValueError):
        Tolerance(atol=float("nan"))
    with pytest.raises(TypeError):
        Checker().close("x", 1.0, 1.0, atol=1e-9)
    with pytest.raises(TypeError):
        Checker().close("x", 1.0, 1.0, Tolerance(atol=1e-9, reason="r"), atol=1e-9)


def test_free_strings_are_rejected():
    with pytest.raises(ValueError, match="status"):
        Step("x", "maybe", "detail")
    with pytest.raises(ValueError, match="verdict"):
        ClaimResult(key="k", source="s", statement="st", verdict="maybe", steps=[])
    with pytest.raises(ValueError, match="scope"):
        Step("x", "pass", "detail", scope="published")
    assert Step("x", "pass", "d").status is Status.PASS  # the enum's own words are accepted
    assert ClaimResult(key="k", source="s", statement="st", verdict="error", steps=[]).verdict is Verdict.ERROR
    assert f"{Status.FAIL}|{Verdict.REFUTED}" == "fail|refuted" and json.dumps([Verdict.ERROR]) == '["error"]'


def test_hand_built_inconsistent_step_warns_and_typed_constructors_are_consistent():
    with pytest.warns(InconsistentStep):
        Step("x", "pass", "d", deviation=0.987, tolerance=0.9)
    chk = Checker()
    assert chk.at_least("floor", -1e-10, 0.0, slack=1e-9, detail="d").status is Status.PASS
    assert chk.at_least("floor", -1e-8, 0.0, slack=1e-9, detail="d").status is Status.FAIL
    assert chk.z_test("z", 5.0, 3.3, detail="d").status is Status.FAIL
    power = chk.z_test("power", 2.0, 3.3, detail="d", expect_zero=False)
    assert power.status is Status.INCONCLUSIVE and power.deviation is None
    assert chk.bounded("b", 0.0, 0.0, detail="d").status is Status.PASS
    assert chk.undecided("u", "d").status is Status.INCONCLUSIVE
    assert all(s.consistent for s in chk.steps) and overall(chk.steps) is Verdict.REFUTED


# --- released-code records in the report ------------------------------------------------------------------------


def _released_result():
    chk = Checker()
    chk.close("printed", 1.0, 2.0, atol=0.1, reason="r")
    with chk.as_released():
        chk.close("code's convention", 2.0, 2.0, atol=0.1, reason="r")
    return chk.result("x2000.y", "[X et al. 2000, Thm 1] arXiv 0000.00000", "st", finding="f")


def test_report_shows_released_code_and_both_verdicts(monkeypatch):
    from iclcheck.proofs import released
    from iclcheck.proofs.report import json_report, markdown_report, table_report

    rec = released.ReleasedCode(repo="owner/repo", commit="a" * 40, path="src/x.py", fact="uses 1/2 MSE",
                                differs=True)
    res = _released_result()
    assert res.verdict is Verdict.REFUTED and res.released_verdict is Verdict.CONFIRMED
    ctx = Context()
    plain_md = markdown_report([res], ctx, titles={})
    monkeypatch.setitem(released.RELEASED, "x2000.y", (rec,))
    md = markdown_report([res], ctx, titles={})
    ref = f"owner/repo@{'a' * 40}:src/x.py"
    assert f"Released code: `{ref}`: uses 1/2 MSE" in md
    assert "**refuted** as printed, **confirmed** as released" in md
    assert "Verdict as printed: **refuted**; as released: **confirmed**" in md
    assert "- **pass** [released] code's convention" in md
    table = table_report([res], titles={}, timings=False)
    assert "refuted as printed, confirmed as released" in table and f"released code {ref}: uses 1/2 MSE" in table
    j = json_report([res], ctx)["claims"][0]
    assert j["released_code"] == [rec.to_dict()]
    assert j["verdicts"] == {"as_printed": "refuted", "as_released": "confirmed"}
    # without records the claim renders as before (only the released step carries its scope tag)
    assert "Released code" not in plain_md and "as released" not in plain_md


# --- a finding may not generalise beyond what its steps checked ---------------------------------------------------
UNIVERSAL = re.compile(r"\b(always|never|every|for all)\b", re.IGNORECASE)
# what backs a universal sentence in its own words: an exact / symbolic check, or a stated range (a relation
# such as k >= 1, or a parenthesised enumeration with numbers: "(Thm 2, Thms 3-4, ...)", "(d = 2, n = 3)")
BACKING = re.compile(r"exact|symbolic|checked|[<>]=|\([^)]*\d[^)]*\)", re.IGNORECASE)


@pytest.mark.parametrize("key", sorted(all_claims()))
def test_universal_words_in_a_finding_are_backed_by_an_exact_step_or_a_stated_range(key, claim_result):
    res = claim_result(key)
    sentences = [s for s in re.split(r"(?<=[.;:])\s+", res.finding or "") if UNIVERSAL.search(s)]
    if not sentences:
        return
    assert any(s.exact for s in res.steps), f"{key}: universal finding without any exact step: {sentences[0]!r}"
    unbacked = [s for s in sentences if not BACKING.search(s)]
    assert not unbacked, f"{key}: universal sentence with no exact check or stated range: {unbacked[0]!r}"


def test_the_universal_word_rule_catches_an_unqualified_sentence():
    s = "The printed alpha always converges late."
    assert UNIVERSAL.search(s) and not BACKING.search(s)
    assert BACKING.search("holds for every k >= 1 (exact)") and BACKING.search("every use (Thm 2, Thms 3-4)")


def test_provenance_tags_are_validated_and_carried_into_the_result():
    from iclcheck.proofs.registry import PROVENANCE_TAGS
    from iclcheck.proofs.verdict import Checker

    def ok(ctx):
        chk = Checker()
        chk.decided("always passes here", True, "x")
        return chk

    with pytest.raises(ValueError, match="provenance"):
        Claim(key="zz2099.bad", title="t", source="s", statement="x", notation="x", verify=ok, provenance="GUESSED")
    c = Claim(key="zz2099.rec", title="t", source="s", statement="x", notation="x", verify=ok, provenance="3P+DERIVED")
    assert set(c.provenance.split("+")) <= set(PROVENANCE_TAGS) and not c.as_printed and c.paper == "zz2099"
    res = c.run(Context())
    assert res.provenance == "3P+DERIVED" and res.to_dict()["provenance"] == "3P+DERIVED"


def test_every_built_in_claim_moves_or_says_why_it_cannot_in_its_own_words():
    """A built-in claim that declares no parameters gives its own one-line reason (fixed=), naming what ties its
    statement or its check to its own setting; the registry's generic reason is a fallback for plugins only
    (docs/plugins.md), and stays theirs."""
    def noop(ctx):
        return Checker()

    generic = Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=noop).fixed_reason
    plugin = Claim(key="x2000.y", title="t", source="s", statement="st", notation="no", verify=noop,
                   origin="plugin x")
    assert plugin.fixed_reason == generic and "declares no parameters" in generic
    fixed = {k: c for k, c in all_claims(plugins=False).items() if not c.parameters}
    assert fixed, "some built-in claims run at their own settings only"
    missing = sorted(k for k, c in fixed.items() if not c.fixed.strip() or c.fixed_reason == generic)
    assert not missing, f"built-in claims that cannot move and do not say why (give fixed=...): {missing}"
    for key, c in fixed.items():
        assert c.fixed == c.fixed_reason and c.origin == "built-in", key
        assert len(c.fixed) <= 120 and "\n" not in c.fixed, f"{key}: fixed is one line of at most 120 characters"
        assert c.fixed[0].islower() and not c.fixed.endswith("."), f"{key}: fixed continues 'cannot be moved: ...'"
