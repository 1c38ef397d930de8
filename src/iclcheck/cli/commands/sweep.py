"""``iclcheck sweep``: the critical-point census of the one-layer loss over a grid of settings, on Dask.

See ``numerics.sweep`` for the census (minimum levels, basins, gaps, certificates), the seeding (SHA-256 of
each setting's canonical description) and the files (one atomic Parquet part per finished setting).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from iclcheck.cli.main import COMMANDS
from iclcheck.numerics.limits import MAX_CERT_DIM, MAX_CRITICAL_DIM, MAX_SEED, MAX_STARTS
from iclcheck.theory.errors import InputError, NumericalFailure

__all__ = ["parse_grid_file", "parse_list", "register", "run"]

MAX_LIST = 1000  # values per list flag
_MAX_GRID_BYTES = 1 << 20  # --grid files
_INT = re.compile(r"\+?[0-9]{1,30}", re.ASCII)
_LAWS = ("gaussian", "uniform", "rademacher")  # iclcheck.cli.inputs.COVARIATE_LAWS
# library parameter -> the flag of this command
_FLAGS = {"d": "--d", "cond": "--cond", "n": "-n", "sigma2": "--noise", "covariates": "--law",
          "cov_seed": "--cov-seed", "starts": "--starts", "seed": "--seed", "jobs": "--jobs",
          "scheduler": "--scheduler", "out": "--out", "grid": "the grid", "plot file": "--plot"}
_FIELDS = {"d": "int", "cond": "number", "n": "int", "noise": "number", "law": "law", "cov_seed": "int"}

EPILOG = f"""examples:
  iclcheck sweep --d 2,3 --cond 1,10,100 -n 3,10 --noise 0,1 --out atlas.parquet --jobs 2 --plot atlas.png
  iclcheck sweep --grid grid.toml --out atlas.parquet --scheduler tcp://10.0.0.5:8786
  iclcheck sweep --d 2 --cond 10 -n 3,5,10,20 --law gaussian,rademacher --starts 128 --out runs

grid: the Cartesian product of the value lists (comma-separated; --cond and --noise take integers, decimals
or a/b), or a TOML/JSON file (--grid) with a [grid] table of lists (keys d, cond, n, noise, law, cov_seed)
and/or a list of explicit settings, e.g.
    [grid]                                  settings = [
    d = [2, 3]                                {{d = 2, cond = 10, n = 5}},
    cond = [1, 10, 100]                       {{d = 3, cond = 100, n = 20, noise = 1, law = "uniform"}},
    n = [3, 10]                             ]
Setting: Sigma = random:d=D,cond=K,seed=COV_SEED (as for --cov), Sigma_w = I, label noise variance NOISE.

census per setting (--starts descent runs, seeded by SHA-256 of the setting's description, so results do not
depend on --jobs or on the order in which workers finish): minima = distinct minimum loss levels found
(points on a continuum of minima count once), their losses and the fraction of starts reaching each;
global = the lowest level, when it is at or below the predicted point Gamma* (loss L*); otherwise no start
reached the global basin (marked *, L* shown, every level found is spurious); gap = (lowest spurious level -
global) / global; spurious = fraction of starts in spurious levels; cert = the lowest level is certified global
(numerics.certificate, d <= {MAX_CERT_DIM}; '-' when not attempted).

output: --out DIR is a Parquet dataset (one part-<key>.parquet per finished setting, written atomically;
read it with pyarrow.parquet.read_table(DIR) or pandas.read_parquet(DIR)). Rerunning the same command skips
every finished setting (an interrupted sweep resumes; a finished one just prints). Each part carries a SHA-256 of
its row and is verified on read: a corrupt part of this sweep is computed again (a note on stderr), any other is
refused; temporary files of killed runs are removed. A folder that cannot be written, a full disk or a file-size
limit is one line (exit 2), the parts written so far kept. Progress on stderr: a bar of the settings on a
terminal (or with --progress), else one line per finished setting (a log's record of the run); --quiet or
--no-progress: none. Exit status: 0 all settings done, 2 bad input, 3 some settings
failed (the others are kept; rerun to retry them).

limits: d <= {MAX_CRITICAL_DIM}, 1 <= --starts <= {MAX_STARTS}, seeds 0..2^63-1, <= {MAX_LIST} values per list,
--grid file <= 1 MB. Cost: ~0.01-0.05 s per start at d = 2-3 here (a few seconds to start the cluster).
"""


def _show(text: str, limit: int = 40) -> str:
    s = str(text)
    return repr(s if len(s) <= limit else s[:limit] + "...")


def _value(text: str, kind: str, *, what: str) -> Any:
    """One value of a list flag, strictly parsed (nothing is evaluated)."""
    s = text.strip()
    if kind == "int":
        if not _INT.fullmatch(s):
            raise InputError(what, f"expected integers, got {_show(s)}")
        return int(s)
    if kind == "number":
        from iclcheck.cli.inputs import parse_number

        return float(parse_number(s, what=what))
    if s not in _LAWS:
        raise InputError(what, f"unknown law {_show(s)}; choose from {', '.join(_LAWS)}")
    return s


def parse_list(text: str, kind: str, *, what: str) -> list[Any]:
    """A comma-separated list of values of one kind ('int', 'number', 'law')."""
    parts = str(text).split(",")
    if len(parts) > MAX_LIST:
        raise InputError(what, f"more than {MAX_LIST} values")
    if any(not p.strip() for p in parts):
        raise InputError(what, f"empty value in {_show(text)} (comma-separated values)")
    return [_value(p, kind, what=what) for p in parts]


def _file_value(v: Any, kind: str, *, where: str) -> Any:
    ok = {"int": lambda x: isinstance(x, int) and not isinstance(x, bool),
          "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
          "law": lambda x: isinstance(x, str)}[kind]
    if not ok(v):
        want = {"int": "an integer", "number": "a number", "law": f"one of {', '.join(_LAWS)}"}[kind]
        raise InputError("--grid", f"{where}: expected {want}, got {_show(repr(v))}")
    return float(v) if kind == "number" else v


def _read_grid_doc(path: str) -> Any:
    """The parsed .toml / .json document (at most 1 MB; decoding and syntax errors are one line)."""
    from iclcheck.cli.inputs import read_regular_file

    suffix = Path(path).suffix.lower()
    if suffix not in (".toml", ".json"):
        raise InputError("--grid", f"must be a .toml or .json file, got {_show(path)}")
    data = read_regular_file(path, what="--grid", limit=_MAX_GRID_BYTES, limit_text="1 MB")
    try:
        text = data.decode("utf-8")
        if suffix == ".json":
            return json.loads(text)
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # tomllib is new in 3.11; tomli is the same parser (a dependency on 3.10)
            import tomli as tomllib

        return tomllib.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError("--grid", f"{_show(path)} is not valid {suffix[1:].upper()}: {first[:120]}") from None


def _grid_lists(g: Any) -> dict[str, list[Any]]:
    """The file's [grid] table: a list of values per key."""
    if not isinstance(g, dict) or not set(g) <= set(_FIELDS):
        raise InputError("--grid", f"'grid' must be a table with keys among {', '.join(_FIELDS)}")
    for k in ("d", "cond", "n"):
        if k not in g:
            raise InputError("--grid", f"'grid' needs the key {k!r}")
    lists = {}
    for k, vals in g.items():
        vals = vals if isinstance(vals, list) else [vals]
        if not vals or len(vals) > MAX_LIST:
            raise InputError("--grid", f"grid.{k}: needs 1 to {MAX_LIST} values")
        lists[k] = [_file_value(v, _FIELDS[k], where=f"grid.{k}[{i}]") for i, v in enumerate(vals)]
    return lists


def _grid_settings(settings: Any) -> list[dict[str, Any]]:
    """The file's list of explicit settings."""
    if not isinstance(settings, list) or len(settings) > 100_000:
        raise InputError("--grid", "'settings' must be a list of at most 100000 tables")
    out = []
    for i, s in enumerate(settings):
        if not isinstance(s, dict) or not set(s) <= set(_FIELDS) or not {"d", "cond", "n"} <= set(s):
            raise InputError("--grid", f"settings[{i}] must be a table with d, cond, n (and optionally noise, "
                             "law, cov_seed)")
        out.append({k: _file_value(v, _FIELDS[k], where=f"settings[{i}].{k}") for k, v in s.items()})
    return out


def parse_grid_file(path: str) -> tuple[dict[str, list[Any]] | None, list[dict[str, Any]]]:
    """(grid lists or None, explicit settings) from a .toml or .json file."""
    doc = _read_grid_doc(path)
    if not isinstance(doc, dict) or not set(doc) <= {"grid", "settings"} or not doc:
        raise InputError("--grid", "the file must hold a 'grid' table and/or a 'settings' list, nothing else")
    lists = _grid_lists(doc["grid"]) if "grid" in doc else None
    return lists, _grid_settings(doc.get("settings", []))


def _relabel(exc: InputError, where: str | None = None) -> InputError:
    flag = _FLAGS.get(exc.what, exc.what)
    name = {"sigma2": "noise", "covariates": "law"}.get(exc.what, exc.what)
    if where is not None and name in _FIELDS:
        return InputError("--grid", f"{where}: {name}: {exc.problem}")
    return InputError(flag, exc.problem)


def _points(args: argparse.Namespace) -> list[Any]:
    from iclcheck.numerics.sweep import SweepPoint, grid

    listed = [f for f in ("d", "cond", "n", "noise", "law", "cov_seed") if getattr(args, f) is not None]
    if args.grid is not None:
        if listed:
            raise InputError("--grid", f"give either --grid or the value lists, not both (also given: "
                             f"{', '.join(_FLAGS[f] if f in _FLAGS else '--' + f.replace('_', '-') for f in listed)})")
        lists, settings = parse_grid_file(args.grid)
        pts = []
        if lists is not None:
            try:
                pts += grid(**lists)
            except InputError as exc:
                raise _relabel(exc, "grid") from None
        for i, s in enumerate(settings):
            try:
                pts.append(SweepPoint(**s))
            except InputError as exc:
                raise _relabel(exc, f"settings[{i}]") from None
        return sorted(set(pts))
    for f, flag in (("d", "--d"), ("cond", "--cond"), ("n", "-n")):
        if getattr(args, f) is None:
            raise InputError(flag, "is required (or give the settings in a file with --grid)")
    lists = {"d": parse_list(args.d, "int", what="--d"), "cond": parse_list(args.cond, "number", what="--cond"),
             "n": parse_list(args.n, "int", what="-n")}
    if args.noise is not None:
        lists["noise"] = parse_list(args.noise, "number", what="--noise")
    if args.law is not None:
        lists["law"] = parse_list(args.law, "law", what="--law")
    if args.cov_seed is not None:
        lists["cov_seed"] = parse_list(args.cov_seed, "int", what="--cov-seed")
    try:
        return grid(**lists)
    except InputError as exc:
        raise _relabel(exc) from None


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.3g}%"


def _probe_plot(path: str) -> None:
    """Open the plot file for appending (never truncating) before the sweep, and remove it again if it was not
    there: a folder the plot cannot be written to is one line now, not after the computation."""
    import os

    existed = os.path.lexists(path)
    try:  # O_NONBLOCK: a FIFO without a reader is refused (ENXIO) instead of blocking
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644))
    except OSError as exc:
        raise InputError("--plot", f"cannot write {path!r}: {exc.strerror or exc}") from None
    if not existed:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _check_flags(args: argparse.Namespace) -> None:
    """The flags that can be judged alone, before any work."""
    if not 1 <= args.starts <= MAX_STARTS:
        raise InputError("--starts", f"must be between 1 and {MAX_STARTS}, got {args.starts}")
    if args.scheduler is not None and args.jobs is not None:
        raise InputError("--jobs", "sets the size of a local cluster; with --scheduler the cluster's own workers "
                         "run the tasks")
    if not args.out.strip():  # Path("") is ".": the parts would land in the current folder
        raise InputError("--out", "is empty (give the dataset's directory)")
    if args.plot is not None:
        from iclcheck.numerics.plots.landscape import check_plot_path

        if not args.plot.strip():
            raise InputError("--plot", "is empty (give a .png, .pdf or .svg file, or leave --plot out)")
        try:
            check_plot_path(args.plot)  # before the sweep, not after it
        except InputError as exc:
            raise _relabel(exc) from None
        _probe_plot(args.plot)


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Any]:
    """The sweep's ``progress`` callback: a bar of the settings on a terminal or with --progress; otherwise one line
    per finished setting on stderr (a log of a long run records what finished); none with --quiet / --no-progress."""
    from iclcheck.cli.progress import progress_callback, progress_wanted

    if args.quiet or args.progress is False:
        yield None
    elif progress_wanted(args):
        with progress_callback(args, desc="sweep", unit="setting") as bar:
            assert bar is not None  # progress is wanted
            yield lambda i, total, p, row: bar(i, total)
    else:
        yield _line


def _line(i: int, total: int, p: Any, row: dict[str, Any]) -> None:
    """One finished setting, as a line on stderr."""
    reached = "" if row["global_reached"] else " (global basin not reached)"
    print(f"[{i}/{total}] d={p.d} cond={p.cond:g} n={p.n} noise={p.noise:g} {p.law} seed={p.cov_seed}: "
          f"{row['n_minima']} minima, spurious basin {_pct(row['spurious_fraction'])}{reached}",
          file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from iclcheck import api
    from iclcheck.cli.render import emit

    _check_flags(args)
    points = _points(args)
    try:
        with _progress(args) as progress:  # the bar is closed before any message below
            res = api.sweep(points, Path(args.out), starts=args.starts, seed=args.seed, certify=not args.no_certify,
                            jobs=args.jobs, scheduler=args.scheduler, progress=progress, plot=args.plot)
    except InputError as exc:
        raise _relabel(exc) from None
    except KeyboardInterrupt:
        print(f"iclcheck sweep: interrupted; the finished settings are kept in {args.out} (rerun the same "
              "command to resume)", file=sys.stderr)
        raise
    _notes(res.summary)
    emit("sweep", res, args, text=_table, binary_out=False)  # --out: the dataset, written by the API
    if res.summary.failed:
        p, err = res.summary.failed[0]
        raise NumericalFailure("sweep", f"{len(res.summary.failed)} of {len(points)} settings failed (first: "
                               f"{p.as_dict()}: {err[:200]})",
                               "the finished settings are kept; rerun the same command to retry the others")
    return 0


def _notes(summary: Any) -> None:
    for f, why in summary.recomputed:
        print(f"iclcheck sweep: note: {f} was corrupt ({why}); computed again", file=sys.stderr)
    if summary.cleaned:
        print(f"iclcheck sweep: note: removed {summary.cleaned} temporary file(s) left by an earlier, killed run",
              file=sys.stderr)


def _table(res: Any, args: argparse.Namespace, written: Any) -> list[str]:
    from iclcheck.cli.formatting import format_table

    rows = res.rows
    body = []
    for r in rows:
        cert = "-" if r["global_certified"] is None else ("yes" if r["global_certified"] else "no")
        body.append([r["d"], f"{r['cond']:g}", r["n"], f"{r['noise']:g}", r["law"], r["cov_seed"], r["n_minima"],
                     f"{r['best_loss']:.8g}" + ("" if r["global_reached"] else "*"), _pct(r["spurious_gap"]),
                     _pct(r["spurious_fraction"]), _pct(r["saddle_fraction"] + r["nonconverged_fraction"]), cert])
    lines = [f"{len(res.points)} settings, {res.starts} descent starts each (seed {res.seed}): computed "
             f"{res.summary.computed}, read back {res.summary.skipped} from {res.out}",
             format_table(body, headers=["d", "cond", "n", "noise", "law", "cov_seed", "minima", "global loss", "gap",
                                         "spurious", "other", "cert"]),
             "gap: (lowest spurious minimum level - global) / global; spurious: starts in minima above the global "
             "one; other: starts ending at a saddle or not converging"]
    if any(not r["global_reached"] for r in rows):
        lines.append("*: no start reached the global basin: every minimum found lies above the predicted point "
                     "(Gamma*, loss L*), whose loss is shown; more --starts may find it")
    if res.plot is not None:
        lines.append(f"atlas written to {res.plot}")
    return lines


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep",
        help=COMMANDS["sweep"],
        description="For every setting of a grid, the critical-point census of the one-layer LSA loss (distinct "
        "minima, their losses, basins, the gap to the global one, its certificate), computed on a Dask cluster "
        "and written to a resumable Parquet dataset.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("grid (the Cartesian product of the lists; or --grid FILE)")
    g.add_argument("--d", metavar="D,...", default=None, help=f"dimensions, 1..{MAX_CRITICAL_DIM}")
    g.add_argument("--cond", metavar="K,...", default=None, help="condition numbers of Sigma, 1..1e12")
    g.add_argument("-n", metavar="N,...", default=None, help="numbers of in-context examples")
    g.add_argument("--noise", metavar="S2,...", default=None, help="label-noise variances (default 0)")
    g.add_argument("--law", metavar="LAW,...", default=None,
                   help=f"covariate laws among {', '.join(_LAWS)} (default gaussian)")
    g.add_argument("--cov-seed", metavar="S,...", default=None,
                   help="seeds of the random Sigma (random:d=D,cond=K,seed=S; default 0)")
    g.add_argument("--grid", metavar="FILE", default=None, help="the settings in a .toml or .json file (see below)")
    p.add_argument("--out", metavar="DIR", required=True, type=str,
                   help="Parquet dataset directory (created; an existing one is resumed)")
    p.add_argument("--starts", type=int, default=32, help=f"descent starts per setting, 1..{MAX_STARTS} (default 32)")
    from iclcheck.cli.commands._lsa_common import seed_arg

    p.add_argument("--seed", type=seed_arg, default=0,
                   help=f"base seed, 0..{MAX_SEED} (default 0; each setting's starts are seeded by it and the setting)")
    from iclcheck.cli.commands._lsa_common import positive_int

    p.add_argument("--jobs", type=positive_int, default=None,
                   help="worker processes of the local Dask cluster (1 thread each; default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on a running Dask scheduler (e.g. tcp://host:8786) instead of a local cluster")
    p.add_argument("--no-certify", action="store_true", help="skip the global-minimum certificate")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="draw the atlas: spurious gap and basin against the condition number, per (d, n, noise)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (as --no-progress)")
    from iclcheck.cli.progress import add_progress_flag

    add_progress_flag(p, help="a progress bar of the settings on stderr (default: on a terminal; elsewhere one line "
                      "per finished setting); --no-progress: none")
    p.set_defaults(func=run)
