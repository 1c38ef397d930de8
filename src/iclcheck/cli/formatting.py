"""Small output helpers shared by the CLI commands: tables, matrices, JSON with floats, LaTeX.

Generic on purpose: rows are sequences of already-meaningful values; numbers are rendered with
``fmt_number`` (floats with ``digits`` significant digits, exact values with ``str``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, TextIO

# numpy and sympy are looked up in sys.modules, never imported here: a value can only be a numpy or
# sympy object if its module is already loaded, and importing this module stays cheap (CLI start-up).


def _mod(name: str) -> Any:
    return sys.modules.get(name)


def _is_np_float(v: Any) -> bool:
    np = _mod("numpy")
    return np is not None and isinstance(v, np.floating)


def _is_np_int(v: Any) -> bool:
    np = _mod("numpy")
    return np is not None and isinstance(v, np.integer)


def _is_sympy(v: Any, kind: str = "Basic") -> bool:
    sp = _mod("sympy")
    return sp is not None and isinstance(v, getattr(sp, kind))

__all__ = [
    "BIG_JSON_ENTRIES",
    "SCHEMA_VERSION",
    "OUT_SUFFIXES",
    "add_out_argument",
    "big_json_note",
    "check_out_path",
    "write_arrays",
    "dump_json",
    "json_envelope",
    "setting_json",
    "exact_rows",
    "float_rows",
    "fmt_number",
    "format_matrix",
    "format_table",
    "print_table",
    "to_jsonable",
]


def fmt_number(v: Any, *, digits: int = 6) -> str:
    """Floats with ``digits`` significant digits, exact values (int, Fraction, sympy) with str."""
    if isinstance(v, float) or _is_np_float(v):
        return f"{float(v):.{digits}g}"
    if _is_np_int(v):
        return str(int(v))
    return str(v)


def format_table(rows: Iterable[Sequence[Any]], *, headers: Sequence[str] | None = None, digits: int = 6,
                 align: str | None = None) -> str:
    """A plain-text table; ``align`` is a string of 'l'/'r' per column (default: numbers right)."""
    body = [[fmt_number(v, digits=digits) for v in r] for r in rows]
    allrows = ([list(headers)] if headers else []) + body
    if not allrows:
        return ""
    ncol = max(len(r) for r in allrows)
    allrows = [r + [""] * (ncol - len(r)) for r in allrows]
    widths = [max(len(r[j]) for r in allrows) for j in range(ncol)]
    if align is None:
        first = body[0] if body else allrows[0]
        align = "".join("r" if _looks_numeric(c) else "l" for c in first)
    lines = []
    for k, r in enumerate(allrows):
        cells = [c.rjust(w) if (align[j] if j < len(align) else "l") == "r" else c.ljust(w)
                 for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if headers and k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _looks_numeric(s: str) -> bool:
    """True for "1.5", "-3e-4", "200/33" (right-aligned columns)."""
    if re.fullmatch(r"[+-]?\d+/\d+", s):
        return True
    try:
        float(s)
        return True
    except ValueError:
        return False


def print_table(rows: Iterable[Sequence[Any]], *, headers: Sequence[str] | None = None, digits: int = 6,
                file: TextIO | None = None) -> None:
    print(format_table(rows, headers=headers, digits=digits), file=file or sys.stdout)


def format_matrix(M: Any, *, digits: int = 6, max_size: int = 12, indent: str = "  ") -> str:
    """A readable bracketed matrix (numpy, sympy or nested lists); large matrices are elided to their
    corners (``max_size`` rows/columns shown)."""
    if _is_sympy(M, "MatrixBase"):
        nr, nc = M.shape
        get = M.__getitem__
    else:
        import numpy as np

        A = np.asarray(M) if not isinstance(M, list) else np.array(M, dtype=object)
        nr, nc = A.shape
        get = A.__getitem__
    half = max_size // 2
    ri = list(range(nr)) if nr <= max_size else [*range(half), None, *range(nr - half, nr)]
    ci = list(range(nc)) if nc <= max_size else [*range(half), None, *range(nc - half, nc)]
    cells = [["..." if i is None or j is None else fmt_number(get((i, j)), digits=digits) for j in ci]
             for i in ri]
    width = max((len(c) for r in cells for c in r), default=1)
    out = [indent + "[ " + "  ".join(c.rjust(width) for c in r) + " ]" for r in cells]
    if nr > max_size or nc > max_size:
        out.append(f"{indent}({nr}x{nc}, corners shown; use --format json for every entry)")
    return "\n".join(out)


def float_rows(M: Any) -> list[list[float]]:
    """A matrix as a list of rows of Python floats."""
    import numpy as np

    return np.asarray(M, dtype=float).tolist()


def exact_rows(M: Any) -> list[list[str]]:
    """An exact sympy matrix as a list of rows of strings ("200/33", "n/(n + 7)")."""
    return [[str(M[i, j]) for j in range(M.shape[1])] for i in range(M.shape[0])]


def to_jsonable(obj: Any) -> Any:
    """Numpy arrays/scalars to lists/floats, exact numbers and sympy expressions to strings,
    non-finite floats to None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    np = _mod("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool) or (np is not None and isinstance(obj, np.bool_)):
        return bool(obj)
    if isinstance(obj, int) or _is_np_int(obj):
        return int(obj)
    if isinstance(obj, float) or _is_np_float(obj):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Fraction) or _is_sympy(obj):
        return str(obj)
    return obj


def _prepare(obj: Any) -> Any:
    """``to_jsonable`` except that float / int numpy arrays stay arrays (orjson writes them natively, fast)."""
    np = _mod("numpy")
    if np is not None and isinstance(obj, np.ndarray) and obj.dtype.kind in "fiu" and obj.ndim >= 1:
        if obj.dtype.kind == "f" and not np.all(np.isfinite(obj)):
            return to_jsonable(obj)  # NaN / inf -> null, entry by entry
        return np.ascontiguousarray(obj, dtype=np.float64 if obj.dtype.kind == "f" else np.int64)
    if isinstance(obj, dict):
        return {str(k): _prepare(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_prepare(v) for v in obj]
    return to_jsonable(obj)


def dump_json(obj: Any, *, file: TextIO | None = None, indent: bool = False) -> None:
    """Print one JSON object (floats round-trip exactly: shortest repr). With orjson installed (a dependency)
    numpy arrays are written natively, ~30x faster than the standard library (a 2000 x 2000 matrix in ~0.5 s
    instead of ~15 s); without it, the standard library (same values)."""
    out = file or sys.stdout
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; the standard library gives the same values
        json.dump(to_jsonable(obj), out, allow_nan=False, indent=2 if indent else None)
        out.write("\n")
        return
    opts = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    data = orjson.dumps(_prepare(obj), option=opts)
    buf = getattr(out, "buffer", None)
    if buf is not None:
        out.flush()
        buf.write(data)
        buf.flush()
    else:
        out.write(data.decode("utf-8"))


# ---- one JSON schema for every command (docs/json.md) ----

SCHEMA_VERSION = 1  # bump when a key is renamed or removed (adding keys keeps the version)
EIGEN_MAX_D = 500  # the Sigma summary computes eigenvalues up to this d (an eigendecomposition costs ~1.5 solves)


def _eigen_summary(setting: Any, spec: str | None) -> tuple[Any, str]:
    """(the eigenvalue range [min, max] of Sigma or None, how it was obtained)."""
    import numpy as np

    S_ex = setting.Sigma_exact
    if S_ex is not None and S_ex.is_diagonal():
        vals = sorted((S_ex[i, i] for i in range(setting.d)), key=float)
        return [str(vals[0]), str(vals[-1])], "exact"
    m = re.fullmatch(r"\s*random:(.*)", spec or "")
    if m:
        cond = dict(kv.split("=", 1) for kv in m.group(1).split(",") if "=" in kv).get("cond")
        if cond is not None:
            return [1.0, float(cond)], "by construction (random: eigenvalues log-spaced from 1 to cond)"
    if setting.d <= EIGEN_MAX_D:
        ev = np.linalg.eigvalsh(setting.Sigma)
        return [float(f"{ev[0]:.12g}"), float(f"{ev[-1]:.12g}")], "computed (float, 12 significant digits)"
    return None, f"not computed (d > {EIGEN_MAX_D}: an eigendecomposition would dominate the run)"


def setting_json(setting: Any, *, cov: str | None = None, task_cov: str | None = None) -> dict[str, Any]:
    """The ``setting`` object every command's JSON carries (docs/json.md): d, n, law, Sigma (spec, exact or float,
    eigenvalue range), Sigma_w, sigma2; plus the keys precond/loss always had (covariates, task_cov, cov)."""
    prior = setting.task_cov_kind
    return {
        "d": setting.d,
        "n": str(setting.n) if setting.n_is_symbolic else int(setting.n),
        "law": setting.covariates,
        "Sigma": dict(zip(("eigenvalues", "eigenvalues_how"), _eigen_summary(setting, cov), strict=True),
                      spec=cov, exact=setting.Sigma_exact is not None),
        "Sigma_w": {"kind": prior, "spec": task_cov if prior == "given" else None,
                    "exact": setting.Sigma_w_exact is not None},
        "sigma2": setting.sigma2,
        "sigma2_exact": None if setting.sigma2_exact is None else str(setting.sigma2_exact),
        "covariates": setting.covariates,
        "task_cov": prior,
        "cov": cov,
    }


def json_envelope(command: str, body: dict[str, Any], *, setting: Any = None, args: Any = None) -> dict[str, Any]:
    """The one JSON envelope: ``schema``, ``iclcheck_version``, ``command``, ``setting`` (an object, or null for
    commands without one), then the command's own keys. A ``setting`` the body already had is kept: an object's
    keys are merged under the standard ones, a string moves to ``setting_description``."""
    from iclcheck import __version__

    body = dict(body)
    old = body.pop("setting", None)
    st = None
    if setting is not None:
        st = setting_json(setting, cov=getattr(args, "cov", None), task_cov=getattr(args, "task_cov", None))
        if isinstance(old, dict):
            st = {**st, **{k: v for k, v in old.items() if k not in st}}
    elif isinstance(old, dict):
        st = old
    if isinstance(old, str):
        body["setting_description"] = old
    return {"schema": SCHEMA_VERSION, "iclcheck_version": __version__, "command": command, "setting": st, **body}


# ---- big results out: --out FILE.npy|.npz ----

BIG_JSON_ENTRIES = 1_000_000  # above this many matrix entries in JSON, a note on stderr points to --out


def add_out_argument(parser: Any, what: str) -> None:
    """``--out FILE.npy|.npz``: write the command's matrices in binary and print only the summary."""
    parser.add_argument("--out", metavar="FILE.npy|.npz", default=None,
                        help=f"write {what} to FILE (numpy binary, never pickled) and print only the summary; "
                        "the JSON then names the file instead of carrying the matrix")


OUT_SUFFIXES = (".npy", ".npz")


def check_out_path(path: Any) -> None:
    """``--out`` validated before any work: a .npy/.npz name whose target is (or can be created as) a regular file;
    FIFOs, devices, directories, symlinks to them and unwritable folders are refused (``numerics.outfiles``)."""
    from iclcheck.numerics.files.write import check_output_path

    check_output_path(path, what="--out", suffixes=OUT_SUFFIXES)


def write_arrays(path: str, arrays: dict[str, Any], *, scalars: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``arrays`` to ``path``: .npy takes exactly one array, .npz every array and scalar (arrays named by
    their keys). Returns the JSON description {"file", "format", "arrays": {name: shape}}. The file is opened
    with O_NONBLOCK and must be a regular file (``numerics.outfiles.open_output``: never blocks on a FIFO)."""
    import numpy as np

    from iclcheck.numerics.files.write import open_output
    from iclcheck.theory.errors import InputError

    low = str(path).lower()
    fmt = "npy" if low.endswith(".npy") else "npz" if low.endswith(".npz") else None
    if fmt is None:
        raise InputError("--out", f"{str(path)[:80]!r} must end in .npy or .npz")
    data = {k: np.asarray(v) for k, v in arrays.items()}
    try:
        if fmt == "npy":
            (arr,) = data.values()
            with open_output(path, what="--out") as f:
                np.save(f, arr, allow_pickle=False)
        else:
            data.update({k: np.asarray(v) for k, v in (scalars or {}).items() if v is not None})
            with open_output(path, what="--out") as f:  # (mypy matches **data against savez's allow_pickle: bool too)
                np.savez(f, **data)  # type: ignore[arg-type]  # the keys are array names
    except OSError as exc:
        raise InputError("--out", f"cannot write {str(path)!r}: {exc.strerror}") from None
    return {"file": str(path), "format": fmt, "arrays": {k: list(v.shape) for k, v in data.items()}}


def big_json_note(*matrices: Any) -> None:
    """One line on stderr when the JSON is about to carry more than BIG_JSON_ENTRIES matrix entries."""
    total = sum(int(getattr(m, "size", 0)) for m in matrices if m is not None)
    if total > BIG_JSON_ENTRIES:
        print(f"note: the JSON carries {total} matrix entries (~{total * 20 // 2**20} MB); --out FILE.npy writes "
              "them in binary (about 8 bytes each) and keeps the JSON to the summary", file=sys.stderr)
