"""In-context classification (Dragutinovic, Saxe, Singh 2025): one-hot labels, cross-entropy and accuracy, and the
one-layer attention read-outs on classification prompts.

Task family ``sample_classes``: per prompt, C class means m_c drawn uniformly on the sphere of radius ``radius`` in
R^d, labels c_i uniform on {0..C-1}, x_i = m_{c_i} + noise N(0, noise_sd^2 I); the query the same way. Labels are
one-hot rows y_i in R^C. Read-outs (vectors in R^C, used as logits):

    linear SA   (1/n) sum_i y_i x_i^T Gamma x_q            softmax SA   sum_i y_i softmax_i(beta x_i^T W x_q)

``cross_entropy`` and ``accuracy`` score logits against one-hot (or integer) labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["ClassPrompts", "accuracy", "cross_entropy", "linear_sa_logits", "logistic_gd_step", "sample_classes",
           "softmax_sa_output"]


@dataclass(frozen=True)
class ClassPrompts:
    """X (B, n, d), Y (B, n, C) one-hot, xq (B, d), cq (B,) the query's class."""

    X: np.ndarray
    Y: np.ndarray
    xq: np.ndarray
    cq: np.ndarray


def sample_classes(rng: np.random.Generator, B: int, n: int, d: int, C: int, *, radius: float = 1.0,
                   noise_sd: float = 0.5) -> ClassPrompts:
    """B prompts of the spherical-means task (module doc)."""
    if C < 2 or d < 1 or n < 1 or B < 1:
        raise InputError("C", f"needs C >= 2 classes, d, n, B >= 1; got C={C}, d={d}, n={n}, B={B}")
    m = rng.standard_normal((B, C, d))
    m *= radius / np.linalg.norm(m, axis=-1, keepdims=True)  # (B, C, d) class means on the sphere
    c = rng.integers(0, C, size=(B, n + 1))  # (B, n+1) classes
    x = np.take_along_axis(m, c[..., None], axis=1) + noise_sd * rng.standard_normal((B, n + 1, d))
    Y = np.eye(C)[c[:, :n]]  # (B, n, C) one-hot
    return ClassPrompts(X=x[:, :n], Y=Y, xq=x[:, n], cq=c[:, n])


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """-log softmax(logits)_c per row (labels: one-hot (..., C) or integer classes (...,))."""
    z = np.asarray(logits, float)
    lse = z.max(axis=-1) + np.log(np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1))
    lab = np.asarray(labels)
    if lab.shape == z.shape:
        return lse - np.sum(z * lab, axis=-1)
    return lse - np.take_along_axis(z, lab[..., None].astype(int), axis=-1)[..., 0]


def accuracy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1.0 where argmax logits is the label, else 0.0 (per row)."""
    lab = np.asarray(labels)
    cls = lab.argmax(axis=-1) if lab.shape == np.shape(logits) else lab
    return (np.argmax(logits, axis=-1) == cls).astype(float)


def linear_sa_logits(X: np.ndarray, Y: np.ndarray, xq: np.ndarray, Gamma) -> np.ndarray:
    """(1/n) sum_i y_i x_i^T Gamma x_q: (B, C)."""
    a = np.einsum("bnd,de,be->bn", X, np.asarray(Gamma, float), xq)  # (B, n) scores
    return np.einsum("bn,bnc->bc", a, Y) / X.shape[1]


def softmax_sa_output(X: np.ndarray, Y: np.ndarray, xq: np.ndarray, W, beta: float) -> np.ndarray:
    """sum_i y_i softmax_i(beta x_i^T W x_q): (B, C)."""
    a = beta * np.einsum("bnd,de,be->bn", X, np.asarray(W, float), xq)
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.einsum("bn,bnc->bc", p, Y)


def logistic_gd_step(X: np.ndarray, Y: np.ndarray, eta: float, W0=None) -> np.ndarray:
    """One GD step on the in-context cross-entropy (1/n) sum_i CE(W x_i, y_i) of the multinomial logistic model
    from W0 (default 0): W1 = W0 - eta * grad, grad = (1/n) sum_i (softmax(W0 x_i) - y_i) x_i^T. (B, C, d)."""
    B, n, d = X.shape
    C = Y.shape[-1]
    W0 = np.zeros((B, C, d)) if W0 is None else np.broadcast_to(np.asarray(W0, float), (B, C, d))
    z = np.einsum("bcd,bnd->bnc", W0, X)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    grad = np.einsum("bnc,bnd->bcd", p - Y, X) / n
    return W0 - eta * grad
