"""Central finite differences: the one place gradients and Hessians are differenced numerically.

Each helper states its step and error order: with step h a central difference has truncation error
O(h^2 f''') and rounding error O(eps |f| / h) (gradient) or O(eps |f| / h^2) (Hessian from values).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["central_gradient", "directional_derivative", "hessian_from_gradient", "hessian_from_values"]


def _steps(x: np.ndarray, h: float, relative: bool) -> np.ndarray:
    return h * np.maximum(1.0, np.abs(x)) if relative else np.full(x.shape, float(h))


def central_gradient(f: Callable[[np.ndarray], float], x, *, h: float = 1e-6, relative: bool = False) -> np.ndarray:
    """(f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x (any shape; returns x's shape)."""
    x = np.asarray(x, dtype=float)
    hs = _steps(x, h, relative).ravel()
    g = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = hs[i]
        g[i] = (f((x.ravel() + e).reshape(x.shape)) - f((x.ravel() - e).reshape(x.shape))) / (2 * hs[i])
    return g.reshape(x.shape)


def directional_derivative(f: Callable[[np.ndarray], float], x, direction, *, h: float = 1e-4) -> float:
    """(f(x + h E) - f(x - h E)) / 2h along ``direction`` E (same shape as x)."""
    x = np.asarray(x, dtype=float)
    E = np.asarray(direction, dtype=float)
    return float((f(x + h * E) - f(x - h * E)) / (2 * h))


def hessian_from_gradient(grad: Callable[[np.ndarray], np.ndarray], x, *, h: float = 1e-6,
                          relative: bool = False) -> np.ndarray:
    """Symmetrised Jacobian of an exact gradient by central differences (vector x)."""
    x = np.asarray(x, dtype=float).ravel()
    hs = _steps(x, h, relative)
    H = np.empty((x.size, x.size))
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = hs[i]
        H[i] = (np.asarray(grad(x + e)) - np.asarray(grad(x - e))) / (2 * hs[i])
    return (H + H.T) / 2


def hessian_from_values(f: Callable[[np.ndarray], float], x, *, h: float = 1e-4) -> np.ndarray:
    """Hessian from function values, four-point central formula per entry (vector x), symmetrised."""
    x = np.asarray(x, dtype=float).ravel()
    k = x.size
    I = np.eye(k) * h
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            H[i, j] = (f(x + I[i] + I[j]) - f(x + I[i] - I[j]) - f(x - I[i] + I[j]) + f(x - I[i] - I[j])) / (4 * h * h)
    return (H + H.T) / 2
