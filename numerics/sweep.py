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
* the global level: the lowest level found, when it lies at or below the predicted point's loss L*
  (``predicted_loss``, the loss of an explicit point, Gamma* of the reduced family; to the rounding tolerance of
  ``numerics.critical``): then ``global_reached`` is true and ``global_loss`` is its loss. Otherwise no start
  reached the global basin (the lowest level found is itself a spurious minimum): ``global_reached`` is false,
  ``global_loss`` null, and every level found is spurious. ``best_loss`` = the lowest loss the tool knows
  (``global_loss`` or L*);
* ``spurious_gap`` = (loss of the lowest spurious level - ``best_loss``) / ``best_loss`` (null when no level lies
  above the global one); ``spurious_fraction`` = starts that ended in a spurious level / starts;
  ``saddle_fraction``, ``nonconverged_fraction`` likewise;
* ``certified`` (d <= ``MAX_CERT_DIM``): ``numerics.certificate.certify`` proves a lower bound of the loss
  over all (P, Q) and certifies the Gamma* point; ``global_certified`` is true when it did and the lowest
  level found lies within the certificate's gap tolerance of the proven bound (so it is the global
  minimum, to that tolerance); false when the global basin was not reached. Null when the certificate was not
  attempted.

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

import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from iclcheck.numerics.dask_client import MAX_JOBS, dask_client  # the client lives there (verify uses it too)
from iclcheck.numerics.limits import MAX_CERT_DIM, MAX_CRITICAL_DIM, MAX_SEED, MAX_STARTS
from iclcheck.theory.errors import InputError, import_optional

__all__ = [
    "DIGITS",
    "LEVEL_RTOL",
    "MAX_JOBS",
    "MAX_POINTS",
    "SCHEMA_VERSION",
    "SETTING_COLUMNS",
    "SweepPoint",
    "SweepSummary",
    "CorruptPart",
    "census_row",
    "clean_stale_temp_files",
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

SCHEMA_VERSION = 2  # bump when the census changes: it is part of every point's description (and key)
# 2: "global" only at or below the predicted point (global_reached, best_loss); flatness relative to rounding
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
    axes: list[list[Any]] = [list(d), list(cond), list(n), list(noise), list(law), list(cov_seed)]
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
    from iclcheck.numerics.one_layer.closed_form import OneLayer

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
    # The lowest level found is the global one only when it is at or below the predicted point (L* of the reduced
    # family, an explicit point of loss L*): critical_points calls a minimum "global-min" exactly then (reference
    # min(L*, lowest found), to its rounding tolerance). Otherwise no start reached the global basin: the best point
    # known is the predicted one and every level found is spurious.
    reached = bool(levels) and any(land.points[minima[j]].kind == "global-min" for j in levels[0])
    predicted = float(land.predicted_loss)
    best = level_loss[0] if reached else predicted
    spurious = levels[1:] if reached else levels
    spurious_loss = level_loss[1:] if reached else level_loss
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
        "global_loss": _r(level_loss[0]) if reached else None,
        "global_reached": reached,
        "best_loss": _r(best),
        "spurious_gap": _r((spurious_loss[0] - best) / best) if spurious else None,
        "spurious_fraction": sum(hits[len(levels) - len(spurious):]) / starts,
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
            found = reached and ok and level_loss[0] - c.lower_bound <= c.gap_tol
            row.update(certified=ok, global_certified=found,
                       lower_bound=_r_down(float(c.lower_bound)) if math.isfinite(c.lower_bound) else None,
                       certificate_note="" if ok else c.reason)
    elif certify:
        row["certificate_note"] = f"not attempted: the certificate supports d <= {MAX_CERT_DIM}"
    return row


# -- files ----------------------------------------------------------------------------------------------
def _arrow(module: str = "pyarrow"):
    """pyarrow (or one of its modules); MissingExtra naming the extra 'sweep' when it is not installed."""
    return import_optional(module, extra="sweep", feature="the sweep's Parquet dataset")


def _distributed():
    """dask.distributed; MissingExtra naming the extra 'sweep' when it is not installed."""
    return import_optional("distributed", extra="sweep", feature="running on a Dask cluster")


def _schema():
    pa = _arrow()

    return pa.schema([
        ("d", pa.int64()), ("cond", pa.float64()), ("n", pa.int64()), ("noise", pa.float64()),
        ("law", pa.string()), ("cov_seed", pa.int64()),
        ("key", pa.string()), ("starts", pa.int64()), ("seed", pa.int64()), ("start_seed", pa.int64()),
        ("certify", pa.bool_()), ("version", pa.int64()),
        ("predicted_loss", pa.float64()), ("n_minima", pa.int64()), ("n_min_points", pa.int64()),
        ("minima_loss", pa.list_(pa.float64())), ("minima_fraction", pa.list_(pa.float64())),
        ("minima_degenerate", pa.list_(pa.bool_())),
        ("global_loss", pa.float64()), ("global_reached", pa.bool_()), ("best_loss", pa.float64()),
        ("spurious_gap", pa.float64()), ("spurious_fraction", pa.float64()),
        ("saddle_fraction", pa.float64()), ("nonconverged_fraction", pa.float64()),
        ("certified", pa.bool_()), ("global_certified", pa.bool_()), ("lower_bound", pa.float64()),
        ("certificate_note", pa.string()),
    ])


_REQUIRED = ("d", "cond", "n", "noise", "law", "cov_seed", "key", "starts", "seed", "start_seed", "certify", "version",
             "predicted_loss", "n_minima", "n_min_points", "minima_loss", "minima_fraction", "minima_degenerate",
             "global_reached", "best_loss", "spurious_fraction", "saddle_fraction", "nonconverged_fraction",
             "certificate_note")  # never null in a row census_row wrote
_CHECKSUM = b"iclcheck.row_sha256"  # Parquet key-value metadata: SHA-256 of the row's canonical JSON
_TMP_RE = re.compile(r"\.(?:part-[0-9a-f]{16}\.parquet|probe)\.tmp-([0-9]{1,10})")  # our temp files, by writer PID
STALE_TMP_SECONDS = 600  # a temp file lives for one write (milliseconds); older ones of dead writers are removed


def _part_path(out: Path, key: str) -> Path:
    return out / f"part-{key}.parquet"


def _row_digest(row: dict[str, Any]) -> str:
    """SHA-256 of the row as canonical JSON (sorted keys, floats by repr): what reading the part back must give."""
    return hashlib.sha256(json.dumps(row, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _cannot_write(path: Path, exc: OSError) -> InputError:
    why = exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
    return InputError("out", f"cannot write {str(path)!r}: {why} (the settings written so far are kept: rerun the "
                      "same command to resume)")


def _write_part(out: Path, row: dict[str, Any]) -> Path:
    """Write one row as its own Parquet file, atomically (hidden temp file, fsync, rename), with the SHA-256 of the
    row in the file's metadata (checked on read). A failed write (disk full, file-size limit, read-only folder)
    removes its temp file and is an InputError naming the file."""
    pa, pq = _arrow(), _arrow("pyarrow.parquet")

    table = pa.Table.from_pylist([row], schema=_schema()).replace_schema_metadata(
        {_CHECKSUM: _row_digest(row).encode("ascii")})
    final = _part_path(out, row["key"])
    tmp = out / f".{final.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except OSError as exc:  # pyarrow's I/O errors are OSErrors too
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _cannot_write(final, exc) from None
    return final


def _check_writable(out: Path) -> None:
    """Write, fsync and remove a small probe file in ``out`` before any work: a read-only folder (EROFS, EACCES) or
    a full disk is one line now rather than after the computation."""
    probe = out / f".probe.tmp-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"iclcheck sweep probe\n")
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        raise InputError("out", f"cannot write in {str(out)!r}: {exc.strerror or exc}") from None


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (another user's), or cannot tell: keep its file
    return True


def clean_stale_temp_files(out: str | Path, *, now: float | None = None) -> list[Path]:
    """Remove the temp files an earlier, killed run left in ``out``. Only our own names (``.part-<16 hex>.parquet
    .tmp-PID``, ``.probe.tmp-PID``), only when the writing process is no longer running on this machine and the file
    is older than ``STALE_TMP_SECONDS`` (on a folder shared between machines, another machine's live write is
    younger than that: a temp file lives for one write). Returns the files removed."""
    import time

    out = Path(out)
    now = time.time() if now is None else now
    removed = []
    for f in out.iterdir():
        m = _TMP_RE.fullmatch(f.name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            st = f.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or now - st.st_mtime <= STALE_TMP_SECONDS or _pid_running(int(m.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            f.unlink()
            removed.append(f)
    return removed


class CorruptPart(Exception):
    """A part file that is not what ``_write_part`` wrote (unreadable, other columns, null keys, checksum)."""


class _OtherVersion(Exception):
    pass


def _read_part(f: Path) -> dict[str, Any]:
    """The row of one part file, verified: its own schema is the sweep's, one row, no null where census_row never
    writes one, the SHA-256 recorded at write time matches the row read back, and the name is its key. A part with
    a bit flipped in a column name used to read back as a null column (``global_loss = None``, exit 0)."""
    pa, pq = _arrow(), _arrow("pyarrow.parquet")

    try:
        t = pq.read_table(f)  # the file's own schema, not ours imposed on it (that would fill missing columns)
    except (OSError, pa.ArrowException) as exc:
        raise CorruptPart(f"unreadable Parquet: {(str(exc).splitlines() or [''])[0][:120]}") from None
    if t.num_rows == 1 and "version" in t.column_names and pa.types.is_integer(t.schema.field("version").type):
        v = t.column("version")[0].as_py()
        if v is not None and v != SCHEMA_VERSION:
            raise _OtherVersion(v)
    if not t.schema.remove_metadata().equals(_schema()):
        theirs = {fl.name: str(fl.type) for fl in t.schema}
        ours = {fl.name: str(fl.type) for fl in _schema()}
        diff = sorted(set(theirs.items()) ^ set(ours.items()))[:3]
        raise CorruptPart(f"its columns are not a sweep part's (differ: {diff})")
    if t.num_rows != 1:
        raise CorruptPart(f"{t.num_rows} rows instead of 1")
    row = t.to_pylist()[0]
    nulls = [c for c in _REQUIRED if row[c] is None]
    if nulls:
        raise CorruptPart(f"null in {', '.join(nulls[:4])}")
    want = (t.schema.metadata or {}).get(_CHECKSUM)
    if want is None or want.decode("ascii", "replace") != _row_digest(row):
        raise CorruptPart("its checksum does not match its content" if want else "no checksum")
    if f.name != _part_path(f.parent, row["key"]).name:
        raise CorruptPart(f"its key {row['key']!r} is not its name's")
    return row


def _scan_parts(out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[Path, str]]]:
    """(rows by key of the good parts, {name key: (file, why)} of the corrupt ones). A part of another schema version
    is an InputError (that sweep is not this one's to resume)."""
    rows: dict[str, dict[str, Any]] = {}
    bad: dict[str, tuple[Path, str]] = {}
    for f in sorted(out.glob("part-*.parquet")):
        try:
            row = _read_part(f)
        except CorruptPart as exc:
            bad[f.name[len("part-"):-len(".parquet")]] = (f, str(exc))
            continue
        except _OtherVersion as exc:
            raise InputError("out", f"{str(out)!r} holds a sweep of another census (schema {exc.args[0]}, this is "
                             f"{SCHEMA_VERSION}): use a new directory") from None
        rows[row["key"]] = row
    return rows, bad


def _table(rows: Iterable[dict[str, Any]]):
    pa = _arrow()

    return pa.Table.from_pylist(list(rows), schema=_schema())


def read_sweep(out: str | Path, *, keys: Iterable[str] | None = None):
    """The rows of a sweep directory (only those whose key is in ``keys``, when given) as a pyarrow Table,
    sorted by the setting columns. Every part is verified (``_read_part``); a corrupt one is refused (InputError
    naming it: rerunning the sweep recomputes it)."""
    out = Path(out)
    if not out.is_dir():
        raise InputError("out", f"{str(out)!r} is not a sweep directory")
    rows, bad = _scan_parts(out)
    wanted = None if keys is None else set(keys)
    for k, (f, why) in bad.items():
        if wanted is None or k in wanted:
            raise InputError("out", f"{str(f)!r} is corrupt ({why}); rerun the sweep to recompute it, or remove it")
    t = _table(r for k, r in rows.items() if wanted is None or k in wanted)
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
    recomputed: list[tuple[str, str]] = field(default_factory=list)  # corrupt parts found and computed again (file, why)
    cleaned: int = 0  # stale temp files of killed runs removed


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
    _arrow(), _distributed()  # the 'sweep' extra, checked before any work (one line naming it when missing)
    points = sorted(set(points))
    if not points:
        raise InputError("grid", "no settings given")
    if len(points) > MAX_POINTS:
        raise InputError("grid", f"has {len(points)} settings, more than {MAX_POINTS}")
    if scheduler is None and not (_is_int(jobs) and 1 <= jobs <= MAX_JOBS):
        raise InputError("jobs", f"must be an integer in [1, {MAX_JOBS}], got {jobs!r}")
    out = Path(out)
    if not str(out).strip():
        raise InputError("out", "is empty (give a directory)")
    if out.exists() and not out.is_dir():
        raise InputError("out", f"{str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=False, exist_ok=True)
    except OSError as exc:
        raise InputError("out", f"cannot create {str(out)!r}: {exc.strerror}") from None
    cleaned = clean_stale_temp_files(out)
    rows, bad = _scan_parts(out)
    for r in rows.values():
        st, sd, ce = r["starts"], r["seed"], r["certify"]
        if (st, sd, ce) != (starts, seed, certify):
            raise InputError("out", f"{str(out)!r} holds a sweep made with starts={st}, seed={sd}, certify={ce}: "
                             "resume it with the same options or use a new directory")
    keyed = [(point_key(describe(p, starts=starts, seed=seed, certify=certify)), p) for p in points]
    ours = {k for k, _ in keyed}
    for k, (f, why) in bad.items():
        if k not in ours:
            raise InputError("out", f"{str(f)!r} is corrupt ({why}) and is not a setting of this sweep: remove it "
                             "or use a new directory")
    recomputed = [(str(f), why) for k, (f, why) in bad.items()]  # ours: computed again below, replacing the file
    todo = [(k, p) for k, p in keyed if k not in rows]
    if not todo:
        return SweepSummary(total=len(points), skipped=len(points), computed=0, cleaned=len(cleaned))
    _check_writable(out)
    from asyncio import CancelledError

    from iclcheck import __version__

    as_completed = _distributed().as_completed

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
                        workers=workers, recomputed=recomputed, cleaned=len(cleaned))


# -- the atlas ------------------------------------------------------------------------------------------
def plot_atlas(table, path: str | Path) -> Path:
    """Spurious-minimum gap and basin fraction against the condition number, one line per (d, n, noise, law)."""
    from iclcheck.numerics.plots.landscape import check_plot_path

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
