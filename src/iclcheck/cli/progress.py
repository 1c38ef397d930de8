"""Progress bars on stderr for the long-running commands (critical's and layers' multistarts, train, compare's
training run, check-weights' Monte Carlo and per-layer matching, sweep's settings).

A tqdm bar (it redraws one line, follows the terminal's width and closes cleanly on errors and Ctrl-C), shown by
default when stderr is a terminal and never otherwise; ``--progress`` forces it (e.g. into a log file),
``--no-progress`` turns it off. The library reports progress through callbacks and prints nothing; the bar
belongs to the CLI, and stdout (tables, JSON) is never touched. ``verify`` has its own display (one line per
claim when not on a terminal).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["add_progress_flag", "progress_bar", "progress_callback", "progress_wanted", "stderr_bar",
           "train_callback"]


def add_progress_flag(p: argparse.ArgumentParser, *, help: str | None = None) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help=help or "a progress bar on stderr (default: only when stderr is a terminal); --no-progress: "
                   "none")


def progress_wanted(args: argparse.Namespace) -> bool:
    """--progress / --no-progress when given, else whether stderr is a terminal."""
    flag = getattr(args, "progress", None)
    return sys.stderr.isatty() if flag is None else bool(flag)


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, total: int, *, desc: str, unit: str) -> Iterator[Any]:
    """A tqdm bar of ``total`` units on stderr, or None when no progress is wanted (``progress_wanted``) or there is
    nothing to count (``total`` < 1)."""
    if total < 1 or not progress_wanted(args):
        yield None
        return
    with stderr_bar(total, desc=desc, unit=unit) as bar:
        yield bar


@contextlib.contextmanager
def progress_callback(args: argparse.Namespace, *, desc: str, unit: str
                      ) -> Iterator[Callable[[int, int], None] | None]:
    """A library ``progress(done, total)`` callback drawing a bar on stderr, or None when no progress is wanted
    (``progress_wanted``). The bar opens at the first call, so nothing is drawn when the library reports nothing
    (an exact loss, a solved optimum), and follows a ``total`` that grows (Monte Carlo runs decided on the way)."""
    if not progress_wanted(args):
        yield None
        return
    with contextlib.ExitStack() as stack:
        bars: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(stderr_bar(total, desc=desc, unit=unit)))
            bar = bars[0]
            if total != bar.total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        yield progress


@contextlib.contextmanager
def stderr_bar(total: int, *, desc: str, unit: str) -> Iterator[Any]:
    """The one tqdm bar of the CLI (``progress_bar``, verify's display): on stderr, cleared when done."""
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
        yield bar


def train_callback(bar: Any) -> Callable[[int, float], None]:
    """``numerics.training.train``'s callback(step, running_loss) drawing on ``bar`` (a bar of the steps)."""
    def on_step(step: int, loss: float) -> None:
        bar.set_postfix_str(f"loss {loss:.4g}", refresh=False)
        bar.update(step - bar.n)

    return on_step
