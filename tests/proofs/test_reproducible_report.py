"""Same seed -> same report on any machine: the quick Markdown report must not depend on BLAS rounding.

Each run is a subprocess with OPENBLAS_CORETYPE forcing one OpenBLAS kernel (Prescott: SSE3-era code paths;
Haswell: AVX2/FMA), which changes the rounding of every matrix product. The kernel that actually runs is read
back with threadpoolctl, so the test cannot pass by comparing a kernel with itself.

The whole quick report is compared (about 15-45 s per kernel on a 2-core machine; the two kernels run side by side):
marked ``slow``, it runs in CI as a step of its own (.ci/run) and keeps ~30 s out of the default run, which keeps a
faster check of the claims whose numbers sat on a rounding knife-edge (Newton iteration counts at the boundary alpha).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

KERNELS = ("Prescott", "Haswell")
# Claims whose printed numbers still differ between the two kernels: none. The whole-report test requires the
# differing set to be exactly this, so a claim that starts printing rounding noise fails it.
KNOWN_BLAS_DEPENDENT: frozenset[str] = frozenset()
FAST_CLAIMS = ("fu2023.eq5", "fu2023.rates", "fu2023.illconditioned", "ahn2023.lemma1", "vonoswald2023.setup")

_PROBE = ("import json, numpy; from threadpoolctl import threadpool_info; "
          "print(json.dumps([i for i in threadpool_info() if i.get('internal_api') == 'openblas']))")
_REPORT = ("import sys; from iclcheck.cli.main import main; "
           "sys.exit(main(['verify', '--format', 'markdown', '--seed', '0', '--profile', 'quick'] + sys.argv[1:]))")


def _env(kernel: str) -> dict[str, str]:
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS="1")
    env.pop("OPENBLAS_VERBOSE", None)
    return env


def _architecture(kernel: str) -> str:
    out = subprocess.run([sys.executable, "-c", _PROBE], env=_env(kernel), capture_output=True, text=True,
                         check=True, timeout=120).stdout
    libs = json.loads(out)
    if not libs:
        pytest.skip("numpy is not linked against OpenBLAS: OPENBLAS_CORETYPE has no effect here")
    return libs[0].get("architecture", "?")


_JSON_OF: dict[str, dict] = {}  # kernel -> the JSON report written alongside its whole Markdown report


def _reports(keys: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Markdown report under each kernel of KERNELS, the runs side by side (each single-threaded: on two cores
    the pair takes the wall time of one run, not of two in a row)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: os.path.join(tmp, f"report-{k}.json") for k in KERNELS}
        # output to files, not pipes: a pipe read only after the other run ends could fill and stall this run
        files = {k: (open(os.path.join(tmp, f"{k}.out"), "w+"), open(os.path.join(tmp, f"{k}.err"), "w+"))
                 for k in KERNELS}
        procs = {k: subprocess.Popen([sys.executable, "-c", _REPORT, *keys, "--report", paths[k]], env=_env(k),
                                     stdout=files[k][0], stderr=files[k][1], text=True) for k in KERNELS}
        outs = {}
        try:
            for k, p in procs.items():
                p.wait(timeout=600)
                out, err = (f.seek(0) or f.read() for f in files[k])
                assert p.returncode == 0, err[-2000:]
                outs[k] = out
        finally:
            for k, p in procs.items():
                if p.poll() is None:
                    p.kill()
                    p.wait()
                for f in files[k]:
                    f.close()
        if not keys:
            for k in KERNELS:
                with open(paths[k]) as f:
                    _JSON_OF[k] = json.load(f)
    return tuple(outs[k] for k in KERNELS)


# The JSON report carries every float in full double precision (docs/json.md, "Reproducibility"): its last digits
# may move with the BLAS kernel. What must not move: its structure, every string (verdicts, statuses, step names,
# details), and any number by more than JSON_FLOAT_SLACK * max(1, |x|) (measured worst: 3e-10, a finite-difference
# value at rounding level; 2e-11 on a Monte Carlo-free tolerance). 'seconds' are timings.
JSON_FLOAT_SLACK = 1e-7
# Claims whose JSON floats may move by more than the slack, and why. Their strings (verdicts, statuses, names,
# details) must still agree; the Markdown report shows their numbers at 3 digits, identical on both kernels.
JSON_ROUNDING_SENSITIVE = {
    "fu2023.rates": "Newton's method at the boundary step alpha = 2/||S S^T||_2 stalls with a zero mode: the stalled "
                    "relative error (>= 0.011 on every prompt) is decided by rounding (0.011016 vs 0.011021 measured)",
}


def json_differences(a, b, path: str = "") -> list[str]:
    """Where two JSON reports differ beyond the documented slack (timings excepted)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a if k != "seconds" for d in json_differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in json_differences(x, y, f"{path}[{i}]")]
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        return [] if abs(a - b) <= JSON_FLOAT_SLACK * max(1.0, abs(a), abs(b)) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _kernels_differ() -> tuple[str, str]:
    pytest.importorskip("threadpoolctl")
    archs = tuple(_architecture(k) for k in KERNELS)
    # OpenBLAS reports Prescott as its generic SSE3 core name on some builds (e.g. 'Katmai'); what matters is that
    # the two runs use different kernels.
    assert archs[0] != archs[1], f"OPENBLAS_CORETYPE did not change the kernel: {archs}"
    return archs


def claims_of_differing_lines(a: str, b: str) -> set[str]:
    """Claim keys owning the lines that differ between two Markdown reports (table row, finding bullet, or the
    claim's <details> block); '?' for a differing line outside every claim."""
    la, lb = a.splitlines(), b.splitlines()
    assert len(la) == len(lb), "the reports differ in length"
    owners, current = set(), None
    for x, y in zip(la, lb, strict=True):
        m = re.search(r"<summary><code>([^<]+)</code>", x)
        if m:
            current = m.group(1)
        if x != y:
            m = re.match(r"^(?:\| |- )`([^`]+)`", x)
            owners.add(m.group(1) if m else (current or "?"))
    return owners


def test_claims_once_on_a_rounding_knife_edge_give_identical_bytes_under_two_kernels():
    _kernels_differ()
    a, b = _reports(FAST_CLAIMS)
    assert "fu2023.eq5" in a and "printed" in a
    assert a == b, f"differs in {sorted(claims_of_differing_lines(a, b))}"


@pytest.mark.slow  # the whole quick report twice (~30 s): CI runs it as its own step (.ci/run)
def test_quick_markdown_report_is_identical_under_two_kernels_except_known_claims():
    _kernels_differ()
    a, b = _reports()
    differing = claims_of_differing_lines(a, b)
    assert differing == KNOWN_BLAS_DEPENDENT, (
        f"BLAS-dependent claims: {sorted(differing)}; known: {sorted(KNOWN_BLAS_DEPENDENT)} "
        "(a new one must be fixed; a fixed one must leave KNOWN_BLAS_DEPENDENT)")
    ja, jb = (_JSON_OF[k] for k in KERNELS)
    assert len(ja["claims"]) >= 40 and ja["summary"]["counts"] == jb["summary"]["counts"]
    sensitive = [i for i, c in enumerate(ja["claims"]) if c["key"] in JSON_ROUNDING_SENSITIVE]
    bad = json_differences(ja, jb)
    bad = [d for d in bad if not any(d.startswith(f".claims[{i}].") for i in sensitive)
           or not _numbers(d)]
    assert not bad, f"{len(bad)} JSON differences beyond the slack, e.g. {bad[:5]}"


def _numbers(difference: str) -> bool:
    """True when a json_differences line compares two numbers."""
    left, _, right = difference.partition(": ")[2].partition(" != ")
    try:
        float(left), float(right)
    except ValueError:
        return False
    return True


def test_json_differences_honours_the_slack_and_nothing_else():
    a = {"v": "confirmed", "x": [1.0, 1e-12], "seconds": 1.0}
    assert json_differences(a, {"v": "confirmed", "x": [1.0 + 1e-9, -1e-12], "seconds": 9.0}) == []
    assert json_differences(a, {"v": "refuted", "x": [1.0, 1e-12], "seconds": 1.0}) == [".v: 'confirmed' != 'refuted'"]
    assert len(json_differences(a, {"v": "confirmed", "x": [1.001, 1e-12], "seconds": 1.0})) == 1
    assert json_differences(a, {"v": "confirmed", "x": [1.0], "seconds": 1.0}) == [".x: lengths 2 != 1"]


def test_claim_attribution_of_differing_lines():
    a = "| `x.a` | 1 |\n- `x.b` (refuted): 2\n<summary><code>x.c</code>: ok</summary>\n- **pass** step 3\nend"
    b = "| `x.a` | 1 |\n- `x.b` (refuted): 9\n<summary><code>x.c</code>: ok</summary>\n- **pass** step 4\nend"
    assert claims_of_differing_lines(a, b) == {"x.b", "x.c"}
    assert claims_of_differing_lines(a, a) == set()


def _script():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "scripts" / "update_readme_status.py"
    spec = importlib.util.spec_from_file_location("update_readme_status", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_update_readme_status_check_names_the_difference_and_the_blas(tmp_path, monkeypatch, capsys):
    mod = _script()
    brief, report = "table v1", "table v1\n\nEach claim's checked steps:\n- step 1\n"
    monkeypatch.setattr(mod, "render", lambda: (brief, report))
    readme, full = tmp_path / "README.md", tmp_path / "docs" / "VERIFICATION.md"
    readme.write_text(f"head\n{mod.BEGIN}\nold\n{mod.END}\ntail\n")
    args = ["--readme", str(readme), "--full", str(full)]
    assert mod.main([*args, "--check"]) == 1  # stale: README block old, VERIFICATION.md missing
    err = capsys.readouterr().err
    assert "out of date" in err and "BLAS:" in err and "+table v1" in err and "-old" in err
    assert mod.main(args) == 0  # regenerate
    assert "table v1" in readme.read_text() and "- step 1" in full.read_text() and "step 1" not in readme.read_text()
    assert mod.main([*args, "--check"]) == 0
    monkeypatch.setattr(mod, "render", lambda: (brief.replace("v1", "v2"), report.replace("v1", "v2")))  # a number moved
    assert mod.main([*args, "--check"]) == 1
    assert "-table v1" in capsys.readouterr().err


def test_readme_block_is_compact_and_names_every_other_verdict():
    """The README's block: the counts, one row per paper, every claim whose verdict is not 'confirmed' named with
    its verdict (the findings themselves live in docs/VERIFICATION.md)."""
    from iclcheck.proofs.verdict import ClaimResult, Verdict

    mod = _script()
    rs = [ClaimResult(key="p2020.a", source="s", statement="x", verdict=Verdict.CONFIRMED, steps=[]),
          ClaimResult(key="p2020.b", source="s", statement="x", verdict=Verdict.INCONCLUSIVE, steps=[]),
          ClaimResult(key="q2021.c", source="s", statement="x", verdict=Verdict.CONFIRMED, steps=[])]
    text = mod.compact(rs, seed=0, profile="quick")
    assert "3 claims from 2 papers" in text
    assert "| p2020 | 2 | 1 | `p2020.b` **inconclusive** |" in text
    assert "| q2021 | 1 | 1 | - |" in text
