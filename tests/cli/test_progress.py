"""Progress bars of the long-running commands (critical's multistart, train, compare's training run): a tqdm bar on
stderr by default when stderr is a terminal (a pseudo-terminal here), nothing when it is not, --progress /
--no-progress to force; stdout (JSON) stays clean either way, and the library itself prints nothing."""

from __future__ import annotations

import fcntl
import json
import os
import pty
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
                                               (COMPARE, "train", 300)])
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
