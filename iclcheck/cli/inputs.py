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
Shape, finiteness and symmetry are checked here; positive definiteness and the condition number
(limit ``theory.setting.MAX_CONDITION``) are checked when ``setting_from_args`` builds the Setting.
"""

from __future__ import annotations

import argparse
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import COVARIATE_LAWS, MAX_CONDITION, Setting

__all__ = [
    "MAX_DIM",
    "MAX_EXACT_DIM",
    "N_SYMBOL",
    "add_setting_arguments",
    "parse_cov",
    "parse_cov_spec",
    "parse_n",
    "parse_noise",
    "parse_number",
    "parse_task_cov",
    "setting_from_args",
]

MAX_DIM = 10_000  # d x d float64 at 10k is 800 MB; larger is surely a typo
MAX_EXACT_DIM = 100  # exact (rational) linear algebra beyond this takes tens of seconds to minutes
_MAX_FILE_BYTES = 1 << 30
_NUM_RE = re.compile(r"[+-]?(?:\d{1,60}(?:\.\d{0,60})?|\.\d{1,60})(?:[eE][+-]?\d{1,3})?")
_RAT_RE = re.compile(r"[+-]?\d{1,60}/\d{1,60}")
_INT_RE = re.compile(r"\+?\d{1,9}")
_KEY_RE = re.compile(r"([a-z]+)=([^=,]*)")
# The symbolic n of exact output: a positive integer symbol, as theory.setting expects.
N_SYMBOL = sp.Symbol("n", positive=True, integer=True)


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
    if not np.isfinite(as_float):
        raise InputError(what, f"{_show(s)} is out of the float64 range")
    return value


def _int_arg(text: str, *, what: str, key: str) -> int:
    s = text.strip()
    if not _INT_RE.fullmatch(s):
        raise InputError(what, f"{key} must be a non-negative integer, got {_show(s)}")
    return int(s)


def _dim(d: int, *, what: str) -> int:
    if d < 1:
        raise InputError(what, f"dimension must be at least 1, got {d}")
    if d > MAX_DIM:
        raise InputError(what, f"dimension {d} exceeds the supported maximum {MAX_DIM}")
    return d


def _random_spd(d: int, cond: float, seed: int) -> np.ndarray:
    """U diag(logspace(1..cond)) U^T with U Haar-distributed (seeded)."""
    from iclcheck.numerics.random_matrices import random_spd

    return random_spd(d, cond, np.random.default_rng(seed))


def _parse_random(body: str, *, what: str) -> np.ndarray:
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
    seed = _int_arg(fields.get("seed", "0"), what=what, key="seed")
    return _random_spd(d, cond, seed)


def _rows_to_matrix(rows: list[list[Any]], *, what: str) -> np.ndarray:
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
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise InputError(what, f"file {_show(str(path))} is larger than 1 GB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(what, f"no such file {_show(str(path))}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(what, f"cannot read {_show(str(path))} ({type(exc).__name__})") from None


def _load_csv(path: Path, *, what: str) -> np.ndarray:
    rows = []
    for k, line in enumerate(_read_text(path, what=what).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = re.split(r"\s*,\s*|\s+", line)
        rows.append([parse_number(c, what=f"{what} ({path.name} line {k})") for c in cells])
    return _rows_to_matrix(rows, what=what)


def _load_json(path: Path, *, what: str) -> np.ndarray:
    def bad_constant(name: str) -> Any:
        raise InputError(what, f"{path.name} holds the non-finite value {name}")

    def number(s: str) -> Fraction:
        return parse_number(s, what=f"{what} ({path.name})")

    try:
        data = json.loads(_read_text(path, what=what), parse_float=number, parse_int=number,
                          parse_constant=bad_constant)
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


def _load_npy(path: Path, *, what: str) -> np.ndarray:
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise InputError(what, f"file {_show(str(path))} is larger than 1 GB")
        A = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(what, f"no such file {_show(str(path))}") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise InputError(what, f"{path.name} holds pickled data; refusing to unpickle it") from None
        raise InputError(what, f"{path.name} is not a valid .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise InputError(what, f"cannot read {_show(str(path))} ({type(exc).__name__})") from None
    if not isinstance(A, np.ndarray):
        raise InputError(what, f"{path.name} is an archive, not a single .npy array")
    if A.dtype.kind in "iu":
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.size == 0:
            raise InputError(what, f"must be a non-empty square matrix, got shape {A.shape}")
        _dim(A.shape[0], what=what)
        return np.vectorize(lambda v: Fraction(int(v)), otypes=[object])(A)
    if A.dtype.kind != "f":
        raise InputError(what, f"{path.name} has dtype {A.dtype}; need real floats or integers")
    return A.astype(float)


def _check_matrix(A: np.ndarray, *, what: str) -> np.ndarray:
    """Shape, finiteness and symmetry (exact symmetry for exact matrices)."""
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
    scale = max(float(np.max(np.abs(A))), 1e-300)
    if np.max(np.abs(A - A.T)) > 1e-12 * scale:
        i, j = np.unravel_index(np.argmax(np.abs(A - A.T)), A.shape)
        raise InputError(what, f"is not symmetric (entry [{i},{j}]={A[i, j]:g} but [{j},{i}]={A[j, i]:g})")
    return (A + A.T) / 2


def parse_cov_spec(text: str, *, what: str = "--cov", exact: bool = True) -> np.ndarray:
    """A symmetric matrix from a covariance SPEC (see the module docstring).

    Returns an object array of ``Fraction`` when the SPEC is exact and ``exact`` is true, else a
    float64 array. Raises ``InputError`` naming ``what`` for anything else."""
    if not isinstance(text, str):
        raise InputError(what, f"expected a SPEC string, got {type(text).__name__}")
    s = text.strip()
    head, sep, body = s.partition(":")
    if sep and head == "eye":
        d = _dim(_int_arg(body, what=what, key="D in eye:D"), what=what)
        A = np.full((d, d), Fraction(0), dtype=object)
        np.fill_diagonal(A, Fraction(1))
        A = A if exact else np.eye(d)
    elif sep and head == "diag":
        items = body.split(",")
        vals = []
        for k, item in enumerate(items, start=1):
            if not item.strip():
                raise InputError(what, f"diag entry {k} is empty in {_show(s)}")
            vals.append(parse_number(item, what=f"{what} diag entry {k}"))
        d = _dim(len(vals), what=what)
        A = np.full((d, d), Fraction(0), dtype=object)
        for i, v in enumerate(vals):
            A[i, i] = v
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


def parse_cov(text: str, **kw: Any) -> np.ndarray:
    """Alias of ``parse_cov_spec`` (float output by default) for commands that need floats only."""
    kw.setdefault("exact", False)
    return parse_cov_spec(text, **kw)


def parse_task_cov(text: str | None, *, exact: bool = True) -> str | np.ndarray | None:
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


def parse_n(text: str | int, *, allow_symbolic: bool = False) -> int | sp.Symbol:
    """``-n``: a positive integer, or ``n`` (symbolic) when exact output was asked for."""
    s = str(text).strip()
    if s == "n":
        if not allow_symbolic:
            raise InputError("-n", "symbolic n is only available with exact output (--exact, --format latex "
                             "or --symbolic)")
        return N_SYMBOL
    if not re.fullmatch(r"[+-]?\d{1,30}", s):
        raise InputError("-n", f"must be a positive integer (or 'n' for symbolic), got {_show(s)}")
    n = int(s)
    if n < 1:
        raise InputError("-n", f"must be at least 1, got {n}")
    return n


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every one-layer command shares (the Setting)."""
    g = parser.add_argument_group("setting")
    g.add_argument("--cov", required=True, metavar="SPEC",
                   help="covariate covariance Sigma: eye:D, diag:v1,v2,... (integers, decimals, a/b), "
                        "random:d=D,cond=K,seed=S, or a .npy/.csv/.json file")
    g.add_argument("-n", required=True, metavar="N",
                   help="number of in-context examples (positive integer; 'n' = symbolic, exact output only)")
    g.add_argument("--task-cov", metavar="SPEC|inv", default=None,
                   help="task prior covariance Sigma_w (default: identity; 'inv' = Sigma^-1)")
    g.add_argument("--noise", metavar="S2", default="0", help="label-noise variance sigma^2 >= 0 (default 0)")
    g.add_argument("--covariates", choices=COVARIATE_LAWS, default="gaussian",
                   help="law of the standardized coordinates of Sigma^-1/2 x (default gaussian)")


_SETTING_FLAGS = {
    "covariance Sigma": "--cov",
    "task covariance Sigma_w": "--task-cov",
    "noise variance sigma2": "--noise",
    "n": "-n",
    "covariates": "--covariates",
}


def setting_from_args(args: argparse.Namespace, *, exact: bool | None = None) -> Setting:
    """Build the validated ``Setting`` from parsed CLI options.

    exact: keep exact rationals (default: when --exact, --symbolic or --format latex was given).
    Symbolic n is allowed only in exact mode. Errors from ``Setting.make`` are re-labelled with
    the flag they came from."""
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
    sigma2 = parse_noise(getattr(args, "noise", None))
    n = parse_n(args.n, allow_symbolic=exact)
    if not exact:
        sigma2 = float(sigma2)
    try:
        setting = Setting.make(Sigma, n, Sigma_w=W, sigma2=sigma2,
                               covariates=getattr(args, "covariates", "gaussian"))
    except InputError as exc:
        raise InputError(_SETTING_FLAGS.get(exc.what, exc.what), exc.problem) from None
    if setting.n_is_symbolic and not setting.is_exact:
        raise InputError("-n", "symbolic n needs exact inputs (eye/diag/csv/json covariances, not random or "
                         "float .npy)")
    return setting
