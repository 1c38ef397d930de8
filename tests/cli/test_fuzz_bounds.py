"""Issue 22 ("every finding defensible"), points 12 and 15-17: unbounded work, internal errors on odd inputs and
outputs, and the Python API's error types, as a table of exact commands.

Each CLI case runs as a fresh process (the helpers of tests/cli/test_fuzz.py) with a time bound: exit 2 (bad
input) or 3 (numerical failure on valid input) with one line on stderr naming the problem, or 0 with nothing on
stderr (no RuntimeWarning spew), never a traceback, an internal error or a hang. Bounds are those of
``iclcheck.numerics.limits``; expected fragments quote them from there, not from the code under test's messages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from iclcheck.numerics import limits

BOUND_S = 30  # a refused input answers in seconds (mostly imports on a shared machine); more is a hang


def _npy_with_header(header: bytes) -> bytes:
    """A .npy v1.0 file whose header text is ``header`` (padded to 16 bytes), then 32 bytes of data."""
    body = header + b" " * ((-(len(header) + 11)) % 16) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + b"\0" * 32


@pytest.fixture(scope="module")
def where(tmp_path_factory):
    """A folder with the odd files of the table (cases run with it as the working directory)."""
    tmp = tmp_path_factory.mktemp("bounds")
    tok = _npy_with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), '''")  # tokenize fails
    (tmp / "tok.npy").write_bytes(tok)
    with zipfile.ZipFile(tmp / "tok.npz", "w") as z:
        z.writestr("P.npy", tok)
        z.writestr("Q.npy", tok)
    (tmp / "paren.npy").write_bytes(_npy_with_header(b"{'descr': '<f8', 'shape': (2, 2" + b"(" * 50))
    for name in ("fifo.npy", "fifo.npz", "fifo.png"):
        os.mkfifo(tmp / name)
    for name in ("zero.npy", "zero.npz", "zero.png"):
        os.symlink("/dev/zero", tmp / name)
    os.symlink(tmp / "missing" / "x.npy", tmp / "dangling.npy")
    (tmp / "dir.png").mkdir()
    (tmp / "dir.npy").mkdir()
    L = 1000
    np.savez(tmp / "w1000.npz", P=np.zeros((L, 3, 3)), Q=np.zeros((L, 3, 3)))
    return tmp


DEEP = "/".join(["a"] * 2000)

# (argv, exit status, fragment of the one-line message or None for exit 0, seconds allowed)
CASES = [
    # 15. unbounded work: a documented bound checked before any work
    (["layers", "-n", "5", "-L", "2", "--family", "gdpp", "--starts", "100001"], 2,
     f"at most {limits.MAX_GDPP_STARTS:,} multistart runs", BOUND_S),
    (["layers", "-n", "5", "-L", "2", "--family", "gdpp", "--starts", "1000000000"], 2, "--starts", BOUND_S),
    (["layers", "-n", "5", "-L", "2", "--family", "gdpp", "--starts", "1e9"], 2, "--starts", BOUND_S),
    (["layers", "-n", "5", "-L", "2", "--family", "gdpp", "--starts", "0"], 2, "--starts", BOUND_S),
    (["layers", "-n", "5", "-L", "100000"], 2, f"at most {limits.MAX_GD_LAYERS} layers", BOUND_S),
    (["layers", "-n", "5", "-L", "4", "--family", "gdpp"], 2, f"L <= {limits.MAX_GDPP_LAYERS}", BOUND_S),
    (["check-weights", "w1000.npz", "--cov", "eye:2", "-n", "3"], 2, f"at most {limits.MAX_MODEL_LAYERS}", BOUND_S),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "21", "--train-steps", "0"], 2,
     f"at most {limits.MAX_COMPARE_LAYERS} layers", BOUND_S),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--train-steps", "10000000"], 2, "--train-steps", BOUND_S),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--steps", "10001"], 2, "--steps", BOUND_S),
    # an iteration run far beyond its tuned step count overflows float64: exit 3, one line, no warnings
    (["compare", "--cov", "diag:1,100", "-n", "2", "-L", "1", "--steps", "300", "--samples", "100",
      "--train-steps", "0"], 3, "overflowed float64", 120),
    # outputs: FIFOs, devices behind symlinks, directories, uncreatable paths refused before any work
    (["precond", "--cov", "eye:2", "-n", "3", "--out", "fifo.npy"], 2, "FIFO", BOUND_S),
    (["precond", "--cov", "eye:2", "-n", "3", "--out", "zero.npy"], 2, "character device", BOUND_S),
    (["precond", "--cov", "eye:2", "-n", "3", "--out", "dir.npy"], 2, "directory", BOUND_S),
    (["precond", "--cov", "eye:2", "-n", "3", "--out", "dangling.npy"], 2, "symlink to a missing file", BOUND_S),
    (["precond", "--cov", "eye:2", "-n", "3", "--out", "/proc/iclcheck-test.npy"], 2, "cannot create", BOUND_S),
    (["critical", "--cov", "eye:2", "-n", "3", "--out", "zero.npy"], 2, "character device", BOUND_S),
    (["critical", "--cov", "eye:2", "-n", "3", "--plot", "fifo.png"], 2, "FIFO", BOUND_S),
    (["critical", "--cov", "eye:2", "-n", "3", "--plot", "dir.png"], 2, "directory", BOUND_S),
    (["train", "--cov", "eye:2", "-n", "3", "-L", "1", "--steps", "5", "--save-weights", "fifo.npz"], 2, "FIFO",
     BOUND_S),
    (["train", "--cov", "eye:2", "-n", "3", "-L", "1", "--steps", "5", "--save-weights", "zero.npz"], 2,
     "character device", BOUND_S),
    (["verify", "ahn2023.eq7", "--report", "fifo.npy"], 2, "FIFO", BOUND_S),
    (["verify", "ahn2023.eq7", "--report", "zero.png"], 2, "character device", BOUND_S),
    # 16. internal errors
    (["precond", "--cov", "tok.npy", "-n", "3"], 2, "damaged .npy header", BOUND_S),
    (["precond", "--cov", "paren.npy", "-n", "3"], 2, "damaged .npy header", BOUND_S),
    (["precond", "--cov", "eye:2", "--task-cov", "tok.npy", "-n", "3"], 2, "--task-cov", BOUND_S),
    (["loss", "--cov", "eye:2", "-n", "3", "--params", "tok.npz"], 2, "damaged .npy header", BOUND_S),
    (["check-weights", "tok.npz", "--cov", "eye:2", "-n", "3"], 2, "damaged .npy header", BOUND_S),
    (["layers", "--cov", "tok.npy", "-n", "3", "-L", "2"], 2, "damaged .npy header", BOUND_S),
    (["critical", "--cov", "tok.npy", "-n", "3"], 2, "damaged .npy header", BOUND_S),
    (["certify", "--cov", "tok.npy", "-n", "3"], 2, "damaged .npy header", BOUND_S),
    (["compare", "--cov", "tok.npy", "-n", "3", "-L", "1"], 2, "damaged .npy header", BOUND_S),
    (["train", "--cov", "tok.npy", "-n", "3", "-L", "1"], 2, "damaged .npy header", BOUND_S),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--train-steps", "0", "--plot", "dir.png"], 2, "directory",
     BOUND_S),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--train-steps", "0", "--plot", "/proc/x.png"], 2,
     "cannot create", BOUND_S),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--train-steps", "0", "--plot", "zero.png"], 2,
     "character device", BOUND_S),
    (["layers", "-n", "5", "-L", "2", "--seed", "-1"], 2, "--seed", BOUND_S),
    (["layers", "-n", "5", "-L", "2", "--family", "gdpp", "--seed", "-1"], 2, "--seed", BOUND_S),
    (["precond", "--cov", "eye:2", "-n", "3", "--out", "zero.npy", "--format", "json"], 2, "character device",
     BOUND_S),
    (["new-claim", "smith2024.thm2", "--dir", DEEP], 2, f"at most {limits.MAX_PATH_DEPTH}", BOUND_S),
    # singular solves at tiny noise: a stable route (exit 0, nothing on stderr)
    (["precond", "--bayes", "--cov", "eye:20", "-n", "2", "--noise", "1e-30"], 0, None, 120),
    (["precond", "--bayes", "--cov", "eye:3", "-n", "3", "--noise", "1e-300", "--covariates", "rademacher"], 0, None,
     120),
    (["compare", "--cov", "eye:2", "-n", "5", "-L", "1", "--train-steps", "0", "--noise", "1e-320",
      "--samples", "200"], 0, None, 120),
]


def _run(argv: list[str], cwd, seconds: float) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, "-m", "iclcheck", *argv], capture_output=True, text=True,
                             timeout=seconds, cwd=cwd, env={**os.environ, "ICLCHECK_DEBUG": ""})
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: {argv[:8]} gave no answer within {seconds} s")
    return res, time.perf_counter() - t0


@pytest.mark.parametrize(("argv", "code", "fragment", "seconds"), CASES,
                         ids=[" ".join(c[0])[:70] for c in CASES])
def test_bounded_one_line_and_the_right_exit(where, argv, code, fragment, seconds):
    res, _ = _run(argv, where, seconds)
    err = res.stderr.strip()
    assert res.returncode == code, (argv[:8], res.returncode, err[:500])
    assert "Traceback" not in err and "internal error" not in err, err[:500]
    if code == 0:
        assert err == "", err[:500]  # no RuntimeWarning, no note
        return
    assert len(err.splitlines()) == 1, err[:500]
    assert fragment in err, (fragment, err)


def test_refused_outputs_are_left_untouched(where):
    """A refused --out never creates, truncates or follows anything: the FIFO is still a FIFO, no file appears."""
    import stat

    for argv in (["precond", "--cov", "eye:2", "-n", "3", "--out", "fifo.npy"],
                 ["precond", "--cov", "eye:2", "-n", "3", "--out", "dangling.npy"]):
        res, _ = _run(argv, where, BOUND_S)
        assert res.returncode == 2
    assert stat.S_ISFIFO(os.stat(where / "fifo.npy").st_mode)
    assert not (where / "missing").exists()


def test_an_output_path_is_written_as_a_regular_file(where):
    """The same checks let an ordinary path through, and the file holds what was computed (Gamma* = n/(n+d+1) I
    for Sigma = I: 3/6 at d = 2, n = 3)."""
    res, _ = _run(["precond", "--cov", "eye:2", "-n", "3", "--out", "ok.npy"], where, BOUND_S)
    assert res.returncode == 0, res.stderr
    np.testing.assert_allclose(np.load(where / "ok.npy"), 0.5 * np.eye(2), rtol=1e-14)


@pytest.mark.slow
def test_compare_at_the_layer_bound_runs_without_warnings(where):
    """compare -L 20 (the bound) used to spew RuntimeWarnings from the GD++ line search and exit 0; now it is computed
    with every reported number checked finite, and stderr stays empty (~60 s on a shared machine)."""
    res, _ = _run(["compare", "--cov", "eye:2", "-n", "5", "-L", str(limits.MAX_COMPARE_LAYERS), "--train-steps", "0",
                   "--format", "json"], where, 600)
    assert res.returncode in (0, 3), res.stderr
    assert "Warning" not in res.stderr and "Traceback" not in res.stderr
    if res.returncode == 3:
        assert len(res.stderr.strip().splitlines()) == 1


# --- 17. the Python API: the documented error type, naming the argument, and no silent "all claims" ----------

def _api_cases():
    import iclcheck

    eye = np.eye(2)
    return [
        ("law", lambda: iclcheck.setting(eye, 3, law=np.array(2.0))),
        ("law", lambda: iclcheck.setting(eye, 3, law=["gaussian"])),
        ("keys", lambda: iclcheck.verify(1e-300)),
        ("keys", lambda: iclcheck.verify(0.0)),
        ("keys", lambda: iclcheck.verify("")),
        ("keys", lambda: iclcheck.verify([])),
        ("keys", lambda: iclcheck.verify(["ahn2023.eq7", ""])),
        ("keys", lambda: iclcheck.verify(b"ahn2023")),
        ("keys", lambda: iclcheck.verify([1])),
        ("P", lambda: iclcheck.loss(iclcheck.setting(eye, 3), np.zeros((1000, 3, 3)), np.zeros((1000, 3, 3)))),
        ("starts", lambda: iclcheck.optimal_layers(iclcheck.setting(eye, 5, Sigma_w="inv"), 2, family="gdpp",
                                                   starts=limits.MAX_GDPP_STARTS + 1)),
        ("seed", lambda: iclcheck.optimal_layers(iclcheck.setting(eye, 5, Sigma_w="inv"), 2, family="gdpp", seed=-1)),
        ("seed", lambda: iclcheck.check_weights({"P": np.zeros((3, 3)), "Q": np.zeros((3, 3))},
                                                iclcheck.setting(eye, 5), samples=200, seed=None)),
        ("seed", lambda: iclcheck.loss(iclcheck.setting(eye, 5), np.zeros((3, 3)), np.zeros((3, 3)), seed=-1)),
        ("setting", lambda: iclcheck.check_weights({"P": np.zeros((3, 3)), "Q": np.zeros((3, 3))}, None)),
        ("solver", lambda: iclcheck.certify(iclcheck.setting(eye, 5), solver=np.zeros((2, 3)))),
        ("exact", lambda: iclcheck.certify(iclcheck.setting(eye, 5), exact=np.zeros(2))),
    ]


@pytest.mark.parametrize("k", range(17))
def test_api_bad_arguments_raise_input_error_naming_them(k):
    from iclcheck.theory.errors import InputError

    what, call = _api_cases()[k]
    t0 = time.perf_counter()
    with pytest.raises(InputError) as info:
        call()
    assert info.value.what == what, info.value
    assert time.perf_counter() - t0 < BOUND_S  # refused before any claim or search runs


# --- 12. the compare plot's range comes from the data ---------------------------------------------------------

def test_plot_range_log_linear_and_outliers():
    from iclcheck.numerics.plots.curves import plot_range

    scale, lo, hi = plot_range([5.0, 2.0, 1.0, 0.5, 1e-3])  # 3.7 decades: log, every value inside
    assert scale == "log" and lo <= 1e-3 and hi >= 5.0
    scale, lo, hi = plot_range([5.0, 2.2, 1.7])  # under a decade: linear from 0
    assert scale == "linear" and lo == 0.0 and 5.0 <= hi < 6.0
    bulk = list(np.geomspace(0.01, 10.0, 40))
    scale, lo, hi = plot_range(bulk + [1e15, 1e-29])  # the README figure's failure: one value 1e15, OLS at 1e-29
    assert scale == "log" and 10.0 <= hi < 1e3 and 1e-4 < lo <= 0.01
    scale, lo, hi = plot_range(list(np.linspace(0.1, 10.0, 40)) + [1e15])  # two decades: linear, 1e15 left off
    assert scale == "linear" and lo == 0.0 and 10.0 <= hi < 20.0
    assert plot_range([float("nan"), float("inf")]) == ("linear", 0.0, 1.0)


def test_compare_plot_written_and_refused(where):
    """error_curves writes a PNG (magic bytes) from curves with exact, Monte Carlo and single-number baselines, and
    refuses a FIFO before drawing."""
    from types import SimpleNamespace

    from iclcheck.numerics.model.montecarlo import estimate_from_values
    from iclcheck.numerics.plots.curves import error_curves
    from iclcheck.theory.errors import InputError

    rng = np.random.default_rng(0)
    mc = [estimate_from_values(rng.exponential(s, 400), nonnegative=True) for s in (1.0, 0.5, 0.2)]
    curves = [SimpleNamespace(label="exact", steps=np.arange(3), errors=mc, exact=[1.0, 0.5, 0.25],
                              beyond=lambda: [False, False, True]),
              SimpleNamespace(label="mc", steps=np.arange(3), errors=mc, exact=[None] * 3),
              SimpleNamespace(label="OLS", steps=np.array([2]), errors=[estimate_from_values(rng.random(400) * 1e-30)],
                              exact=[None])]
    out = error_curves(curves, where / "curves.png", title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError):
        error_curves(curves, where / "fifo.png")


# --- 16. tiny noise: the Bayes solves take the range of X Sigma_w X^T (numerics.bayes), checked against sigma2 = 0 --

@pytest.mark.parametrize(("law", "d", "n"), [("rademacher", 2, 2), ("rademacher", 3, 5), ("gaussian", 6, 2)])
def test_bayes_at_tiny_noise_matches_the_noiseless_route(law, d, n):
    """sigma2 = 1e-300 (singular X^T X + sigma2 W^-1 in float64: a LinAlgError before) agrees with the separate
    sigma2 = 0 route (pseudo-inverse of X W X^T) on the same draws: the two differ by O(sigma2) in exact arithmetic."""
    from iclcheck.numerics.bayes import bayes_risk, posterior_mean
    from iclcheck.theory.setting import Setting

    tiny = Setting.make(np.eye(d), n, sigma2=1e-300, covariates=law)
    zero = Setting.make(np.eye(d), n, sigma2=0, covariates=law)
    r_tiny = bayes_risk(tiny, rng=np.random.default_rng(1), samples=2000)
    r_zero = bayes_risk(zero, rng=np.random.default_rng(1), samples=2000)
    if not r_zero.exact:  # both Monte Carlo over the same X draws
        assert abs(r_tiny.value - r_zero.value) <= 1e-9 * max(1.0, r_zero.value)
    rng = np.random.default_rng(2)
    X = rng.choice([-1.0, 1.0], size=(50, n, d)) if law == "rademacher" else rng.standard_normal((50, n, d))
    y = rng.standard_normal((50, n))
    np.testing.assert_allclose(posterior_mean(X, y, Sigma_w=np.eye(d), sigma2=1e-300),
                               posterior_mean(X, y, Sigma_w=np.eye(d), sigma2=0.0), atol=1e-9)
