"""Fuzzing the command line (issue "Trust" points 5, 7, 8): whatever the user types, the CLI answers with
exit 0 (finite numbers in any JSON), 2 (bad input: one line on stderr) or 3 (a valid input whose answer
cannot be computed to the promised accuracy: one line), never a traceback, an internal error or a hang.

Two parts: Hypothesis over the option grammar (random SPEC strings, numbers including inf / nan / huge
/ negative / unicode digits, files of random bytes), run in-process with an alarm against hangs; and a
table of concrete cases from the issue, each run as a fresh process with a timeout. Cases of commands
owned by other engineers are marked with the command name.
The default profiles draw few examples (well under a minute); HYPOTHESIS_PROFILE=thorough draws 300.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iclcheck.cli.main import main

OK_CODES = {0, 2, 3}
ALARM_S = 60  # an example that takes longer than this is a hang


@contextlib.contextmanager
def _alarm(seconds: int):
    def boom(signum, frame):
        raise TimeoutError(f"hang: no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with _alarm(ALARM_S), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors, --help
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _all_finite(obj) -> bool:
    """No float anywhere in the JSON is inf or nan (json.loads would give them for Infinity / NaN)."""
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_all_finite(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_all_finite(v) for v in obj)
    return True  # strings, ints, bools, None (a null number is caught by _no_nulls_in_numbers)


def _no_nulls_in_numbers(out: dict) -> bool:
    """Every numeric field of precond / loss JSON output is a finite float (to_jsonable maps nan/inf to None)."""
    vals = []
    if "loss" in out:
        vals.append(out["loss"])
    if out.get("gamma") is not None:
        vals += [v for r in out["gamma"] for v in r]
    return all(isinstance(v, float) and math.isfinite(v) for v in vals)


def check_outcome(argv: list[str], code: int, out: str, err: str) -> None:
    assert code in OK_CODES, (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code != 0:
        assert err.strip() and len(err.strip().splitlines()) == 1, (argv, err)
    if code == 0 and "--format" in argv and argv[argv.index("--format") + 1] == "json":
        data = json.loads(out)
        assert _all_finite(data) and _no_nulls_in_numbers(data), (argv, out[:500])


# --- strategies ------------------------------------------------------------------------------------------

SPECIAL_NUMBERS = ["0", "-0", "1", "-1", "1e155", "1e300", "1e-300", "1e-200", "1e400", "inf", "-inf", "nan",
                   "NaN", "1/0", "0/0", "1/3", "-2/7", "\u0663", "\uff11", "1_000", "0x10", "1e", ".", "", " ",
                   "9" * 70, "1e999", "1e-999", "2**3", "__import__('os')", "1,2"]
numbers = st.one_of(
    st.sampled_from(SPECIAL_NUMBERS),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.fractions(max_denominator=1000).map(str),
    st.text(alphabet="0123456789.-+e/ \u0663", max_size=8),
)
small_dim = st.integers(0, 6).map(str)
dims = st.one_of(small_dim, st.sampled_from(["10001", "1000000000", "-1", "\u0663", "2.5", "", "99999999999"]))
specs = st.one_of(
    dims.map(lambda d: f"eye:{d}"),
    st.lists(numbers, min_size=0, max_size=5).map(lambda v: "diag:" + ",".join(v)),
    st.tuples(dims, numbers, st.one_of(numbers, st.integers(-5, 2**64).map(str))).map(
        lambda t: f"random:d={t[0]},cond={t[1]},seed={t[2]}"),
    st.text(max_size=20),
    st.sampled_from(["inv", "eye", "diag", "random:", "random:d=2", "random:d=2,cond=1,x=1", ":", "eye:2:3"]),
)
ns = st.one_of(st.integers(-3, 50).map(str), st.sampled_from(["n", "0", "10**3", "1e3", "\u0663", "", str(10**30),
                                                              str(10**15), "1000000000000"]), numbers)
FORMATS = st.sampled_from(["table", "json", "latex"])


@st.composite
def precond_argv(draw):
    argv = ["precond", "--cov", draw(specs), "-n", draw(ns), "--format", draw(FORMATS)]
    if draw(st.booleans()):
        argv += ["--task-cov", draw(specs)]
    if draw(st.booleans()):
        argv += ["--noise", draw(numbers)]
    if draw(st.booleans()):
        argv += ["--covariates", draw(st.sampled_from(["gaussian", "uniform", "rademacher", "cauchy"]))]
    if draw(st.booleans()):
        argv.append("--exact")
    return argv


FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                               HealthCheck.function_scoped_fixture])


@FUZZ_SETTINGS
@given(precond_argv())
def test_precond_grammar_fuzz(argv):
    check_outcome(argv, *run_in_process(argv))


@FUZZ_SETTINGS
@given(specs, ns, numbers, st.sampled_from(["json", "table"]))
def test_loss_symbolic_fuzz(cov, n, noise, fmt):
    argv = ["loss", "--cov", cov, "-n", n, "--noise", noise, "--symbolic", "--format", fmt]
    check_outcome(argv, *run_in_process(argv))


@FUZZ_SETTINGS
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".npy", ".csv", ".json"]),
       prefix=st.sampled_from([b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"PK\x03\x04", b"[[", b"1,0\n"]),
       where=st.sampled_from(["--cov", "--task-cov"]))
def test_random_bytes_as_covariance_files(tmp_path_factory, data, suffix, prefix, where):
    path = tmp_path_factory.mktemp("fuzz") / f"m{suffix}"
    path.write_bytes(prefix + data)
    argv = ["precond", "--cov", "eye:2", "-n", "3", "--format", "json"]
    argv = ["precond", "--cov", str(path), "-n", "3", "--format", "json"] if where == "--cov" else \
        argv + ["--task-cov", str(path)]
    check_outcome(argv, *run_in_process(argv))


@FUZZ_SETTINGS
@given(data=st.binary(max_size=800), prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00"]))
def test_random_bytes_as_params(tmp_path_factory, data, prefix):
    path = tmp_path_factory.mktemp("fuzz") / "pq.npz"
    path.write_bytes(prefix + data)
    argv = ["loss", "--cov", "eye:2", "-n", "3", "--params", str(path), "--format", "json"]
    check_outcome(argv, *run_in_process(argv))


@FUZZ_SETTINGS
@given(P=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=9, max_size=9),
       Q=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=9, max_size=9))
def test_extreme_params_values(tmp_path_factory, P, Q):
    path = tmp_path_factory.mktemp("fuzz") / "pq.npz"
    np.savez(path, P=np.array(P).reshape(3, 3), Q=np.array(Q).reshape(3, 3))
    argv = ["loss", "--cov", "diag:1,2", "-n", "4", "--params", str(path), "--format", "json"]
    check_outcome(argv, *run_in_process(argv))


# --- the concrete cases of the issue, as fresh processes with a timeout ---------------------------------


def _files(tmp: str) -> dict[str, str]:
    from numpy.lib import format as npf

    f = {"fifo": os.path.join(tmp, "fifo.npy"), "fifo_csv": os.path.join(tmp, "fifo.csv"),
         "fifo_npz": os.path.join(tmp, "fifo.npz"), "zero": os.path.join(tmp, "zero.npy"),
         "lies": os.path.join(tmp, "lies.npy"), "deep": os.path.join(tmp, "deep.json"),
         "zeros": os.path.join(tmp, "zeros.npy"), "garbage": os.path.join(tmp, "garbage.npy")}
    for k in ("fifo", "fifo_csv", "fifo_npz"):
        os.mkfifo(f[k])
    os.symlink("/dev/zero", f["zero"])
    with open(f["lies"], "wb") as fh:  # 200 bytes whose header claims 100000 x 100000
        npf.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
        fh.write(b"\0" * (200 - fh.tell()))
    with open(f["deep"], "w") as fh:
        fh.write("[" * 200_000 + "]" * 200_000)
    with open(f["zeros"], "wb") as fh:
        fh.write(b"\0" * 200)
    with open(f["garbage"], "wb") as fh:
        fh.write(bytes(range(256)) * 2)
    return f


# (argv, expected exit status, fragment of the one-line message); {name} is a file from _files
CASES = [
    (["precond", "--cov", "diag:1e155", "-n", "4"], 2, "too large"),
    (["precond", "--cov", "eye:2", "-n", "4", "--noise", "1e300"], 2, "exceeds 1e+40"),
    (["precond", "--cov", "diag:1e-200,1e-200", "-n", "4", "--exact"], 2, "too small"),
    (["loss", "--cov", "eye:2", "-n", "4", "--noise", "1e300", "--symbolic"], 2, "exceeds 1e+40"),
    (["precond", "--cov", "eye:2", "-n", "1" + "0" * 30], 2, "at most"),
    (["precond", "--cov", "{fifo}", "-n", "3"], 2, "FIFO"),
    (["precond", "--cov", "{fifo_csv}", "-n", "3"], 2, "FIFO"),
    (["precond", "--cov", "eye:2", "--task-cov", "{fifo}", "-n", "3"], 2, "FIFO"),
    (["loss", "--cov", "eye:2", "-n", "3", "--params", "{fifo_npz}"], 2, "FIFO"),
    (["precond", "--cov", "{zero}", "-n", "3"], 2, "character device"),
    (["precond", "--cov", "{lies}", "-n", "3"], 2, "supported maximum side"),
    (["precond", "--cov", "{deep}", "-n", "3"], 2, "nested deeper"),
    (["precond", "--cov", "{zeros}", "-n", "3"], 2, "not a .npy file"),
    (["precond", "--cov", "{garbage}", "-n", "3"], 2, "not a .npy file"),
    (["loss", "--cov", "eye:50", "-n", "3", "--symbolic"], 2, "d <= 10"),
    (["precond", "--cov", "eye:1000000000", "-n", "3"], 2, "exceeds the supported maximum 10000"),
    (["precond", "--cov", "eye:\u0663", "-n", "3"], 2, "ASCII"),
    (["precond", "--cov", "diag:1,2", "-n", "\u0663"], 2, "positive integer"),
    (["precond", "--cov", "eye:2", "--task-cov", "diag:1e-300,1e-300", "-n", "3"], 2, "too small"),
    (["precond", "--cov", "random:d=3,cond=10,seed=-1", "-n", "3"], 2, "non-negative integer"),
    (["verify", "--seed", "-1"], 2, "non-negative integer"),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--seed", "-1"], 2, "non-negative integer"),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--rotate", "-3"], 2, "non-negative integer"),
    (["train", "--cov", "eye:2", "-n", "5", "-L", "1", "--seed", "-1"], 2, "non-negative integer"),
    (["train", "--cov", "eye:2", "-n", "5", "-L", "1", "--steps", "\u0663"], 2, "positive integer"),
    # other owners' commands (their option bounds): checked here so the merged suite holds them to it
    pytest.param(["compare", "--cov", "eye:2", "-n", "1000000", "-L", "1"], 2, "-n:", id="compare-n-bound"),
    pytest.param(["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--samples", "1000000000"], 2, "--samples:",
                 id="compare-samples-bound"),
    pytest.param(["compare", "--cov", "eye:50", "-n", "5000", "-L", "1", "--samples", "100000"], 2, "GiB",
                 id="compare-memory-bound"),
    pytest.param(["critical", "--cov", "eye:2", "-n", "5", "--starts", "-1"], 2, "--starts:", id="critical-starts"),
    pytest.param(["critical", "--cov", "eye:2", "-n", "5", "--seed", "-1"], 2, "--seed:", id="critical-seed"),
    pytest.param(["layers", "-n", "5", "-L", "-1"], 2, "-L:", id="layers-L"),
]


@pytest.fixture(scope="module")
def issue_files(tmp_path_factory):
    return _files(str(tmp_path_factory.mktemp("issue")))


@pytest.mark.parametrize(("argv", "code", "fragment"), CASES)
def test_issue_cases_one_line_and_the_right_exit(issue_files, argv, code, fragment):
    argv = [a.format(**issue_files) for a in argv]
    try:
        res = subprocess.run([sys.executable, "-m", "iclcheck", *argv], capture_output=True, text=True, timeout=30,
                             env={**os.environ, "ICLCHECK_DEBUG": ""})
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: {argv} gave no answer within 30 s")
    err = res.stderr.strip()
    assert res.returncode == code, (argv, res.returncode, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
    assert fragment in err, (argv, err)


# --- the grammar widened to the commands and options added since (issue 22, point 15-17) -----------------
# sweep, check-weights, new-claim, verify --claims, --out, --test-*, --bayes, layers; and the Python API.
# Heavy commands draw fewer examples (HEAVY: a fifth of the profile's count, at least 3); sweep starts a Dask
# cluster, so it runs as a fresh process with a timeout. Every path is inside a temporary folder.

HEAVY = settings(FUZZ_SETTINGS, max_examples=max(3, settings.default.max_examples // 5))
LIGHT = settings(FUZZ_SETTINGS, max_examples=max(5, settings.default.max_examples // 2))


@pytest.fixture(scope="module")
def odd_paths(tmp_path_factory):
    """Output / input paths of every kind: fresh, existing regular file, FIFO, /dev/zero behind a symlink, a
    directory, a dangling symlink, an uncreatable path, an empty name, a wrong suffix."""
    tmp = tmp_path_factory.mktemp("odd")
    (tmp / "exists.npy").write_bytes(b"old")
    (tmp / "exists.npz").write_bytes(b"old")
    for name in ("fifo.npy", "fifo.npz", "fifo.png", "fifo.py"):
        os.mkfifo(tmp / name)
    for name in ("zero.npy", "zero.npz", "zero.png", "zero.py"):
        os.symlink("/dev/zero", tmp / name)
    (tmp / "dir.npy").mkdir()
    (tmp / "dir.png").mkdir()
    os.symlink(tmp / "nowhere" / "x.npy", tmp / "dangling.npy")
    return tmp


def _out_choices(tmp, suffixes):
    names = [f"new{s}" for s in suffixes] + [f"exists{s}" for s in suffixes if s in (".npy", ".npz")]
    names += [f"fifo{s}" for s in suffixes] + [f"zero{s}" for s in suffixes] + [f"dir{s}" for s in suffixes]
    names += ["dangling.npy", "x.txt", "missing/x" + suffixes[0]]
    return st.one_of(st.sampled_from([str(tmp / n) for n in names]),
                     st.sampled_from(["", " ", "/proc/iclcheck-fuzz" + suffixes[0], "/dev/null"]))


@st.composite
def precond_more_argv(draw, tmp):
    """precond with --bayes, the --test-* setting and --out (regular file or not)."""
    argv = ["precond", "--cov", draw(st.one_of(specs, st.sampled_from(["eye:2", "diag:1,2", "eye:20"]))),
            "-n", draw(st.one_of(ns, st.sampled_from(["2", "5"]))), "--format", draw(st.sampled_from(["table",
                                                                                                        "json"]))]
    if draw(st.booleans()):
        argv += ["--noise", draw(st.one_of(numbers, st.sampled_from(["1e-30", "1e-320", "5e-324"])))]
    if draw(st.booleans()):
        argv.append("--bayes")
    for flag, strat in (("--test-cov", specs), ("--test-n", ns), ("--test-task-cov", specs),
                        ("--test-noise", numbers),
                        ("--test-covariates", st.sampled_from(["gaussian", "uniform", "rademacher", "x"]))):
        if draw(st.integers(0, 3)) == 0:
            argv += [flag, draw(strat)]
    if draw(st.booleans()):
        argv += ["--out", draw(_out_choices(tmp, (".npy", ".npz")))]
    return argv


@LIGHT
@given(data=st.data())
def test_precond_bayes_test_setting_out_fuzz(odd_paths, data):
    argv = data.draw(precond_more_argv(odd_paths))
    code, out, err = run_in_process(argv)
    check_outcome(argv, code, out, err)
    for name in ("fifo.npy", "fifo.npz"):  # a refused output is never replaced
        assert os.path.exists(odd_paths / name) and not os.path.isfile(odd_paths / name)


@LIGHT
@given(data=st.data())
def test_layers_fuzz(odd_paths, data):
    argv = ["layers", "-n", data.draw(st.one_of(ns, st.sampled_from(["5", "20"]))),
            "-L", data.draw(st.one_of(st.integers(-2, 25).map(str), st.sampled_from(["100000", "1e3", "", "\u0663"]))),
            "--family", data.draw(st.sampled_from(["gd", "gdpp"]))]
    if data.draw(st.booleans()):
        argv += ["--starts", data.draw(st.one_of(st.integers(-1, 4).map(str),
                                                 st.sampled_from(["100001", "1e9", "1000000000", "0"])))]
    if data.draw(st.booleans()):
        argv += ["--seed", data.draw(st.one_of(st.integers(-2, 2**64).map(str), st.sampled_from(["x", ""])))]
    if data.draw(st.booleans()):
        argv += ["--noise", data.draw(numbers)]
    if data.draw(st.booleans()):
        argv += ["--cov", data.draw(specs)]
    # gdpp at L = 3 is the exact multistart (~20 s); the grammar keeps it to small L unless refused earlier
    if "gdpp" in argv and argv[argv.index("-L") + 1] == "3":
        argv[argv.index("-L") + 1] = "2"
    check_outcome(argv, *run_in_process(argv))


@st.composite
def weights_file(draw, tmp):
    """A .npz / .safetensors file: random bytes, or arrays of random shapes and values (also 1000 layers)."""
    kind = draw(st.sampled_from(["bytes", "arrays", "deep", "odd"]))
    if kind == "odd":
        return str(tmp / draw(st.sampled_from(["fifo.npz", "zero.npz", "dir.npy", "dangling.npy", "nope.npz"])))
    path = tmp / f"w{draw(st.integers(0, 10**9))}{draw(st.sampled_from(['.npz', '.safetensors', '.pt', '.npy']))}"
    if kind == "bytes":
        path.write_bytes(draw(st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00"])) + draw(st.binary(max_size=300)))
        return str(path)
    L = 1000 if kind == "deep" else draw(st.integers(1, 3))
    D = draw(st.integers(1, 4))
    val = draw(st.sampled_from([0.0, 1.0, -1.0, 1e200, 1e-300, float("nan"), float("inf")]))
    names = draw(st.sampled_from([("P", "Q"), ("W_K", "W_Q", "W_V"), ("P",), ("W_PV", "W_KQ"), ("x",)]))
    arrays = {k: np.full((L, D, D), val) for k in names}
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    else:
        path.write_bytes(b"not really")
    return str(path)


@HEAVY
@given(data=st.data())
def test_check_weights_fuzz(odd_paths, data):
    argv = ["check-weights", data.draw(weights_file(odd_paths)), "--cov",
            data.draw(st.one_of(st.sampled_from(["eye:2", "eye:3", "diag:1,2"]), specs)),
            "-n", data.draw(st.one_of(st.sampled_from(["3", "10"]), ns)),
            "--convention", data.draw(st.sampled_from(["canonical", "ahn", "vonoswald", "zhang", "pytorch"])),
            "--samples", data.draw(st.one_of(st.sampled_from(["100", "1000"]), st.integers(-5, 10**9).map(str))),
            "--format", data.draw(st.sampled_from(["table", "json"]))]
    check_outcome(argv, *run_in_process(argv))


@LIGHT
@given(data=st.data())
def test_new_claim_fuzz(odd_paths, data):
    key = data.draw(st.one_of(st.sampled_from(["smith2024.thm2", "a2024.b", "ahn2023.thm1", "x"]),
                              st.text(max_size=30)))
    sub = data.draw(st.text(alphabet="ab/._- \u0663", max_size=30))
    sub = "/".join(p for p in sub.split("/") if p not in ("..", "")) or "d"
    base = odd_paths / f"claims{data.draw(st.integers(0, 10**9))}"
    choice = data.draw(st.sampled_from(["fresh", "deep", "file", "fifo"]))
    folder = {"fresh": base / sub, "deep": base / "/".join(["a"] * data.draw(st.integers(250, 2500))),
              "file": odd_paths / "exists.npy", "fifo": odd_paths / "fifo.py"}[choice]
    argv = ["new-claim", key, "--dir", str(folder)]
    if data.draw(st.booleans()):
        argv += ["--tests-dir", str(base / "tests")]
    code, out, err = run_in_process(argv)
    check_outcome(argv, code, out, err)
    if code == 0:  # written inside the temporary folder, nowhere else
        assert str(odd_paths) in out


@st.composite
def claims_file(draw, tmp):
    """A --claims PATH: junk Python, a module without CLAIM, a CLAIM of the wrong type, a FIFO, a directory."""
    kind = draw(st.sampled_from(["junk", "text", "odd"]))
    if kind == "odd":
        return str(tmp / draw(st.sampled_from(["fifo.py", "zero.py", "dir.png", "nope.py"])))
    path = tmp / f"c{draw(st.integers(0, 10**9))}.py"
    if kind == "junk":
        path.write_bytes(draw(st.binary(max_size=200)))
    else:
        path.write_text(draw(st.sampled_from(["", "CLAIM = 1\n", "x = (\n", "raise ValueError('boom')\n",
                                              "CLAIM = None\n", "import sys\nsys.setrecursionlimit(10)\n"
                                              "CLAIM = 'ahn2023.thm1'\n", "def f(:\n", "\ufeffCLAIM = []\n"])))
    return str(path)


@HEAVY
@given(data=st.data())
def test_verify_claims_fuzz(odd_paths, data):
    # at least one key that matches no claim: the selection is refused after the file is read, so no claim runs
    # (without keys, verify runs every claim beside a broken file: ~40 s, not a fuzz case)
    keys = data.draw(st.lists(st.one_of(st.text(alphabet="zq.0_-!\u0663 ", min_size=1, max_size=10),
                                        st.sampled_from(["zz2099.x", "nope", "."])), min_size=1, max_size=2))
    argv = ["verify", *keys, "--claims", data.draw(claims_file(odd_paths))]
    if data.draw(st.booleans()):
        argv += ["--seed", data.draw(st.one_of(st.integers(-2, 2**64).map(str), st.just("x")))]
    check_outcome(argv, *run_in_process(argv))


@st.composite
def sweep_argv(draw, tmp):
    lists = st.lists(st.one_of(numbers, st.sampled_from(["1", "2", "3"])), min_size=0, max_size=3).map(",".join)
    argv = ["sweep", "--quiet"]
    for flag in ("--d", "--cond", "-n", "--noise", "--law", "--cov-seed"):
        if draw(st.booleans()):
            argv += [flag, draw(lists if flag != "--law" else st.sampled_from(["gaussian", "x", "", "uniform,x"]))]
    if draw(st.integers(0, 4)) == 0:
        g = tmp / f"g{draw(st.integers(0, 10**9))}{draw(st.sampled_from(['.toml', '.json', '.txt']))}"
        g.write_bytes(draw(st.sampled_from([b"[grid]\nd = [", b'{"grid": {"d": [1e999]}}', b"", b"\xff\xfe"]))
                      + draw(st.binary(max_size=60)))
        argv += ["--grid", str(g)]
    out = draw(st.sampled_from(["new", "fifo.npy", "exists.npy", "dir.png", "zero.png", "", "/proc/x"]))
    argv += ["--out", str(tmp / f"sw{draw(st.integers(0, 10**9))}") if out == "new" else
             (out if out in ("", "/proc/x") else str(tmp / out))]
    argv += ["--starts", draw(st.one_of(st.integers(-1, 3).map(str), st.sampled_from(["100000", "1e3"])))]
    if draw(st.booleans()):
        argv += ["--plot", draw(_out_choices(tmp, (".png",)))]
    return argv


@HEAVY
@given(data=st.data())
def test_sweep_fuzz(odd_paths, data):
    """As a fresh process (a valid grid starts a local Dask cluster); d is kept small so a valid sweep is quick."""
    argv = data.draw(sweep_argv(odd_paths))
    if "--d" in argv:
        i = argv.index("--d") + 1
        argv[i] = ",".join(v if not v.isdigit() or int(v) <= 3 else "2" for v in argv[i].split(","))
    try:
        res = subprocess.run([sys.executable, "-m", "iclcheck", *argv], capture_output=True, text=True, timeout=180,
                             env={**os.environ, "ICLCHECK_DEBUG": ""})
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: {argv} gave no answer within 180 s")
    check_outcome(argv, res.returncode, res.stdout, res.stderr)


# --- the Python API: junk arguments raise only the documented error types ------------------------------------

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.binary(max_size=8), st.sampled_from([[], [[]], [[1, 2]], {}, (), np.array(2.0),
                                                                  np.zeros((2, 3)), np.full((2, 2), np.nan),
                                                                  "inv", "gaussian", object(), -1, 0, 2**64, 1e-300]),
)


@LIGHT
@given(data=st.data())
def test_api_junk_arguments_raise_documented_errors(data):
    """Every public function called with junk in one argument (the others valid) returns or raises InputError /
    NumericalFailure, never a bare TypeError / ValueError / LinAlgError (save/load_weights are fuzzed with the
    weights files above)."""
    import iclcheck
    from iclcheck.theory.errors import InputError, NumericalFailure

    st2 = iclcheck.setting(np.eye(2), 5, Sigma_w="inv")
    P = np.zeros((3, 3))
    calls = {
        "setting": lambda j, k: iclcheck.setting(**{"Sigma": np.eye(2), "n": 5, **{k: j}}),
        "gamma_star": lambda j, k: iclcheck.gamma_star(j),
        "min_loss": lambda j, k: iclcheck.min_loss(j),
        "loss": lambda j, k: iclcheck.loss(**{"setting": st2, "P": P, "Q": P, "samples": 200, **{k: j}}),
        "critical_points": lambda j, k: iclcheck.critical_points(**{"setting": st2, "starts": 2, **{k: j}}),
        "certify": lambda j, k: iclcheck.certify(**{"setting": st2, **{k: j}}),
        "optimal_layers": lambda j, k: iclcheck.optimal_layers(**{"setting": st2, "L": 2, **{k: j}}),
        "verify": lambda j, k: iclcheck.verify(**{"keys": "zz2099.none", **{k: j}}),
        "check_weights": lambda j, k: iclcheck.check_weights(**{"path_or_arrays": {"P": P, "Q": P},
                                                                "setting": st2, "samples": 200, **{k: j}}),
    }
    params = {"setting": ["Sigma", "n", "Sigma_w", "sigma2", "law"], "gamma_star": ["setting"], "min_loss": ["setting"],
              "loss": ["setting", "P", "Q", "samples", "seed"], "critical_points": ["setting", "starts", "seed"],
              "certify": ["setting", "solver", "gap_tol", "exact"],
              "optimal_layers": ["setting", "L", "family", "starts", "seed"],
              "verify": ["keys", "seed", "profile", "setting"],
              "check_weights": ["path_or_arrays", "setting", "convention", "samples", "seed"]}
    name = data.draw(st.sampled_from(sorted(calls)))
    key = data.draw(st.sampled_from(params[name]))
    junk = data.draw(JUNK)
    if name == "verify" and key == "keys" and (junk is None or (isinstance(junk, str) and junk.strip())):
        junk = "zz" + (junk or "")  # never a real paper prefix (None would run every claim): no claim runs
    with _alarm(ALARM_S):
        try:
            calls[name](junk, key)
        except (InputError, NumericalFailure):
            pass
