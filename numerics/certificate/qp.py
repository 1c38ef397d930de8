"""The convex relaxation of ``numerics.certificate`` as a QP, built in the Kronecker eigenbasis (no dense
(P d) x (P d) matrix), and the primal point of a dual point.

The reduced lift is F(Y) = <Y, G_s Y S> / n^2 + 2 <a_mat, Y> + c0 with A_s = (G_s (x) S) / n^2. With
G_s = V diag(lam) V^T and S = U diag(mu) U^T (two small symmetric eigenproblems, P x P and d x d), the
coordinates Z = V^T Y U diagonalise it:

    F = sum_{ij} lam_i mu_j Z_ij^2 / n^2 + 2 <B, Z> + c0,      B = V^T a_mat U,

so the QP  min |r|^2 + 2 a_s^T m + c0  s.t.  r = F m  has the factor F = diag(sqrt(lam_i mu_j) / n) in
these coordinates: r d variables, a diagonal constraint, and the solver's dual point nu gives the primal
point Z = -nu / (2 diag), Y = V Z U^T (the KKT condition F y = -nu / 2, as before). The rank r keeps the
eigenvalues of G_s above 1e-13 lam_max (the range of G_s: the dense route's least-squares solve used the
same range). Which point the solver returns only affects how tight the bound is, never whether it is
true (``numerics.certificate.bound``). ``_solve_qp_dense`` is the former dense formulation (kron factor,
dense least squares), kept as a reference route for small d (tests and benchmarks compare the two).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from iclcheck.numerics.certificate.bound import gs_eigh
from iclcheck.numerics.one_layer.lift import LiftedLoss

__all__ = ["KronFactor", "kron_factor", "y_from_dual"]


@dataclass(frozen=True)
class KronFactor:
    """F = (diag(sqrt lam) V^T (x) diag(sqrt mu) U^T) / n, F^T F = A_s on the range of G_s."""

    V: np.ndarray  # [P, r] eigenvectors of G_s kept
    lam: np.ndarray  # [r]
    U: np.ndarray  # [d, d] eigenvectors of S
    mu: np.ndarray  # [d]
    n: float

    @property
    def diag(self) -> np.ndarray:
        """[r, d] the diagonal of F in the coordinates Z = V^T Y U."""
        return np.sqrt(np.outer(self.lam, self.mu)) / self.n

    @property
    def shape(self) -> tuple[int, int]:
        return self.lam.size * self.mu.size, self.V.shape[0] * self.mu.size

    def coords(self, M: np.ndarray) -> np.ndarray:
        """V^T M U for M [P, d]."""
        return self.V.T @ M @ self.U


def kron_factor(L: LiftedLoss) -> KronFactor:
    lam, V = gs_eigh(L)  # the decomposition the lambda_min bound already made
    keep = lam > 1e-13 * max(float(lam[-1]), 1e-300)
    mu, U = np.linalg.eigh(L.moments.S)
    return KronFactor(V=V[:, keep], lam=lam[keep], U=U, mu=np.maximum(mu, 0.0), n=float(L.n))


def y_from_dual(L: LiftedLoss, F, nu: np.ndarray) -> np.ndarray:
    """The primal point of a dual point (KKT of the QP: F y = -nu / 2) as Y [P, d]. F is a ``KronFactor``
    (then Y = V (-nu / (2 diag)) U^T) or the dense factor of ``_solve_qp_dense`` (least squares)."""
    nu = np.asarray(nu, dtype=float)
    if isinstance(F, KronFactor):
        Dg = F.diag
        with np.errstate(divide="ignore", invalid="ignore"):
            Z = np.where(Dg > 0, -nu.reshape(Dg.shape) / 2 / np.where(Dg > 0, Dg, 1.0), 0.0)
        return F.V @ Z @ F.U.T
    y = np.linalg.lstsq(F, -nu / 2, rcond=None)[0]
    return y.reshape(L.Gs.shape[0], L.d)


def _solve_qp(L: LiftedLoss, solver: str):
    """(status, primal, dual value c0 - |nu|^2/4, nu, F) from cvxpy in the Kronecker eigenbasis; any solver
    error is a status."""
    import cvxpy as cp

    F = kron_factor(L)
    Dg = F.diag.reshape(-1)  # [r d]
    b = F.coords(L.amat).reshape(-1)  # [r d]  a_s in the coordinates Z
    z = cp.Variable(Dg.size)
    r = cp.Variable(Dg.size)
    con = r == cp.multiply(Dg, z)
    return _solve(cp, cp.Problem(cp.Minimize(cp.sum_squares(r) + 2 * b @ z + L.c0), [con]), con, solver, L, F)


@contextlib.contextmanager
def solver_stdout_silenced() -> Iterator[None]:
    """File descriptor 1 points at /dev/null while the block runs, then back at the caller's stdout.

    Solvers written in C (HiGHS prints its banner from C++ code, ignoring cvxpy's ``verbose=False``) write to
    fd 1 directly, past ``sys.stdout``: redirecting ``sys.stdout`` in Python would not catch them, and their
    text would land before a command's JSON (``certify --solver HIGHS --format json`` did not parse). Python's
    own buffer is flushed first so nothing of ours is lost. When fd 1 cannot be duplicated (closed), the block
    runs as is."""
    try:
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        _flush_c_stdio()  # what the C library still buffers for fd 1 goes to /dev/null too, not after our output
        with contextlib.suppress(OSError):
            os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    """fflush(NULL): flush every C stdio stream (a solver's buffered printf output)."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no C library to ask (not POSIX)
        pass


def _solve(cp, prob, con, solver: str, L: LiftedLoss, F):
    try:
        with solver_stdout_silenced():
            prob.solve(solver=solver)
    except Exception as exc:  # noqa: BLE001  (any failure of the solver is reported as its status)
        return f"solver_error: {type(exc).__name__}: {exc}".strip()[:200], np.nan, np.nan, None, F
    status = str(prob.status)
    if prob.value is None or con.dual_value is None:
        return status, np.nan, np.nan, None, F
    nu = np.asarray(con.dual_value, dtype=float).reshape(-1)
    return status, float(prob.value), float(L.c0 - nu @ nu / 4), nu, F


def _dense_factor(L: LiftedLoss) -> np.ndarray:
    """The former factor: kron(eigen factor of G_s, Cholesky(S)^T) / n, dense [(r d), (P d)]."""
    lam, V = np.linalg.eigh(L.Gs)
    keep = lam > 1e-13 * max(float(lam[-1]), 1e-300)
    Fg = (V[:, keep] * np.sqrt(lam[keep])).T  # [r, P]
    Ls = np.linalg.cholesky(L.moments.S)
    return np.kron(Fg, Ls.T) / L.n


def _solve_qp_dense(L: LiftedLoss, solver: str):
    """The former dense QP (reference route, small d only): same return shape as ``_solve_qp``."""
    import cvxpy as cp

    F = _dense_factor(L)
    a_s = L.amat.reshape(-1)
    m = cp.Variable(F.shape[1])
    r = cp.Variable(F.shape[0])
    con = r == F @ m
    return _solve(cp, cp.Problem(cp.Minimize(cp.sum_squares(r) + 2 * a_s @ m + L.c0), [con]), con, solver, L, F)
