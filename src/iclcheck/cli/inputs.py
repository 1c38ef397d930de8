"""Parsing of user-facing inputs (covariance SPECs, n, noise) into a validated ``theory.Setting``.

Grammar (strict; nothing is ever evaluated, sympified or unpickled):

    SPEC   := eye:D | diag:NUM,NUM,... | random:d=D,cond=K[,seed=S] | PATH.npy | PATH.csv | PATH.json
    NUM    := [+-]digits[.digits][e[+-]ddd] | [+-]digits/digits     (decimals are exact rationals: 0.25 = 1/4)
    TASK   := inv | SPEC                                              (--task-cov; default: identity)
    N      := a positive integer | n                                  (n: symbolic, exact/LaTeX output only)

``random:d=D,cond=K,seed=S`` is U diag(lam) U^T with U Haar-random orthogonal from
``np.random.default_rng(S)`` (QR of a Gaussian matrix with the sign of R's diagonal fixed) and lam
log-spaced from 1 to K (a float matrix). ``eye``/``diag``/csv/json give exact rationals; ``.npy``
gives floats (or exact integers for an integer array).

Every problem raises ``InputError`` naming the flag (``--cov``, ``--task-cov``, ``-n``, ``--noise``).
Shape, finiteness and symmetry are checked here; positive definiteness, the condition number (limit
``theory.setting.MAX_CONDITION`` = 1e12) and the scale (eigenvalues in [1e-40, 1e40], sigma2 <= 1e40)
are checked when ``setting_from_args`` builds the Setting.

Bounds (checked before any work): d <= MAX_DIM = 10000 (exact arithmetic: d <= MAX_EXACT_DIM = 100),
n <= 1e15, seeds 0 <= S < 2^63, .npy files <= 1 GB, .csv/.json files <= 32 MB (use .npy for larger
matrices), JSON nesting: a list of rows. Files must be regular files (FIFOs, devices, directories and
symlinks to them are refused before they are opened; the file is opened with O_NONBLOCK); a .npy header
is checked against the file size before anything is allocated. Digits are ASCII only.

Parsing the command line (``add_setting_arguments``) imports nothing heavy; numpy is imported when
a SPEC is parsed, sympy only for symbolic n.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from fractions import Fraction
from pathlib import Path
from tokenize import TokenError
from typing import Any

from iclcheck.cli.flags import flag_of
from iclcheck.numerics.files import read_regular_file  # the one hardened reader (also the library's)
from iclcheck.theory.errors import InputError

__all__ = [
    "COVARIATE_LAWS",
    "MAX_DIM",
    "MAX_EXACT_DIM",
    "MAX_SEED",
    "N_SYMBOL",  # noqa: F822 (a sympy Symbol, built on first use)
    "add_setting_arguments",
    "parse_cov",
    "parse_cov_spec",
    "parse_n",
    "parse_noise",
    "parse_number",
    "parse_seed",
    "parse_task_cov",
    "read_npy_bytes",
    "read_regular_file",
    "setting_from_args",
]

# The covariate laws of theory.setting (tests/cli/test_inputs.py checks they agree); kept here so that
# building the parser imports neither numpy nor sympy.
COVARIATE_LAWS = ("gaussian", "uniform", "rademacher")
MAX_DIM = 10_000  # d x d float64 at 10k is 800 MB; larger is surely a typo
MAX_EXACT_DIM = 100  # exact (rational) linear algebra beyond this takes tens of seconds to minutes
MAX_SEED = 2**63 - 1
_MAX_FILE_BYTES = 1 << 30  # .npy
_MAX_TEXT_BYTES = 32 << 20  # .csv / .json
_A = re.ASCII  # \d is [0-9] only: unicode digits ('٣') are not numbers here
_NUM_RE = re.compile(r"[+-]?(?:\d{1,60}(?:\.\d{0,60})?|\.\d{1,60})(?:[eE][+-]?\d{1,3})?", _A)
_RAT_RE = re.compile(r"[+-]?\d{1,60}/\d{1,60}", _A)
_INT_RE = re.compile(r"\+?\d{1,30}", _A)
_KEY_RE = re.compile(r"([a-z]+)=([^=,]*)", _A)


_N_SYMBOL: list[Any] = []  # built on first use and kept: sympy's symbol cache is an LRU and may evict it


def __getattr__(name: str) -> Any:
    if name == "N_SYMBOL":  # the symbolic n of exact output: a positive integer symbol, as theory.setting expects
        if not _N_SYMBOL:
            import sympy as sp

            _N_SYMBOL.append(sp.Symbol("n", positive=True, integer=True))
        return _N_SYMBOL[0]
    raise AttributeError(name)


def _show(text: str, limit: int = 60) -> str:
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_number(text: str, *, what: str) -> Fraction:
    """An exact rational from a decimal (``0.25``, ``1e-3``) or ``a/b`` literal; finite in float64."""
    s = str(text).strip()
    if _NUM_RE.fullmatch(s):
        value = Fraction(s)
    elif _RAT_RE.fullmatch(s):
        num, den = s.split("/")
        if int(den) == 0:
            raise InputError(what, f"division by zero in {_show(s)}")
        value = Fraction(int(num), int(den))
    else:
        if s == "":
            raise InputError(what, "empty number")
        raise InputError(what, f"{_show(s)} is not a number (use integers, decimals or a/b)")
    try:
        as_float = float(value)
    except OverflowError:
        as_float = float("inf")
    if as_float in (float("inf"), float("-inf")):
        raise InputError(what, f"{_show(s)} is out of the float64 range")
    return value


def positive_number(text: str, *, what: str) -> float:
    """A finite number > 0 in the grammar of ``parse_number`` (decimal or a/b, ASCII only), as a float."""
    value = parse_number(text, what=what)
    if value <= 0:
        raise InputError(what, f"must be > 0, got {_show(str(text).strip())}")
    return float(value)


def _int_arg(text: str, *, what: str, key: str) -> int:
    s = text.strip()
    if not _INT_RE.fullmatch(s):
        raise InputError(what, f"{key} must be a non-negative integer (ASCII digits), got {_show(s)}")
    return int(s)


def parse_seed(text: str | int, *, what: str = "--seed") -> int:
    """A seed: an integer 0 <= S <= 2^63 - 1 (ASCII digits)."""
    s = str(text).strip()
    if not re.fullmatch(r"\+?\d{1,30}", s, _A):
        raise InputError(what, f"must be a non-negative integer below 2^63, got {_show(s)}")
    v = int(s)
    if v > MAX_SEED:
        raise InputError(what, f"must be a non-negative integer below 2^63, got {_show(s)}")
    return v


def _dim(d: int, *, what: str) -> int:
    if d < 1:
        raise InputError(what, f"dimension must be at least 1, got {d}")
    if d > MAX_DIM:
        raise InputError(what, f"dimension {d} exceeds the supported maximum {MAX_DIM}")
    return d


def _random_spd(d: int, cond: float, seed: int) -> Any:
    """U diag(logspace(1..cond)) U^T with U Haar-distributed (seeded)."""
    import numpy as np

    from iclcheck.numerics.random_matrices import random_spd

    return random_spd(d, cond, np.random.default_rng(seed))


def _parse_random(body: str, *, what: str) -> Any:
    from iclcheck.theory.setting import MAX_CONDITION

    fields: dict[str, str] = {}
    for part in body.split(","):
        m = _KEY_RE.fullmatch(part.strip())
        if not m:
            raise InputError(what, f"random spec field {_show(part)} is not key=value (random:d=D,cond=K,seed=S)")
        key, val = m.groups()
        if key not in ("d", "cond", "seed"):
            raise InputError(what, f"unknown random spec field {key!r} (use d, cond, seed)")
        if key in fields:
            raise InputError(what, f"random spec field {key!r} given twice")
        fields[key] = val
    if "d" not in fields or "cond" not in fields:
        raise InputError(what, "random spec needs d and cond: random:d=D,cond=K,seed=S")
    d = _dim(_int_arg(fields["d"], what=what, key="d"), what=what)
    cond = float(parse_number(fields["cond"], what=f"{what} cond"))
    if cond < 1:
        raise InputError(what, f"cond must be >= 1, got {cond:g}")
    if cond > MAX_CONDITION:
        raise InputError(what, f"is nearly singular: cond={cond:.3g} exceeds {MAX_CONDITION:.0e}")
    seed = parse_seed(fields.get("seed", "0"), what=f"{what} seed")
    return _random_spd(d, cond, seed)


def _rows_to_matrix(rows: list[list[Any]], *, what: str) -> Any:
    import numpy as np

    if not rows:
        raise InputError(what, "matrix is empty")
    d = len(rows)
    for i, r in enumerate(rows):
        if len(r) != d:
            raise InputError(what, f"must be a square matrix: {d} rows but row {i + 1} has {len(r)} entries")
    _dim(d, what=what)
    A = np.empty((d, d), dtype=object)
    for i, r in enumerate(rows):
        A[i, :] = r
    return A


def _read_text(path: Path, *, what: str) -> str:
    data = read_regular_file(path, what=what, limit=_MAX_TEXT_BYTES, limit_text="32 MB (use .npy for large matrices)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(what, f"{_show(path.name)} is not UTF-8 text") from None


def _load_csv(path: Path, *, what: str) -> Any:
    rows: list[list[Fraction]] = []
    for k, line in enumerate(_read_text(path, what=what).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = re.split(r"\s*,\s*|\s+", line)
        if len(cells) > MAX_DIM or len(rows) >= MAX_DIM:
            raise InputError(what, f"{_show(path.name)} has more than {MAX_DIM} rows or columns")
        rows.append([parse_number(c, what=f"{what} ({path.name} line {k})") for c in cells])
    return _rows_to_matrix(rows, what=what)


def _json_depth(text: str) -> int:
    """Maximum nesting depth of [ and { outside JSON strings (linear time, no recursion)."""
    depth = best = 0
    for tok in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        c = tok.group()
        if c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth -= 1
    return best


def _load_json(path: Path, *, what: str) -> Any:
    def bad_constant(name: str) -> Any:
        raise InputError(what, f"{path.name} holds the non-finite value {name}")

    def number(s: str) -> Fraction:
        return parse_number(s, what=f"{what} ({path.name})")

    text = _read_text(path, what=what)
    if _json_depth(text) > 2:
        raise InputError(what, f"{_show(path.name)} is nested deeper than a list of rows [[...], ...]")
    try:
        data = json.loads(text, parse_float=number, parse_int=number, parse_constant=bad_constant)
    except RecursionError:  # not reachable after the depth check; kept as a guard
        raise InputError(what, f"{_show(path.name)} is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputError(what, f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise InputError(what, f"{path.name} must hold a nested list (list of rows)")
    rows = []
    for r in data:
        row = []
        for e in r:
            if isinstance(e, Fraction):
                row.append(e)
            elif isinstance(e, str):
                row.append(parse_number(e, what=f"{what} ({path.name})"))
            else:
                raise InputError(what, f"{path.name}: entries must be numbers or strings 'a/b', got {type(e).__name__}")
        rows.append(row)
    return _rows_to_matrix(rows, what=what)


def read_npy_bytes(data: bytes, *, what: str, name: str, max_dim: int = MAX_DIM) -> Any:
    """A 2-D real array from the bytes of a .npy file. The magic string and the header are parsed first;
    the dtype must be a plain real number type (never objects: nothing is unpickled), the shape 2-D with
    sides <= max_dim, and shape x itemsize must equal the bytes that follow the header, all before
    anything is allocated."""
    import numpy as np
    from numpy.lib import format as npf

    name = _show(name)
    f = io.BytesIO(data)
    if not data.startswith(b"\x93NUMPY"):
        raise InputError(what, f"{name} is not a .npy file (no NUMPY magic string)")
    try:
        version = npf.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npf.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npf.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported version {version}")
    except (ValueError, SyntaxError, TypeError, EOFError, OverflowError, KeyError, TokenError, RecursionError,
            MemoryError) as exc:  # the header is a Python literal read by numpy (ast/tokenize): anything may fail
        raise InputError(what, f"{name} has a damaged .npy header ({type(exc).__name__}: "
                         f"{_show(str(exc), 80)})") from None
    if dtype.hasobject:
        raise InputError(what, f"{name} holds Python objects (pickled data); refusing to unpickle it")
    if dtype.kind not in "iuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise InputError(what, f"{name} has dtype {dtype}; need real floats or integers")
    if len(shape) != 2:
        raise InputError(what, f"{name} must hold a 2-D matrix, got shape {shape}")
    if max(shape) > max_dim:
        raise InputError(what, f"{name} claims shape {shape}; the supported maximum side is {max_dim}")
    need = shape[0] * shape[1] * dtype.itemsize
    have = len(data) - f.tell()
    if have != need:
        raise InputError(what, f"{name} is truncated or padded: its header claims shape {shape} ({need} bytes of "
                         f"{dtype}) but {have} bytes follow")
    A = np.frombuffer(data, dtype=dtype, count=shape[0] * shape[1], offset=f.tell())
    return A.reshape(shape, order="F" if fortran else "C").copy()


def _load_npy(path: Path, *, what: str) -> Any:
    import numpy as np

    data = read_regular_file(path, what=what, limit=_MAX_FILE_BYTES, limit_text="1 GB")
    A = read_npy_bytes(data, what=what, name=path.name)
    if A.dtype.kind in "iu":
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.size == 0:
            raise InputError(what, f"must be a non-empty square matrix, got shape {A.shape}")
        _dim(A.shape[0], what=what)
        return np.vectorize(lambda v: Fraction(int(v)), otypes=[object])(A)
    if A.dtype.kind != "f":
        raise InputError(what, f"{path.name} has dtype {A.dtype}; need real floats or integers")
    return A.astype(float)


def _check_matrix(A: Any, *, what: str) -> Any:
    """Shape, finiteness and symmetry (exact symmetry for exact matrices)."""
    import numpy as np

    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise InputError(what, f"must be a non-empty square matrix, got shape {A.shape}")
    if A.dtype == object:
        diff = np.argwhere(A != A.T)
        if diff.size:
            i, j = diff[0]
            raise InputError(what, f"is not symmetric (entry [{i},{j}]={A[i, j]} but [{j},{i}]={A[j, i]})")
        return A
    if not np.all(np.isfinite(A)):
        raise InputError(what, "has non-finite entries (NaN or inf)")
    from iclcheck.theory.setting import check_symmetric, max_abs

    return check_symmetric(A, what, scale=max(max_abs(A), 1e-300))


def parse_cov_spec(text: str, *, what: str = "--cov", exact: bool = True) -> Any:
    """A symmetric matrix from a covariance SPEC (see the module docstring).

    Returns an object array of ``Fraction`` when the SPEC is exact and ``exact`` is true, else a
    float64 array. Raises ``InputError`` naming ``what`` for anything else."""
    import numpy as np

    if not isinstance(text, str):
        raise InputError(what, f"expected a SPEC string, got {type(text).__name__}")
    s = text.strip()
    head, sep, body = s.partition(":")
    if sep and head == "eye":
        d = _dim(_int_arg(body, what=what, key="D in eye:D"), what=what)
        if exact and d <= MAX_EXACT_DIM:
            A = np.full((d, d), Fraction(0), dtype=object)
            np.fill_diagonal(A, Fraction(1))
        else:  # floats (exact arithmetic is refused above MAX_EXACT_DIM anyway)
            A = np.eye(d)
    elif sep and head == "diag":
        if body.count(",") >= MAX_DIM:
            raise InputError(what, f"dimension exceeds the supported maximum {MAX_DIM}")
        items = body.split(",")
        vals = []
        for k, item in enumerate(items, start=1):
            if not item.strip():
                raise InputError(what, f"diag entry {k} is empty in {_show(s)}")
            vals.append(parse_number(item, what=f"{what} diag entry {k}"))
        d = _dim(len(vals), what=what)
        if exact and d <= MAX_EXACT_DIM:
            A = np.full((d, d), Fraction(0), dtype=object)
            for i, v in enumerate(vals):
                A[i, i] = v
        else:
            A = np.diag(np.array([float(v) for v in vals]))
    elif sep and head == "random":
        A = _parse_random(body, what=what)
    elif s.lower().endswith((".npy", ".csv", ".json")):
        path = Path(s)
        loader = {".npy": _load_npy, ".csv": _load_csv, ".json": _load_json}[path.suffix.lower()]
        A = loader(path, what=what)
    else:
        raise InputError(
            what, f"unknown SPEC {_show(s)}; use eye:D, diag:v1,v2,..., random:d=D,cond=K,seed=S "
            "or a path to a .npy/.csv/.json file"
        )
    A = _check_matrix(A, what=what)
    if not exact and A.dtype == object:
        A = A.astype(float)
    return A


def parse_cov(text: str, **kw: Any) -> Any:
    """Alias of ``parse_cov_spec`` (float output by default) for commands that need floats only."""
    kw.setdefault("exact", False)
    return parse_cov_spec(text, **kw)


def parse_task_cov(text: str | None, *, exact: bool = True) -> Any:
    """``--task-cov``: None (identity), ``'inv'`` (Sigma^{-1}) or a SPEC matrix."""
    if text is None:
        return None
    s = str(text).strip()
    if s in ("inv", "inverse"):
        return "inv"
    return parse_cov_spec(s, what="--task-cov", exact=exact)


def parse_noise(text: str | None) -> Fraction:
    """``--noise``: label-noise variance sigma2 >= 0, exact (integer, decimal or a/b)."""
    if text is None:
        return Fraction(0)
    v = parse_number(str(text), what="--noise")
    if v < 0:
        raise InputError("--noise", f"variance must be >= 0, got {text}")
    return v


def parse_n(text: str | int, *, allow_symbolic: bool = False) -> Any:
    """``-n``: a positive integer <= 1e15, or ``n`` (symbolic, a sympy Symbol) when exact output was asked for."""
    from iclcheck.theory.setting import MAX_N

    s = str(text).strip()
    if s == "n":
        if not allow_symbolic:
            raise InputError("-n", "symbolic n is only available with exact output (--exact, --format latex "
                             "or --symbolic)")
        return __getattr__("N_SYMBOL")
    if not re.fullmatch(r"[+-]?\d{1,400}", s, _A):
        raise InputError("-n", f"must be a positive integer (or 'n' for symbolic), got {_show(s)}")
    n = int(s)
    if n < 1:
        raise InputError("-n", f"must be at least 1, got {n}")
    if n > MAX_N:
        raise InputError("-n", f"must be at most {MAX_N:.0e}, got {_show(s)}")
    return n


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every one-layer command shares (the Setting)."""
    g = parser.add_argument_group("setting")
    g.add_argument("--cov", required=True, metavar="SPEC",
                   help="covariate covariance Sigma: eye:D, diag:v1,v2,... (integers, decimals, a/b), "
                        "random:d=D,cond=K,seed=S, or a .npy/.csv/.json file (regular files only). Bounds: "
                        "d <= 10000 (exact arithmetic d <= 100), condition number <= 1e12, eigenvalues in "
                        "[1e-40, 1e40]; .npy <= 1 GB, .csv/.json <= 32 MB")
    g.add_argument("-n", required=True, metavar="N",
                   help="number of in-context examples (integer 1..1e15; 'n' = symbolic, exact output only)")
    g.add_argument("--task-cov", metavar="SPEC|inv", default=None,
                   help="task prior covariance Sigma_w (default: identity; 'inv' = Sigma^-1); a SPEC as for --cov, "
                        "with the same bounds")
    g.add_argument("--noise", metavar="S2", default="0",
                   help="label-noise variance sigma^2, 0 <= S2 <= 1e40 (default 0)")
    g.add_argument("--covariates", choices=COVARIATE_LAWS, default="gaussian",
                   help="law of the standardized coordinates of Sigma^-1/2 x (default gaussian)")




def setting_from_args(args: argparse.Namespace, *, exact: bool | None = None) -> Any:
    """Build the validated ``Setting`` from parsed CLI options.

    exact: keep exact rationals (default: when --exact, --symbolic or --format latex was given).
    Symbolic n is allowed only in exact mode. Errors from ``Setting.make`` are re-labelled with
    the flag they came from."""
    import numpy as np

    from iclcheck.theory.setting import Setting

    asked = bool(getattr(args, "exact", False) or getattr(args, "symbolic", False))
    if exact is None:
        exact = asked or getattr(args, "format", None) == "latex"
    Sigma = parse_cov_spec(args.cov, what="--cov", exact=exact)
    if exact and Sigma.shape[0] > MAX_EXACT_DIM:
        if asked:
            flag = "--exact" if getattr(args, "exact", False) else "--symbolic"
            raise InputError(flag, f"rational arithmetic is limited to d <= {MAX_EXACT_DIM}, got d={Sigma.shape[0]} "
                             "(drop the flag for the float answer)")
        exact = False  # LaTeX of a large matrix: floats
        Sigma = Sigma.astype(float) if Sigma.dtype == object else Sigma
    W = parse_task_cov(getattr(args, "task_cov", None), exact=exact)
    d = Sigma.shape[0]
    if isinstance(W, np.ndarray) and W.shape != (d, d):
        raise InputError("--task-cov", f"is {W.shape[0]}x{W.shape[1]} but --cov is {d}x{d}")
    sigma2: Fraction | float = parse_noise(getattr(args, "noise", None))
    n = parse_n(args.n, allow_symbolic=exact)
    if not exact:
        sigma2 = float(sigma2)
    try:
        setting = Setting.make(Sigma, n, Sigma_w=W, sigma2=sigma2,
                               covariates=getattr(args, "covariates", "gaussian"))
    except InputError as exc:
        raise InputError(flag_of(exc.what), exc.problem) from None
    if setting.n_is_symbolic and not setting.is_exact:
        raise InputError("-n", "symbolic n needs exact inputs (eye/diag/csv/json covariances, not random or "
                         "float .npy)")
    return setting
