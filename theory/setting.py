"""The data model of an in-context linear-regression prompt, validated.

x_i, x_q  = Sigma^{1/2} s, s with iid standardized coordinates of the covariate law
            (gaussian: N(0,1); uniform: U(-sqrt3, sqrt3); rademacher: +-1), Sigma^{1/2} the
            symmetric PSD square root.  For the Gaussian law this is exactly N(0, Sigma).
w         ~ N(0, Sigma_w)
y_i       = w^T x_i + eps_i, eps_i ~ N(0, sigma2)

A ``Setting`` carries float arrays (``Sigma``, ``Sigma_w``) for numerics and, when every input was
exact (integers / rationals), exact sympy matrices (``Sigma_exact``, ``Sigma_w_exact``) for exact
derivations. ``n`` is a positive int or a positive sympy Symbol (symbolic derivations only).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["COVARIATE_LAWS", "KURTOSIS", "MAX_CONDITION", "MAX_N", "MAX_SCALE", "MIN_SCALE", "Setting"]  # noqa: F822 (lazy)

# Fourth moment E s^4 of the standardized coordinate law (mean 0, variance 1), exact. ``KURTOSIS``
# (the same values as sympy Rationals) is built on first use, so that importing this module does not
# import sympy (the CLI's float path never needs it).
KURTOSIS_FRACTION: dict[str, Fraction] = {
    "gaussian": Fraction(3),
    "uniform": Fraction(9, 5),
    "rademacher": Fraction(1),
}
COVARIATE_LAWS = tuple(KURTOSIS_FRACTION)

# Refuse covariances whose condition number exceeds this: every closed form inverts matrices built
# from Sigma, and past ~1e12 double precision leaves fewer than 4 correct digits.
MAX_CONDITION = 1e12
# Scale: the one-layer loss is a polynomial of degree up to 6 in the entries of Sigma, Sigma_w and
# sigma2 (e.g. tr(S K11 S W) with K11 = Q11 S Q11^T, tau^2 k22), so every nonzero eigenvalue of Sigma
# and Sigma_w must lie in [MIN_SCALE, MAX_SCALE] = [1e-40, 1e40], and sigma2 <= MAX_SCALE: any product
# of six such numbers stays inside the float64 range (1e-308 .. 1e308) with room for the sums.
MAX_SCALE = 1e40
MIN_SCALE = 1e-40
# n: a Python int; (n + 1)/n and 1/n are evaluated in floats. Past 1e15 n + 1 is not exact in float64.
MAX_N = 10**15


def _sympy():
    import sympy

    return sympy


def _is_sympy(x: Any) -> bool:
    """True for a sympy object, without importing sympy (if it is not loaded, x cannot be one)."""
    sp = sys.modules.get("sympy")
    return sp is not None and isinstance(x, (sp.Basic, sp.MatrixBase))


def __getattr__(name: str) -> Any:  # lazy module attribute KURTOSIS (sympy Rationals)
    if name == "KURTOSIS":
        sp = _sympy()
        return {k: sp.Rational(v.numerator, v.denominator) for k, v in KURTOSIS_FRACTION.items()}
    raise AttributeError(name)


def _check_scale(ev_min: float, ev_max: float, what: str) -> None:
    if ev_max > MAX_SCALE:
        raise InputError(what, f"is too large: largest eigenvalue {ev_max:.3g} exceeds {MAX_SCALE:.0e} (the loss "
                         "is a degree-6 polynomial in it and would overflow float64; rescale the units)")
    if ev_min < MIN_SCALE:
        raise InputError(what, f"is too small: smallest eigenvalue {ev_min:.3g} is below {MIN_SCALE:.0e} (the loss "
                         "would underflow float64; rescale the units)")


def _as_exact_matrix(A: Any, what: str) -> Any:  # a sympy Matrix or None
    """An exact sympy matrix if every entry is an int / Fraction / sympy Rational, else None."""
    if isinstance(A, np.ndarray) and A.dtype != object:
        return None
    sp = _sympy()
    if isinstance(A, sp.MatrixBase):
        M = sp.Matrix(A)
        return M if all(e.is_Rational for e in M) else (M if M.free_symbols else None)
    try:
        rows = [list(r) for r in A]
    except TypeError:
        return None
    out = []
    for r in rows:
        row = []
        for e in r:
            if isinstance(e, bool):
                raise InputError(what, "entries must be numbers, got a boolean")
            if isinstance(e, (int, np.integer)):
                row.append(sp.Integer(int(e)))
            elif isinstance(e, Fraction):
                row.append(sp.Rational(e.numerator, e.denominator))
            elif isinstance(e, sp.Basic) and e.is_Rational:
                row.append(e)
            else:
                return None
        out.append(row)
    return sp.Matrix(out)


def _as_float_matrix(A: Any, what: str) -> np.ndarray:
    try:
        if _is_sympy(A):
            M = np.array(A.evalf(), dtype=float)
        else:
            M = np.array(
                [[float(e) for e in r] for r in A] if not isinstance(A, np.ndarray) else A, dtype=float
            )
    except (TypeError, ValueError) as exc:
        raise InputError(what, f"entries must be real numbers ({exc})") from None
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise InputError(what, f"must be a non-empty square matrix, got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise InputError(what, "has non-finite entries (NaN or inf)")
    return M


def max_abs(M: np.ndarray) -> float:
    """max |M| without a d x d temporary (a fresh 32 MB array costs ~20 ms of page faults at d = 2000)."""
    return float(max(np.max(M), -np.min(M)))


def max_asymmetry(M: np.ndarray) -> float:
    """max |M - M^T| over the entries, in cache-sized row blocks (the plain ``M - M.T`` reads the transpose
    column by column: ~2.5x slower at d = 2000)."""
    d, blk = M.shape[0], 256
    return max(float(np.max(np.abs(M[i:i + blk, :] - M[:, i:i + blk].T))) for i in range(0, d, blk))


def check_symmetric(M: np.ndarray, what: str, *, scale: float) -> np.ndarray:
    """(M + M^T) / 2, or M itself when it is exactly symmetric; InputError beyond 1e-12 * scale of asymmetry."""
    asym = max_asymmetry(M)
    if asym > 1e-12 * scale:
        i, j = np.unravel_index(np.argmax(np.abs(M - M.T)), M.shape)
        raise InputError(what, f"is not symmetric (entry [{i},{j}]={M[i, j]:g} but [{j},{i}]={M[j, i]:g})")
    return M if asym == 0 else (M + M.T) / 2


def _check_spd(M: np.ndarray, what: str) -> None:
    scale = max(max_abs(M), 1e-300)
    A = check_symmetric(M, what, scale=scale)
    d = A.shape[0]
    if d <= 300:  # small: the eigenvalues themselves (numpy only; no scipy import on the CLI's fast path)
        ev = np.linalg.eigvalsh(A)
        _decide_spd(ev, scale, what)
        return
    # Fast path, O(d^3/3): a Cholesky factor proves positive definiteness and LAPACK's estimate of
    # the 1-norm condition number bounds the 2-norm one from above up to the estimator's slack
    # (kappa_1 >= kappa_2 for symmetric A; the estimate is within a small factor of kappa_1). Only
    # when it comes near the limit, or Cholesky fails, do we pay for the eigenvalues (and name them).
    from scipy.linalg import lapack

    c, info = lapack.dpotrf(A.T, lower=0, clean=0)  # A.T: A itself (symmetric), F-ordered: a plain copy
    if info == 0:
        norm1 = max(float(np.max(np.sum(np.abs(A[:, i:i + 256]), axis=0))) for i in range(0, d, 256))  # ||A||_1
        rcond, info2 = lapack.dpocon(c, norm1)
        if info2 == 0 and rcond > 0 and 1.0 / rcond < MAX_CONDITION / 100:
            diag = np.diagonal(A)  # for SPD A: lambda_min <= min diag, lambda_max in [max diag, d max diag]
            if diag.max() * d <= MAX_SCALE and diag.min() * rcond / d >= MIN_SCALE:
                return
    _decide_spd(np.linalg.eigvalsh(A), scale, what)


def _decide_spd(ev: np.ndarray, scale: float, what: str) -> None:
    if ev[0] <= 0:
        kind = "singular" if abs(ev[0]) <= 1e-14 * scale else "indefinite"
        raise InputError(what, f"is {kind}, not positive definite (smallest eigenvalue {ev[0]:.3g})")
    cond = ev[-1] / ev[0]
    # 1% slack: the computed smallest eigenvalue of a float matrix at condition 1e12 is itself only known to
    # ~cond * eps ~ 1e-4 relative, so a matrix built with condition exactly 1e12 (random:...,cond=1e12) passes
    if cond > MAX_CONDITION * 1.01:
        raise InputError(
            what, f"is nearly singular: condition number {cond:.3g} exceeds {MAX_CONDITION:.0e}"
        )
    _check_scale(float(ev[0]), float(ev[-1]), what)


def _exact_scalar(v: Any, what: str) -> tuple[float, Any]:  # (float, sympy Rational or None)
    if isinstance(v, bool):
        raise InputError(what, "must be a number, got a boolean")
    if isinstance(v, (int, np.integer)):
        try:
            f = float(v)
        except OverflowError:
            raise InputError(what, f"{v} is out of the float64 range") from None
        return f, _sympy().Integer(int(v))
    if isinstance(v, Fraction):
        sp = _sympy()
        return float(v), sp.Rational(v.numerator, v.denominator)
    if _is_sympy(v) and v.is_Rational:
        return float(v), v
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(what, f"must be a real number, got {v!r}") from None
    return f, None


@dataclass(frozen=True, eq=False)
class Setting:
    """A validated data setting. Build with ``Setting.make``; fields are read-only."""

    Sigma: np.ndarray
    Sigma_w: np.ndarray
    n: Any  # int >= 1, or a positive sympy Symbol
    sigma2: float
    covariates: str
    Sigma_exact: Any  # sympy Matrix or None
    Sigma_w_exact: Any  # sympy Matrix or None
    sigma2_exact: Any  # sympy Rational or None
    task_cov_kind: str  # "identity", "inverse" or "given"

    @property
    def d(self) -> int:
        return self.Sigma.shape[0]

    @property
    def kurtosis(self) -> Any:
        """E s^4 of the standardized covariate coordinate (3 for Gaussian), a sympy Rational."""
        k = KURTOSIS_FRACTION[self.covariates]
        return _sympy().Rational(k.numerator, k.denominator)

    @property
    def kurtosis_float(self) -> float:
        """E s^4 as a float (no sympy import)."""
        return float(KURTOSIS_FRACTION[self.covariates])

    @property
    def gaussian(self) -> bool:
        return self.covariates == "gaussian"

    @property
    def is_exact(self) -> bool:
        return (
            self.Sigma_exact is not None and self.Sigma_w_exact is not None and self.sigma2_exact is not None
        )

    @property
    def n_is_symbolic(self) -> bool:
        return _is_sympy(self.n)

    def with_n(self, n: Any) -> Setting:
        return Setting.make(
            self.Sigma_exact if self.Sigma_exact is not None else self.Sigma,
            n,
            Sigma_w=(
                "inv" if self.task_cov_kind == "inverse" else None if self.task_cov_kind == "identity"
                else (self.Sigma_w_exact if self.Sigma_w_exact is not None else self.Sigma_w)
            ),
            sigma2=self.sigma2_exact if self.sigma2_exact is not None else self.sigma2,
            covariates=self.covariates,
        )

    @staticmethod
    def make(
        Sigma: Any,
        n: Any,
        *,
        Sigma_w: Any = None,
        sigma2: Any = 0,
        covariates: str = "gaussian",
    ) -> Setting:
        """Validate and build a setting.

        Sigma:      d x d symmetric positive definite (nested lists, numpy array or sympy Matrix;
                    ints / Fractions / sympy Rationals keep it exact).
        n:          number of in-context examples, int >= 1 or a sympy Symbol (symbolic n).
        Sigma_w:    task prior covariance; None (identity), "inv" (Sigma^{-1}) or a matrix.
        sigma2:     label-noise variance >= 0.
        covariates: "gaussian", "uniform" or "rademacher" (coordinates of Sigma^{-1/2} x).
        """
        S = _as_float_matrix(Sigma, "covariance Sigma")
        _check_spd(S, "covariance Sigma")
        d = S.shape[0]
        S_ex = _as_exact_matrix(Sigma, "covariance Sigma")

        if _is_sympy(n) and not n.is_Number:
            sp = _sympy()
            if not isinstance(n, sp.Symbol):
                raise InputError("n", f"a symbolic n must be a single symbol, got {n}")
            if n.is_positive is not True:
                n = sp.Symbol(n.name, positive=True, integer=True)
        else:
            if isinstance(n, bool) or not (isinstance(n, (int, np.integer)) or (_is_sympy(n) and n.is_Integer)):
                if isinstance(n, float) and n.is_integer() and abs(n) <= MAX_N:
                    n = int(n)
                else:
                    raise InputError("n", f"must be a positive integer, got {n!r}")
            n = int(n)
            if n < 1:
                raise InputError("n", f"must be at least 1, got {n}")
            if n > MAX_N:
                raise InputError("n", f"must be at most {MAX_N:.0e}, got {n:.3e}")

        if covariates not in KURTOSIS_FRACTION:
            raise InputError("covariates", f"unknown law {covariates!r}; choose one of {', '.join(COVARIATE_LAWS)}")

        if Sigma_w is None or (isinstance(Sigma_w, str) and Sigma_w in ("eye", "identity", "I")):
            W = np.eye(d)
            W_ex = _sympy().eye(d) if S_ex is not None else None  # exact only alongside an exact Sigma
            kind = "identity"
        elif isinstance(Sigma_w, str) and Sigma_w in ("inv", "inverse"):
            W = np.linalg.inv(S)
            W = (W + W.T) / 2
            W_ex = S_ex.inv() if S_ex is not None else None
            kind = "inverse"
        elif isinstance(Sigma_w, str):
            raise InputError("task covariance Sigma_w", f"unknown keyword {Sigma_w!r}; use 'inv' or a matrix")
        else:
            W = _as_float_matrix(Sigma_w, "task covariance Sigma_w")
            if W.shape != (d, d):
                raise InputError(
                    "task covariance Sigma_w", f"has shape {W.shape} but Sigma is {d}x{d}"
                )
            _check_spd(W, "task covariance Sigma_w")
            W_ex = _as_exact_matrix(Sigma_w, "task covariance Sigma_w")
            kind = "given"

        s2, s2_ex = _exact_scalar(sigma2, "noise variance sigma2")
        if not np.isfinite(s2):
            raise InputError("noise variance sigma2", f"must be finite, got {s2}")
        if s2 < 0:
            raise InputError("noise variance sigma2", f"must be >= 0, got {s2:g}")
        if s2 > MAX_SCALE:  # (a tiny sigma2 is harmless: it only adds to tau = tr(S W) + sigma2)
            raise InputError("noise variance sigma2", f"{s2:.3g} exceeds {MAX_SCALE:.0e}: the loss is a polynomial "
                             "of degree 2 in it and would overflow float64; rescale the units")

        return Setting(
            Sigma=S,
            Sigma_w=W,
            n=n,
            sigma2=s2,
            covariates=covariates,
            Sigma_exact=S_ex,
            Sigma_w_exact=W_ex,
            sigma2_exact=s2_ex,
            task_cov_kind=kind,
        )

    def describe(self) -> str:
        prior = {"identity": "I", "inverse": "Sigma^-1", "given": "given"}[self.task_cov_kind]
        return (
            f"d={self.d}, n={self.n}, covariates={self.covariates}, Sigma_w={prior}, sigma2={self.sigma2:g}"
        )
