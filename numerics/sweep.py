"""Landscape sweeps: the critical-point census of the one-layer loss over a grid of settings, on Dask.

A sweep point is a setting (d, cond, n, noise, law, cov_seed): Sigma = ``random_spd(d, cond,
default_rng(cov_seed))`` (U Haar, eigenvalues log-spaced from 1 to cond; the same matrix as the CLI's
``random:d=D,cond=K,seed=S``), Sigma_w = I, label-noise variance ``noise``, covariate law ``law``.

The census of a point (``census_row``): ``numerics.critical.find_critical_points`` with ``starts`` descent
runs (L-BFGS + Newton polish; the method that finds minima; Newton runs, which find saddles, are not made),
then, for the minima found (index 0):

* minimum *levels*: minima whose losses agree to ``LEVEL_RTOL`` relative are one level (points on a
  continuum of minima, e.g. Sigma = I with its rotations, are listed point by point by the search but
  are one level here); ``n_minima`` counts levels, ``n_min_points`` the points;
* per level (ascending loss): ``minima_loss``, ``minima_fraction`` (fraction of the starts whose run
  converged to a point of the level: the basin of the level for this start law), ``minima_degenerate``
  (a point of the level has Hessian directions counted as zero besides the scaling one);
* ``spurious_gap`` = (loss of the second level - loss of the lowest) / loss of the lowest (null when one
  level was found); ``spurious_fraction`` = starts that ended in a level above the lowest / starts;
  ``saddle_fraction``, ``nonconverged_fraction`` likewise;
* ``certified`` (d <= ``MAX_CERT_DIM``): ``numerics.certificate.certify`` proves a lower bound of the loss
  over all (P, Q) and certifies the Gamma* point; ``global_certified`` is true when it did and the lowest
  level found lies within the certificate's gap tolerance of the proven bound (so it is the global
  minimum, to that tolerance). Null when the certificate was not attempted.

Seeds. Every point is described by a canonical JSON string (``describe``: the setting, starts, the base
seed, the schema version); its SHA-256 gives the point's key (file name) and the seed of its starts
(``point_seed``), never Python's hash(). So a row depends only on its own description: not on the
worker count, the order in which workers finish, or which other points are in the sweep.

Files. The output is a Parquet dataset directory: one file ``part-<key>.parquet`` per finished point,
written to a hidden temporary file, fsynced and renamed into place (atomic on POSIX), so an interrupted
sweep keeps every finished point and a rerun with the same options reads them back and computes only
the rest (``run_sweep(...).computed``). ``read_sweep`` returns the rows sorted by the setting columns.
Floats are rounded to ``DIGITS`` significant digits (the lower bound downwards) so the files do not
depend on the last bits of BLAS rounding; fractions are counts / starts.

Dask. ``run_sweep`` submits one task per point to a ``distributed`` cluster: a ``LocalCluster`` of
``jobs`` worker processes with one thread each by default, or a running scheduler at ``scheduler``.
Rows come back to this process and are written here (workers need no shared file system). A worker that
dies mid-task costs only that task: the scheduler reruns it on another worker (up to Dask's
``distributed.scheduler.allowed-failures``, default 3), and since the row depends only on its point the
rerun writes the same bytes. A task that raises is reported (``SweepSummary.failed``) and not written, so
a rerun retries it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from iclcheck.numerics.dask_client import MAX_JOBS, dask_client  # the client lives there (verify uses it too)
from iclcheck.numerics.limits import MAX_CERT_DIM, MAX_CRITICAL_DIM, MAX_SEED, MAX_STARTS
from iclcheck.theory.errors import InputError

__all__ = [
    "DIGITS",
    "LEVEL_RTOL",
    "MAX_JOBS",
    "MAX_POINTS",
    "SCHEMA_VERSION",
    "SETTING_COLUMNS",
    "SweepPoint",
    "SweepSummary",
    "census_row",
    "dask_client",
    "describe",
    "grid",
    "keys_of",
    "plot_atlas",
    "point_key",
    "point_seed",
    "read_sweep",
    "run_sweep",
]

SCHEMA_VERSION = 1  # bump when the census changes: it is part of every point's description (and key)
DIGITS = 10  # significant digits of the stored floats
LEVEL_RTOL = 1e-8  # minima whose losses agree to this (relative to max(1, |loss|)) are one level
MAX_POINTS = 100_000  # settings per sweep
LAWS = ("gaussian", "uniform", "rademacher")  # theory.setting.COVARIATE_LAWS (tests check they agree)
SETTING_COLUMNS = ("d", "cond", "n", "noise", "law", "cov_seed")
_MAX_COND = 1e12  # theory.setting.MAX_CONDITION
_MAX_N = 10**15  # theory.setting.MAX_N
_MAX_NOISE = 1e40


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclass(frozen=True, order=True)
class SweepPoint:
    """One setting of a sweep (validated on construction; errors name the field)."""

    d: int
    cond: float
    n: int
    noise: float = 0.0
    law: str = "gaussian"
    cov_seed: int = 0

    def __post_init__(self) -> None:
        if not (_is_int(self.d) and 1 <= self.d <= MAX_CRITICAL_DIM):
            raise InputError("d", f"must be an integer in [1, {MAX_CRITICAL_DIM}], got {self.d!r}")
        if not (_is_real(self.cond) and math.isfinite(self.cond) and 1 <= self.cond <= _MAX_COND):
            raise InputError("cond", f"must be a number in [1, {_MAX_COND:.0e}], got {self.cond!r}")
        if not (_is_int(self.n) and 1 <= self.n <= _MAX_N):
            raise InputError("n", f"must be an integer in [1, 1e15], got {self.n!r}")
        if not (_is_real(self.noise) and math.isfinite(self.noise) and 0 <= self.noise <= _MAX_NOISE):
            raise InputError("sigma2", f"must be a number in [0, 1e40], got {self.noise!r}")
        if self.law not in LAWS:
            raise InputError("covariates", f"unknown law {self.law!r}; choose one of {', '.join(LAWS)}")
        if not (_is_int(self.cov_seed) and 0 <= self.cov_seed <= MAX_SEED):
            raise InputError("cov_seed", f"must be an integer in [0, 2^63 - 1], got {self.cov_seed!r}")
        object.__setattr__(self, "cond", float(self.cond))
        object.__setattr__(self, "noise", float(self.noise))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def setting(self):
        """The ``theory.Setting`` of the point (float Sigma)."""
        import numpy as np

        from iclcheck.numerics.random_matrices import random_spd
        from iclcheck.theory.setting import Setting

        Sigma = random_spd(self.d, self.cond, np.random.default_rng(self.cov_seed))  # [d, d]
        return Setting.make(Sigma, self.n, sigma2=self.noise, covariates=self.law)


def grid(*, d: Iterable[int], cond: Iterable[float], n: Iterable[int], noise: Iterable[float] = (0.0,),
         law: Iterable[str] = ("gaussian",), cov_seed: Iterable[int] = (0,)) -> list[SweepPoint]:
    """The Cartesian product of the value lists, sorted, without repeats."""
    axes = [list(d), list(cond), list(n), list(noise), list(law), list(cov_seed)]
    for name, ax in zip(SETTING_COLUMNS, axes, strict=True):
        if not ax:
            raise InputError(name, "the list of values is empty")
    size = math.prod(len(a) for a in axes)
    if size > MAX_POINTS:
        raise InputError("grid", f"has {size} settings, more than {MAX_POINTS}")
    return sorted(set(SweepPoint(*vals) for vals in itertools.product(*axes)))


def _check_options(starts: Any, seed: Any, certify: Any) -> None:
    if not (_is_int(starts) and 1 <= starts <= MAX_STARTS):
        raise InputError("starts", f"must be an integer in [1, {MAX_STARTS}], got {starts!r}")
    if not (_is_int(seed) and 0 <= seed <= MAX_SEED):
        raise InputError("seed", f"must be an integer in [0, 2^63 - 1], got {seed!r}")
    if not isinstance(certify, bool):
        raise InputError("certify", f"must be True or False, got {certify!r}")


def describe(point: SweepPoint, *, starts: int, seed: int, certify: bool = True) -> str:
    """The canonical description of a point's task (sorted-key compact JSON; floats by repr)."""
    return json.dumps({**point.as_dict(), "starts": starts, "seed": seed, "certify": certify,
                       "version": SCHEMA_VERSION}, sort_keys=True, separators=(",", ":"))


def _digest(description: str) -> bytes:
    return hashlib.sha256(description.encode("utf-8")).digest()


def point_seed(description: str) -> int:
    """The seed of a point's starts: the first 8 bytes of SHA-256(description), as an integer < 2^63."""
    return int.from_bytes(_digest(description)[:8], "big") >> 1


def point_key(description: str) -> str:
    """The point's key (its file name): the first 16 hex digits of SHA-256(description)."""
    return _digest(description).hex()[:16]


# -- the census of one point (runs on a worker) --------------------------------------------------------
def _r(x: float) -> float:
    """x rounded to DIGITS significant digits (to nearest)."""
    return float(f"{x:.{DIGITS}g}") if math.isfinite(x) else x


def _r_down(x: float) -> float:
    """x rounded down to DIGITS significant digits, exactly (a lower bound stays a lower bound)."""
    if not math.isfinite(x) or x == 0:
        return x
    q = Fraction(10) ** (math.floor(math.log10(abs(x))) - DIGITS + 1)
    v = float(math.floor(Fraction(x) / q) * q)
    return v if v <= x else math.nextafter(v, -math.inf)


def _levels(losses: list[float]) -> list[list[int]]:
    """Indices (into ``losses``, ascending) grouped into levels: each level starts at its lowest loss and
    takes every later loss within LEVEL_RTOL * max(1, |loss|) of it."""
    out: list[list[int]] = []
    for i, loss in enumerate(losses):
        if out and loss - losses[out[-1][0]] <= LEVEL_RTOL * max(1.0, abs(losses[out[-1][0]])):
            out[-1].append(i)
        else:
            out.append([i])
    return out


def census_row(point: dict[str, Any], starts: int, seed: int, certify: bool = True) -> dict[str, Any]:
    """The census of one sweep point as a row (a plain dict with the columns of ``_schema()``)."""
    p = SweepPoint(**point)
    _check_options(starts, seed, certify)
    from iclcheck.numerics.critical import find_critical_points
    from iclcheck.numerics.one_layer import OneLayer

    desc = describe(p, starts=starts, seed=seed, certify=certify)
    s = point_seed(desc)
    ol = OneLayer(p.setting())
    land = find_critical_points(ol, starts=starts, seed=s, methods=("descent",))
    minima = [i for i, q in enumerate(land.points) if q.index == 0]  # land.points ascend in loss
    levels = _levels([land.points[i].loss for i in minima])
    level_of = {minima[j]: lv for lv, members in enumerate(levels) for j in members}
    hits = [0] * len(levels)
    saddle = nonconv = 0
    for run in land.runs:
        if not run.converged or run.point is None:
            nonconv += 1
        elif run.point in level_of:
            hits[level_of[run.point]] += 1
        else:
            saddle += 1
    level_loss = [min(land.points[minima[j]].loss for j in members) for members in levels]
    row: dict[str, Any] = {
        **p.as_dict(),
        "key": point_key(desc),
        "starts": starts,
        "seed": seed,
        "start_seed": s,
        "certify": certify,
        "version": SCHEMA_VERSION,
        "predicted_loss": _r(float(land.predicted_loss)),
        "n_minima": len(levels),
        "n_min_points": len(minima),
        "minima_loss": [_r(x) for x in level_loss],
        "minima_fraction": [h / starts for h in hits],
        "minima_degenerate": [any(land.points[minima[j]].n_zero > 0 for j in members) for members in levels],
        "global_loss": _r(level_loss[0]) if levels else None,
        "spurious_gap": _r((level_loss[1] - level_loss[0]) / level_loss[0]) if len(levels) > 1 else None,
        "spurious_fraction": sum(hits[1:]) / starts,
        "saddle_fraction": saddle / starts,
        "nonconverged_fraction": nonconv / starts,
        "certified": None,
        "global_certified": None,
        "lower_bound": None,
        "certificate_note": "",
    }
    if certify and p.d <= MAX_CERT_DIM:
        from iclcheck.numerics.certificate import certify as certify_point
        from iclcheck.theory.errors import NumericalFailure

        try:
            c = certify_point(ol)
        except NumericalFailure as exc:
            row.update(certified=False, global_certified=False, certificate_note=f"not certified: {exc}")
        else:
            ok = bool(c.certified)
            found = bool(levels) and ok and level_loss[0] - c.lower_bound <= c.gap_tol
            row.update(certified=ok, global_certified=found,
                       lower_bound=_r_down(float(c.lower_bound)) if math.isfinite(c.lower_bound) else None,
                       certificate_note="" if ok else c.reason)
    elif certify:
        row["certificate_note"] = f"not attempted: the certificate supports d <= {MAX_CERT_DIM}"
    return row


# -- files ----------------------------------------------------------------------------------------------
def _schema():
    import pyarrow as pa

    return pa.schema([
        ("d", pa.int64()), ("cond", pa.float64()), ("n", pa.int64()), ("noise", pa.float64()),
        ("law", pa.string()), ("cov_seed", pa.int64()),
        ("key", pa.string()), ("starts", pa.int64()), ("seed", pa.int64()), ("start_seed", pa.int64()),
        ("certify", pa.bool_()), ("version", pa.int64()),
        ("predicted_loss", pa.float64()), ("n_minima", pa.int64()), ("n_min_points", pa.int64()),
        ("minima_loss", pa.list_(pa.float64())), ("minima_fraction", pa.list_(pa.float64())),
        ("minima_degenerate", pa.list_(pa.bool_())),
        ("global_loss", pa.float64()), ("spurious_gap", pa.float64()), ("spurious_fraction", pa.float64()),
        ("saddle_fraction", pa.float64()), ("nonconverged_fraction", pa.float64()),
        ("certified", pa.bool_()), ("global_certified", pa.bool_()), ("lower_bound", pa.float64()),
        ("certificate_note", pa.string()),
    ])


def _part_path(out: Path, key: str) -> Path:
    return out / f"part-{key}.parquet"


def _write_part(out: Path, row: dict[str, Any]) -> Path:
    """Write one row as its own Parquet file, atomically (hidden temp file, fsync, rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([row], schema=_schema())
    final = _part_path(out, row["key"])
    tmp = out / f".{final.name}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        pq.write_table(table, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return final


def _read_parts(out: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for f in sorted(out.glob("part-*.parquet")):
        try:
            tables.append(pq.read_table(f, schema=_schema()))
        except (OSError, pa.ArrowException) as exc:
            raise InputError("out", f"{str(f)!r} is not a part of an iclcheck sweep ({exc})") from None
    return pa.concat_tables(tables) if tables else _schema().empty_table()


def read_sweep(out: str | Path, *, keys: Iterable[str] | None = None):
    """The rows of a sweep directory (only those whose key is in ``keys``, when given) as a pyarrow Table,
    sorted by the setting columns."""
    out = Path(out)
    if not out.is_dir():
        raise InputError("out", f"{str(out)!r} is not a sweep directory")
    t = _read_parts(out)
    if keys is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        t = t.filter(pc.is_in(t.column("key"), value_set=pa.array(sorted(set(keys)), pa.string())))
    return t.sort_by([(c, "ascending") for c in SETTING_COLUMNS])


def keys_of(points: Iterable[SweepPoint], *, starts: int, seed: int, certify: bool = True) -> list[str]:
    """The keys (file names) of the points of a sweep run with these options."""
    return [point_key(describe(p, starts=starts, seed=seed, certify=certify)) for p in points]


# -- running --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSummary:
    total: int  # points asked for
    skipped: int  # already in the directory (not recomputed)
    computed: int  # tasks whose rows were written by this run
    failed: list[tuple[SweepPoint, str]] = field(default_factory=list)  # tasks that raised (not written)
    workers: int = 0  # workers the cluster had when the tasks were submitted


def _worker_version() -> str:
    from iclcheck import __version__

    return __version__


def run_sweep(points: Sequence[SweepPoint], out: str | Path, *, starts: int = 64, seed: int = 0,
              certify: bool = True, jobs: int = 1, scheduler: str | None = None,
              progress: Callable[[int, int, SweepPoint, dict[str, Any]], None] | None = None) -> SweepSummary:
    """Compute the census of every point not yet in ``out`` (a directory, created if missing) on Dask.

    ``progress(done, todo, point, row)`` is called after each row is written (in completion order). If it
    raises (or the process is interrupted), the rows written so far stay, and a rerun resumes."""
    _check_options(starts, seed, certify)
    points = sorted(set(points))
    if not points:
        raise InputError("grid", "no settings given")
    if len(points) > MAX_POINTS:
        raise InputError("grid", f"has {len(points)} settings, more than {MAX_POINTS}")
    if scheduler is None and not (_is_int(jobs) and 1 <= jobs <= MAX_JOBS):
        raise InputError("jobs", f"must be an integer in [1, {MAX_JOBS}], got {jobs!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("out", f"{str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=False, exist_ok=True)
    except OSError as exc:
        raise InputError("out", f"cannot create {str(out)!r}: {exc.strerror}") from None
    done = _read_parts(out)
    for st, sd, ce, ve in zip(*(done.column(c).to_pylist() for c in ("starts", "seed", "certify", "version")),
                              strict=True):
        if (st, sd, ce, ve) != (starts, seed, certify, SCHEMA_VERSION):
            raise InputError("out", f"{str(out)!r} holds a sweep made with starts={st}, seed={sd}, certify={ce} "
                             f"(schema {ve}): resume it with the same options or use a new directory")
    have = set(done.column("key").to_pylist())
    keyed = [(point_key(describe(p, starts=starts, seed=seed, certify=certify)), p) for p in points]
    todo = [(k, p) for k, p in keyed if k not in have]
    if not todo:
        return SweepSummary(total=len(points), skipped=len(points), computed=0)
    from asyncio import CancelledError

    from distributed import as_completed

    from iclcheck import __version__

    failed: list[tuple[SweepPoint, str]] = []
    computed = 0
    with dask_client(jobs, scheduler) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        if scheduler is not None:
            theirs = client.submit(_worker_version, pure=False).result()
            if theirs != __version__:
                raise InputError("scheduler", f"the workers run iclcheck {theirs}, this is {__version__}")
        futures = {client.submit(census_row, p.as_dict(), starts, seed, certify, key=f"iclcheck-census-{k}",
                                 pure=False): p for k, p in todo}
        for fut in as_completed(futures):
            p = futures[fut]
            try:
                row = fut.result()
            except (Exception, CancelledError) as exc:  # noqa: BLE001 - this task failed; the others go on
                failed.append((p, f"{type(exc).__name__}: {exc}"))
                continue
            _write_part(out, row)
            computed += 1
            if progress is not None:
                progress(computed + len(failed), len(todo), p, row)
    return SweepSummary(total=len(points), skipped=len(points) - len(todo), computed=computed, failed=failed,
                        workers=workers)


# -- the atlas ------------------------------------------------------------------------------------------
def plot_atlas(table, path: str | Path) -> Path:
    """Spurious-minimum gap and basin fraction against the condition number, one line per (d, n, noise, law)."""
    from iclcheck.numerics.landscape_plot import check_plot_path

    path = check_plot_path(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table.to_pylist()
    series: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        series.setdefault((r["d"], r["n"], r["noise"], r["law"], r["cov_seed"]), []).append(r)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    dn = sorted({(k[0], k[1]) for k in series})
    styles = ["-", "--", ":", "-."]
    noises = sorted({k[2] for k in series})
    laws = sorted({k[3] for k in series})
    markers = ["o", "s", "^", "D"]
    for k in sorted(series):
        rs = sorted(series[k], key=lambda r: r["cond"])
        color = f"C{dn.index((k[0], k[1])) % 10}"
        ls = styles[noises.index(k[2]) % len(styles)]
        mk = markers[laws.index(k[3]) % len(markers)]
        label = f"d={k[0]} n={k[1]} noise={k[2]:g}" + (f" {k[3]}" if len(laws) > 1 else "") + \
            (f" seed={k[4]}" if len({kk[4] for kk in series}) > 1 else "")
        xs = [r["cond"] for r in rs]
        gaps = [100 * r["spurious_gap"] if r["spurious_gap"] is not None else float("nan") for r in rs]
        ax1.plot(xs, gaps, ls=ls, marker=mk, color=color, label=label)
        ax2.plot(xs, [r["spurious_fraction"] for r in rs], ls=ls, marker=mk, color=color, label=label)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("condition number of Sigma")
        ax.grid(True, alpha=0.3)
    if any(r["spurious_gap"] is not None and r["spurious_gap"] > 0 for r in rows):
        ax1.set_yscale("log")
    ax1.set_ylabel("spurious gap: (L_2nd - L_min) / L_min  [%]")
    ax1.set_title("lowest spurious minimum above the global one\n(no point: none found)", fontsize=9)
    ax2.set_ylabel("fraction of descent starts in spurious minima")
    ax2.set_ylim(-0.03, 1.03)
    ax2.set_title("basin of the spurious minima", fontsize=9)
    ax2.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
