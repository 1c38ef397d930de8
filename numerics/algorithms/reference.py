"""Reference in-context regression algorithms as plain vectorised numpy functions over batches of prompts.

Shapes: a batch of prompts is ``X`` (B, n, d) (rows are the examples x_i^T), ``y`` (B, n), queries
``xq`` (B, d). Every function also accepts a single prompt, ``X`` (n, d), ``y`` (n,), and then returns
unbatched results. The conventions are fixed once here and named in each docstring:

    empirical risk   R(w) = (1/2n) ||X w - y||^2,   grad R(w) = (1/n) X^T (X w - y),   S = X^T X.

Paper conventions map onto these as follows.
- Ahn et al. / canonical: one step of preconditioned GD from 0 predicts x_q^T Gamma (1/n) sum y_i x_i
  = ``preconditioned_gd(..., Gamma=Gamma, steps=1)`` followed by x_q^T w.
- von Oswald et al.: L(W) = (1/2N) sum ||W x_i - y_i||^2 and Delta W = -(eta/N) sum (W x_i - y_i) x_i^T
  is ``gd(..., eta=eta)`` (same 1/N, same eta). Their X (columns x_i) has X X^T = our S.
- Fu et al.: w_{k+1} = w_k - eta (S w_k - X^T y) is the unnormalised gradient: ``gd(..., eta=n * eta)``.
  Iterative Newton is ``newton_iterates`` / ``newton_w``.
"""

from __future__ import annotations

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = [
    "gd",
    "gdpp_transform",
    "gram",
    "newton_alpha",
    "newton_iterates",
    "newton_w",
    "ols",
    "one_step_predict",
    "preconditioned_gd",
    "ridge",
]


def _batch(X, y=None):
    """Promote a single prompt to a batch of one; returns (X, y, was_single)."""
    X = np.asarray(X, dtype=float)
    single = X.ndim == 2
    if single:
        X = X[None]
    if X.ndim != 3:
        raise InputError("X", f"must have shape (B, n, d) or (n, d), got {X.shape}")
    if y is not None:
        y = np.asarray(y, dtype=float)
        if single:
            y = y[None]
        if y.shape != X.shape[:2]:
            raise InputError("y", f"must have shape {X.shape[:2]} to match X {X.shape}, got {y.shape}")
    return X, y, single


def _out(a: np.ndarray, single: bool) -> np.ndarray:
    return a[0] if single else a


def gram(X) -> np.ndarray:
    """S = X^T X = sum_i x_i x_i^T (unnormalised), (B, d, d)."""
    X, _, single = _batch(X)
    return _out(X.transpose(0, 2, 1) @ X, single)  # (B, d, d)


def ols(X, y) -> np.ndarray:
    """Minimum-norm least squares w = X^+ y = S^+ X^T y (also for n < d), (B, d)."""
    X, y, single = _batch(X, y)
    w = np.linalg.pinv(X) @ y[..., None]  # (B, d, n) @ (B, n, 1) -> (B, d, 1)
    return _out(w[..., 0], single)


def ridge(X, y, *, lam: float) -> np.ndarray:
    """argmin_w (1/2n)||X w - y||^2 + (lam/2)||w||^2 = (S/n + lam I)^{-1} X^T y / n, lam > 0, (B, d)."""
    if not lam > 0:
        raise InputError("lam", f"ridge parameter must be > 0, got {lam!r}")
    X, y, single = _batch(X, y)
    B, n, d = X.shape
    A = X.transpose(0, 2, 1) @ X / n + lam * np.eye(d)  # (B, d, d)
    b = X.transpose(0, 2, 1) @ y[..., None] / n  # (B, d, 1)
    return _out(np.linalg.solve(A, b)[..., 0], single)


def preconditioned_gd(X, y, *, Gamma, steps: int, w0=None, path: bool = False) -> np.ndarray:
    """w_{k+1} = w_k - Gamma grad R(w_k), grad R(w) = (1/n) X^T (X w - y), from w0 (default 0).

    Gamma: (d, d) or (B, d, d). Returns w_steps (B, d), or with ``path`` all iterates (steps+1, B, d)."""
    X, y, single = _batch(X, y)
    B, n, d = X.shape
    G = np.asarray(Gamma, dtype=float)
    if G.shape not in ((d, d), (B, d, d)):
        raise InputError("Gamma", f"must have shape ({d}, {d}) or ({B}, {d}, {d}), got {G.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InputError("steps", f"must be an integer >= 0, got {steps!r}")
    w = np.zeros((B, d)) if w0 is None else np.broadcast_to(np.asarray(w0, dtype=float), (B, d)).copy()
    Xt = X.transpose(0, 2, 1)  # (B, d, n)
    out = [w.copy()]
    for _ in range(steps):
        grad = (Xt @ (np.einsum("bnd,bd->bn", X, w) - y)[..., None])[..., 0] / n  # (B, d)
        w = w - np.einsum("...ij,...j->...i", G, grad)  # (B, d)
        out.append(w.copy())
    res = np.stack(out) if path else w  # (steps+1, B, d) or (B, d)
    if single:
        return res[:, 0] if path else res[0]
    return res


def gd(X, y, *, eta: float, steps: int, w0=None, path: bool = False) -> np.ndarray:
    """Plain GD on R(w) = (1/2n)||Xw - y||^2 with step eta: ``preconditioned_gd`` with Gamma = eta I."""
    X_ = np.asarray(X)
    d = X_.shape[-1]
    return preconditioned_gd(X, y, Gamma=float(eta) * np.eye(d), steps=steps, w0=w0, path=path)


def one_step_predict(X, y, xq, *, Gamma) -> np.ndarray:
    """x_q^T Gamma (1/n) sum_i y_i x_i: the canonical one-step preconditioned-GD prediction from 0, (B,)."""
    X, y, single = _batch(X, y)
    xq = np.asarray(xq, dtype=float).reshape(X.shape[0], X.shape[2])  # (B, d)
    n = X.shape[1]
    g = np.einsum("bn,bnd->bd", y, X) / n  # (B, d) = (1/n) sum y_i x_i
    G = np.asarray(Gamma, dtype=float)
    out = np.einsum("bi,...ij,bj->b", xq, G, g)  # (B,)
    return out[0] if single else out


def gdpp_transform(X, xq=None, *, gamma: float):
    """The GD++ data transform of von Oswald et al.: every input x <- (I - gamma S) x, S = X^T X (no 1/n).

    Returns X' (B, n, d) and, when given, xq' (B, d); the new Gram is (I - gamma S) S (I - gamma S)."""
    X, _, single = _batch(X)
    S = X.transpose(0, 2, 1) @ X  # (B, d, d)
    A = np.eye(X.shape[2]) - gamma * S  # (B, d, d), symmetric
    Xn = X @ A  # (B, n, d): rows x_i^T A = ((I - gamma S) x_i)^T
    if xq is None:
        return _out(Xn, single)
    xq = np.asarray(xq, dtype=float).reshape(X.shape[0], X.shape[2])
    xqn = np.einsum("bij,bj->bi", A, xq)  # (B, d)
    return _out(Xn, single), _out(xqn, single)


def newton_alpha(S, *, rule: str) -> np.ndarray:
    """The scale alpha of M_0 = alpha S for Iterative Newton (Fu et al.), per prompt, (B,).

    rule="printed": 2 / ||S S^T||_2 = 2 / lambda_max(S)^2 (eq. 5 as printed; the convergence boundary);
    rule="code":    1 / ||S S^T||_F (the authors' released code; always inside the convergence region)."""
    S = np.asarray(S, dtype=float)
    single = S.ndim == 2
    S3 = S[None] if single else S
    SS = S3 @ S3.transpose(0, 2, 1)  # (B, d, d)
    if rule == "printed":
        a = 2.0 / np.linalg.norm(SS, ord=2, axis=(1, 2))
    elif rule == "code":
        a = 1.0 / np.linalg.norm(SS, ord="fro", axis=(1, 2))
    else:
        raise InputError("rule", f"unknown alpha rule {rule!r}; use 'printed' or 'code'")
    return a[0] if single else a


def newton_iterates(S, *, alpha, steps: int) -> np.ndarray:
    """Iterative Newton for the pseudo-inverse: M_0 = alpha S, M_{k+1} = 2 M_k - M_k S M_k.

    S: (d, d) or (B, d, d) symmetric PSD; alpha scalar or (B,). Returns M_0..M_steps, (steps+1, B, d, d).
    Per eigenvalue lambda > 0 of S the error e_k = 1 - lambda m_k obeys e_{k+1} = e_k^2, so M_k S tends to
    the projector onto range(S) iff |1 - alpha lambda^2| < 1 for all lambda > 0 (0 < alpha < 2/lambda_max^2)."""
    S = np.asarray(S, dtype=float)
    single = S.ndim == 2
    S3 = S[None] if single else S  # (B, d, d)
    a = np.broadcast_to(np.asarray(alpha, dtype=float), (S3.shape[0],))
    M = a[:, None, None] * S3  # (B, d, d)
    out = [M]
    for _ in range(steps):
        M = 2 * M - M @ S3 @ M  # (B, d, d)
        out.append(M)
    res = np.stack(out)  # (steps+1, B, d, d)
    return res[:, 0] if single else res


def newton_w(X, y, *, steps: int, alpha="code") -> np.ndarray:
    """Newton regression iterates w_k = M_k X^T y (Fu et al. eq. 5), k = 0..steps, (steps+1, B, d).

    alpha: a number / (B,) array, or a rule name for ``newton_alpha``."""
    X, y, single = _batch(X, y)
    S = X.transpose(0, 2, 1) @ X  # (B, d, d)
    a = newton_alpha(S, rule=alpha) if isinstance(alpha, str) else alpha
    Ms = newton_iterates(S, alpha=a, steps=steps)  # (steps+1, B, d, d)
    Xty = np.einsum("bnd,bn->bd", X, y)  # (B, d)
    W = np.einsum("kbij,bj->kbi", Ms, Xty)  # (steps+1, B, d)
    return W[:, 0] if single else W
