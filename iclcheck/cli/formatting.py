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
    "dump_json",
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


def dump_json(obj: Any, *, file: TextIO | None = None) -> None:
    """Print one JSON object (floats round-trip exactly)."""
    json.dump(to_jsonable(obj), file or sys.stdout, allow_nan=False)
    (file or sys.stdout).write("\n")
