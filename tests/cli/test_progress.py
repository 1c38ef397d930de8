"""Progress bars of the long-running commands (critical's and layers' multistarts, train, compare's training run,
check-weights' Monte Carlo and per-layer matching, sweep's settings): a tqdm bar on stderr by default when stderr is
a terminal (a pseudo-terminal here), nothing when it is not (sweep: its per-setting lines), --progress /
--no-progress to force; stdout (JSON) stays the same bytes either way, and the library itself prints nothing."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading

import numpy as np
import pytest

TRAIN = ("train", "--cov", "eye:2", "-n", "6", "-L", "1", "--steps", "400", "--batch", "64", "--samples", "1000",
         "--format", "json")
CRITICAL = ("critical", "--cov", "eye:2", "-n", "3", "--starts", "6", "--format", "json")
COMPARE = ("compare", "--cov", "eye:2", "-n", "4", "-L", "1", "--samples", "200", "--train-steps", "300",
           "--format", "json")
LAYERS = ("layers", "--cov", "eye:3", "-n", "10", "-L", "2", "--family", "gdpp", "--starts", "6", "--format", "json")
LAYERS_GD = ("layers", "--cov", "eye:5", "-n", "20", "-L", "3", "--noise", "5", "--format", "json")  # not real-rooted:
# the gd optimum falls back to its multistart of 64 starts


def _iclcheck(*argv: str, tty: bool) -> tuple[int, str, str]:
    """Run `iclcheck ARGV` with stdout a pipe and stderr a pseudo-terminal (tty=True, 100 columns) or a pipe."""
    cmd = [sys.executable, "-m", "iclcheck", *argv]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if not tty:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:  # read the terminal while the command runs (a full pty would block it)
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the other end is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env)
        os.close(slave)
        out, _ = p.communicate(timeout=300)
        reader.join(timeout=30)
    finally:
        os.close(master)
    return p.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("argv, desc, total", [(TRAIN, "train", 400), (CRITICAL, "critical", 6),
                                               (COMPARE, "train", 300), (LAYERS, "layers", 6),
                                               (LAYERS_GD, "layers", 64)])
def test_a_bar_on_a_terminal_and_nothing_otherwise(argv, desc, total):
    rc, out, err = _iclcheck(*argv, tty=True)
    assert rc == 0, err
    json.loads(out)  # stdout holds the JSON document and nothing else
    assert f"{desc}:" in err and f"/{total} " in err  # tqdm's description and count, e.g. "train:  40%|...| 160/400 "
    assert "\r" in err
    rc, out2, err2 = _iclcheck(*argv, tty=False)
    assert (rc, err2) == (0, "")
    json.loads(out2)
    rc, out3, err3 = _iclcheck(*argv, "--no-progress", tty=True)
    assert rc == 0 and err3.strip() == ""  # (a terminal may echo nothing but line discipline bytes)
    json.loads(out3)
    if argv[0] in ("layers", "critical"):  # seeded and untrained: the same bytes with and without the bar
        assert out == out2 == out3


def test_layers_draws_nothing_when_nothing_is_searched():
    """The gd optimum without noise is solved (certified), not searched: no bar even on a terminal."""
    rc, out, err = _iclcheck("layers", "--cov", "eye:5", "-n", "20", "-L", "3", "--format", "json", tty=True)
    assert rc == 0 and err.strip() == ""
    assert json.loads(out)["certified_global_min"] is True


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A 3-layer model near the (8) family (no exact route: its loss is a Monte Carlo) and a one-layer one (exact)."""
    import iclcheck

    folder, rng, d = tmp_path_factory.mktemp("weights"), np.random.default_rng(1), 3
    Ps, Qs = np.zeros((3, d + 1, d + 1)), np.zeros((3, d + 1, d + 1))
    Ps[:, d, d], Qs[:, :d, :d] = 1.0, -0.3 * np.eye(d)
    Ps += 0.02 * rng.standard_normal(Ps.shape)
    Qs += 0.02 * rng.standard_normal(Qs.shape)
    iclcheck.save_weights(folder / "deep.npz", Ps, Qs)
    iclcheck.save_weights(folder / "one.npz", Ps[0], Qs[0])
    return folder


def test_check_weights_bars_of_the_monte_carlo_and_of_the_layer_matching(weights):
    argv = ("check-weights", str(weights / "deep.npz"), "--cov", "eye:3", "--task-cov", "inv", "-n", "10",
            "--samples", "3000", "--implements-prompts", "400", "--max-steps", "2", "--format", "json")
    rc, out, err = _iclcheck(*argv, tty=True)
    assert rc == 0, err
    doc = json.loads(out)
    assert not doc["loss"]["exact"]
    # prompts drawn, of a total that grows as each variant's Monte Carlo starts; then the 3 layers x 4 algorithms
    assert re.search(r"check-weights: .*\| \d+/\d+ \[", err) and "prompt" in err
    assert "implements:" in err and "/12 " in err
    rc, out2, err2 = _iclcheck(*argv, tty=False)
    assert (rc, err2) == (0, "")
    rc, out3, err3 = _iclcheck(*argv, "--progress", tty=False)
    assert rc == 0 and "check-weights:" in err3 and "implements:" in err3
    rc, out4, err4 = _iclcheck(*argv, "--no-progress", tty=True)
    assert rc == 0 and err4.strip() == ""
    assert out == out2 == out3 == out4  # the same draws, the same bytes


def test_check_weights_draws_no_bar_for_an_exact_loss(weights):
    rc, out, err = _iclcheck("check-weights", str(weights / "one.npz"), "--cov", "eye:3", "-n", "10", "--format",
                             "json", tty=True)
    assert rc == 0 and err.strip() == ""
    assert json.loads(out)["loss"]["exact"] is True


def test_sweep_a_bar_on_a_terminal_and_its_lines_elsewhere(tmp_path):
    """On a terminal (or with --progress) a bar of the settings replaces the per-setting lines, which stay the
    display of a sweep whose stderr is a log (not a terminal, no flag); --no-progress / --quiet: nothing."""
    pytest.importorskip("distributed")
    pytest.importorskip("pyarrow")

    def sweep(name: str, *extra: str, tty: bool) -> tuple[int, str, str]:  # a fresh dataset: nothing is resumed
        return _iclcheck("sweep", "--d", "2", "--cond", "1,10", "-n", "3", "--starts", "4", "--no-certify",
                         "--out", str(tmp_path / name), "--format", "json", *extra, tty=tty)

    runs = {"tty": sweep("a", tty=True), "log": sweep("b", tty=False), "forced": sweep("c", "--progress", tty=False),
            "off": sweep("d", "--no-progress", tty=True)}
    assert all(rc == 0 for rc, _, _ in runs.values()), runs
    lines = re.compile(r"^\[\d/2\] d=2", re.M)
    for name in ("tty", "forced"):
        err = runs[name][2]
        assert "sweep:" in err and "/2 " in err and "setting" in err and not lines.search(err), (name, err)
    assert len(lines.findall(runs["log"][2])) == 2 and "sweep:" not in runs["log"][2]
    assert runs["off"][2].strip() == ""
    rows = {name: json.loads(out)["settings"] for name, (_, out, _) in runs.items()}
    assert rows["tty"] == rows["log"] == rows["forced"] == rows["off"]


def test_progress_forces_the_bar_without_a_terminal():
    rc, out, err = _iclcheck(*CRITICAL, "--progress", tty=False)
    assert rc == 0
    json.loads(out)
    assert "critical:" in err and "/6 " in err


def test_the_library_prints_nothing_and_reports_through_the_callback(capsys):
    from iclcheck.numerics.training import train
    from iclcheck.theory.setting import Setting

    calls: list[tuple[int, float]] = []
    res = train(Setting.make(np.eye(2), 6), 1, steps=400, batch=32, rng=np.random.default_rng(0),
                callback=lambda t, loss: calls.append((t, loss)))
    assert capsys.readouterr() == ("", "")
    assert [t for t, _ in calls] == list(range(2, 401, 2))  # every steps // 200 = 2 steps, the last included
    assert calls == res.history
