"""von Oswald et al.: the recurrent GD++ layer, in Gram form; moved from numerics.compare (re-exported there)."""

from __future__ import annotations

import numpy as np

__all__ = ["best_eta_quartic", "gdpp_recurrent_from_gram", "gdpp_recurrent_predict", "gdpp_two_layer_terms"]


def gdpp_recurrent_predict(X, y, xq, *, eta: float, gamma: float, layers: int) -> np.ndarray:
    """Prediction of ``layers`` applications of one GD++ layer (von Oswald et al., W_0 = 0):
    e_j <- e_j + P W_V sum_i e_i e_i^T W_K^T W_Q e_j with P = [[-gamma I, 0], [0, eta/N]], i.e.
    x_j <- (I - gamma C) x_j, y_j <- y_j - (eta/N) sum_i y_i x_i^T x_j (C = sum_i x_i x_i^T, no 1/N;
    query label starts at 0; prediction = -query label). Tracked exactly through C_l, b_l = X_l^T r_l
    and x_q,l: q <- q - (eta/N) b^T x_q, b <- (I - gamma C)(b - (eta/N) C b), x_q <- (I - gamma C) x_q,
    C <- (I - gamma C) C (I - gamma C). Returns (B,)."""
    B, N, d = X.shape
    C = X.transpose(0, 2, 1) @ X  # (B, d, d)
    b = np.einsum("bnd,bn->bd", X, y)  # (B, d)
    return gdpp_recurrent_from_gram(C, b, xq, N=N, eta=eta, gamma=gamma, layers=layers)


def gdpp_recurrent_from_gram(C, b, xq, *, N: int, eta: float, gamma: float, layers: int) -> np.ndarray:
    """``gdpp_recurrent_predict`` from the sufficient statistics C = X^T X (B, d, d), b = X^T y (B, d)."""
    B, d = b.shape
    x = np.array(xq, float)
    q = np.zeros(B)
    I = np.eye(d)
    for _ in range(layers):
        T = I - gamma * C  # (B, d, d)
        q = q - eta / N * np.einsum("bd,bd->b", b, x)
        Cb = np.einsum("bij,bj->bi", C, b)
        b = np.einsum("bij,bj->bi", T, b - eta / N * Cb)
        x = np.einsum("bij,bj->bi", T, x)
        C = T @ C @ T
    return -q


def gdpp_two_layer_terms(C, b, xq, *, N: int, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Two recurrent GD++ layers predict eta * u - eta^2 * v exactly (u, v per task, (B,)):
    u = (b^T x_q + (T b)^T T x_q) / N, v = (T C b)^T T x_q / N^2, T = I - gamma C.
    (From ``gdpp_recurrent_from_gram`` with layers = 2.) So for fixed gamma the loss is a quartic in eta."""
    d = b.shape[1]
    T = np.eye(d) - gamma * C  # (B, d, d)
    Tx = np.einsum("bij,bj->bi", T, xq)
    Tb = np.einsum("bij,bj->bi", T, b)
    TCb = np.einsum("bij,bj->bi", T, np.einsum("bij,bj->bi", C, b))
    u = (np.einsum("bd,bd->b", b, xq) + np.einsum("bd,bd->b", Tb, Tx)) / N
    v = np.einsum("bd,bd->b", TCb, Tx) / N**2
    return u, v


def best_eta_quartic(u: np.ndarray, v: np.ndarray, yq: np.ndarray) -> tuple[float, float]:
    """argmin_eta mean (eta u - eta^2 v - y)^2 (exact: the real roots of the cubic derivative)."""
    Euu, Euv, Evv = np.mean(u * u), np.mean(u * v), np.mean(v * v)
    Euy, Evy, Eyy = np.mean(u * yq), np.mean(v * yq), np.mean(yq * yq)
    # f(eta) = Evv eta^4 - 2 Euv eta^3 + (Euu + 2 Evy) eta^2 - 2 Euy eta + Eyy
    coeffs = [4 * Evv, -6 * Euv, 2 * (Euu + 2 * Evy), -2 * Euy]
    roots = np.roots(coeffs)
    cands = roots[np.abs(roots.imag) < 1e-9].real

    def f(e):
        return Evv * e**4 - 2 * Euv * e**3 + (Euu + 2 * Evy) * e**2 - 2 * Euy * e + Eyy

    vals = [f(e) for e in cands]
    i = int(np.argmin(vals))
    return float(cands[i]), float(vals[i])
