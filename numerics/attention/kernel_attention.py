"""Kernel attention in the one LSA model (``numerics.model.lsa``) and the functional gradient descent it implements
(Cheng, Chen, Sra 2024), plus the multi-head parametrisations other papers use (He et al. 2025's paired heads).

Attention kinds (``ATTENTION``): the scores of ``numerics.model.lsa.SCORES`` -- "linear", "relu", "exp" (h(k, q) =
exp(k^T Q q), summed with 1/n) and "softmax" (exp scores normalised over the keys of each query, no 1/n). Every
kernel is a function of the merged key-query product, so a head's (K, Q) enters as Q_merged = K^T Q and its
(V, O) as P = O V (``merge_heads``). The query as a key: ``LSA(mask=False)``.

Functional GD. With P_l = [[0, 0], [0, -eta_l]] and Q_l = [[b_l^2 I, 0], [0, 0]] every layer maps the label row as
(context token j, query q; r_j = y_j - f_l(x_j) the residual)

    r_j <- r_j - (eta_l / n) sum_i r_i h(b_l x_i, b_l x_j),        -f_l(x_q) <- -f_l(x_q) - (eta_l/n) sum_i r_i h(..)

so the canonical read-out -[Z_L]_{d+1,n+1} is f_L(x_q) of functional GD on (1/2n) sum_i (y_i - f(x_i))^2 in the
RKHS of h (the kernel sum includes i = j: the mask only removes the query). For softmax the "kernel" is the
normalised h(x_i, x_q) / sum_k h(x_k, x_q), which depends on the query and is not symmetric, and the step has no
1/n: f_{l+1}(x) = f_l(x) + eta_l sum_i r_i p_i(x). ``functional_gd`` computes these iterates directly from the
kernel matrix (an independent route to the forward pass); ``functional_gd_closed_form`` is the constant-step
closed form k_q^T g_L(K) y with g_L(lambda) = (1 - (1 - eta lambda / n)^L) / lambda (symmetric kernels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from iclcheck.numerics.attention.kernels import kernel_matrix
from iclcheck.numerics.model.lsa import LSA, SCORES, forward
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:  # for the annotation only: attention_loss imports it at run time, as before
    from iclcheck.numerics.deep.model_loss import ModelLoss

__all__ = ["ATTENTION", "attention_loss", "functional_gd", "functional_gd_closed_form", "functional_gd_weights", "head_outputs", "merge_heads",
           "paired_heads", "predict"]

ATTENTION = ("linear", "relu", "exp", "softmax")


def _attention(kind: str) -> str:
    if kind not in ATTENTION or kind not in SCORES:
        raise InputError("attention", f"unknown attention {kind!r}; choose one of {', '.join(ATTENTION)}")
    return kind


def merge_heads(K: np.ndarray, Q: np.ndarray, V: np.ndarray, O: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heads with their own key, query, value, output maps ((..., H, r, D), (..., H, r, D), (..., H, r, D),
    (..., H, D, r)) as the model's (P, Q) = (O V, K^T Q), each (..., H, D, D)."""
    K, Q, V, O = (np.asarray(a, float) for a in (K, Q, V, O))
    return O @ V, np.swapaxes(K, -1, -2) @ Q


def functional_gd_weights(d: int, etas, *, b=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(Ps, Qs), each (L, d+1, d+1): layer l is one functional-GD step of size eta_l with kernel h(b_l x, b_l x')."""
    etas = np.atleast_1d(np.asarray(etas, float))
    bs = np.broadcast_to(np.asarray(b, float), etas.shape)
    L, D = etas.size, d + 1
    Ps, Qs = np.zeros((L, D, D)), np.zeros((L, D, D))
    Ps[:, d, d] = -etas
    Qs[:, :d, :d] = bs[:, None, None] ** 2 * np.eye(d)
    return Ps, Qs


def predict(kind: str, Z0: np.ndarray, Ps, Qs, *, mask: bool | str = True) -> np.ndarray:
    """The canonical read-out -[Z_L]_{d+1,n+1} (B,) of the model with attention ``kind`` (several heads: Ps, Qs of
    shape (L, H, D, D)), through the literal forward pass of numerics.model.lsa."""
    Ps = np.asarray(Ps, float)
    ZL = forward(LSA(L=Ps.shape[0], score=_attention(kind), mask=mask), Z0, Ps, Qs)
    return -ZL[:, -1, -1]


def functional_gd(kind: str, X: np.ndarray, y: np.ndarray, xq: np.ndarray, etas, *, b=1.0,
                  path: bool = False) -> np.ndarray:
    """f_L(x_q) of functional GD from f_0 = 0 (module doc), computed from kernel matrices: X (B, n, d), y (B, n),
    xq (B, d) -> (B,), or with ``path`` the iterates f_1(x_q) .. f_L(x_q) (B, L)."""
    _attention(kind)
    X, y, xq = np.asarray(X, float), np.asarray(y, float), np.asarray(xq, float)
    etas = np.atleast_1d(np.asarray(etas, float))
    bs = np.broadcast_to(np.asarray(b, float), etas.shape)
    n = X.shape[-2]
    r = y.copy()  # (B, n) residuals y_i - f_l(x_i)
    f = np.zeros(len(y))  # (B,) f_l(x_q)
    out = []
    for eta, bl in zip(etas, bs, strict=True):
        base = "exp" if kind == "softmax" else kind
        Kc = kernel_matrix(base, X, scale=bl**2)  # (B, n, n) h(x_i, x_j)
        kq = kernel_matrix(base, X, xq[:, None, :], scale=bl**2)[..., 0]  # (B, n) h(x_i, x_q)
        if kind == "softmax":  # normalised over the keys i of each query (column)
            Kc = Kc / Kc.sum(axis=-2, keepdims=True)
            kq = kq / kq.sum(axis=-1, keepdims=True)
            step = eta
        else:
            step = eta / n
        f = f + step * np.einsum("bi,bi->b", r, kq)
        r = r - step * np.einsum("bi,bij->bj", r, Kc)
        out.append(f)
    return np.stack(out, axis=-1) if path else f


def functional_gd_closed_form(K: np.ndarray, kq: np.ndarray, y: np.ndarray, eta: float, L: int) -> np.ndarray:
    """k_q^T g_L(K) y with g_L(lambda) = (1 - (1 - eta lambda / n)^L) / lambda (= L eta / n at lambda = 0): L
    constant steps of functional GD from 0 for a symmetric kernel matrix K (..., n, n); -> ridgeless kernel
    regression k_q^T K^{-1} y as L -> infinity when 0 < eta lambda_max / n < 2 and K is non-singular."""
    K = np.asarray(K, float)
    n = K.shape[-1]
    lam, V = np.linalg.eigh((K + np.swapaxes(K, -1, -2)) / 2)
    t = eta * lam / n
    small = np.abs(t) < 1e-8  # series of (1 - (1-t)^L) / t = L - L(L-1)/2 t + ...
    g = np.where(small, L - L * (L - 1) / 2 * t, (1 - (1 - t) ** L) / np.where(small, 1.0, t)) * eta / n
    a = np.einsum("...ji,...j->...i", V, np.asarray(kq, float))
    c = np.einsum("...ji,...j->...i", V, np.asarray(y, float))
    return np.sum(a * g * c, axis=-1)


def paired_heads(d: int, omega: float, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """He et al. 2025's two softmax heads as one layer (1, 2, d+1, d+1): KQ = +omega I and -omega I on the x block,
    OV last entry only and zero-sum (+mu, -mu), so the prediction is mu sum_i y_i [p_i(omega) - p_i(-omega)]."""
    D = d + 1
    Ps, Qs = np.zeros((1, 2, D, D)), np.zeros((1, 2, D, D))
    Qs[0, 0, :d, :d] = omega * np.eye(d)
    Qs[0, 1, :d, :d] = -omega * np.eye(d)
    Ps[0, 0, d, d] = -mu  # canonical read-out -[Z]: the head adds -mu sum y_i p_i(omega) to the query label
    Ps[0, 1, d, d] = mu
    return Ps, Qs


def head_outputs(X: np.ndarray, y: np.ndarray, xq: np.ndarray, omegas) -> np.ndarray:
    """sum_i y_i p_i(omega) for each omega, p = softmax_i(omega x_i^T x_q) over the context: the query read-out of one
    softmax head with KQ = omega I, OV = 1 on the label, computed from the scores only (O(B n d)), (B, len(omegas)).
    Equal to ``-predict("softmax", ...)`` of that head; Monte Carlo over many omegas shares the scores."""
    a = (np.asarray(X, float) @ np.asarray(xq, float)[:, :, None])[:, :, 0]  # (B, n) scores x_i^T x_q
    out = []
    for om in np.atleast_1d(np.asarray(omegas, float)):
        z = om * a
        e = np.exp(z - z.max(axis=-1, keepdims=True))  # (B, n)
        out.append(np.einsum("bn,bn->b", e, y) / e.sum(axis=-1))
    return np.stack(out, axis=-1)


def attention_loss(setting, P, Q, *, attention: str = "linear", heads: int | None = None, samples: int = 200_000,
                   seed: int = 0, level: float = 0.999) -> ModelLoss:
    """The population loss E (-[Z_L]_{d+1,n+1} - w^T x_q)^2 of the canonical model with attention ``attention`` and
    ``heads`` heads per layer (P, Q: (H, D, D) for one layer or (L, H, D, D); heads=None: one head, (D, D) or
    (L, D, D)), as a ``numerics.deep.model_loss.ModelLoss`` whose ``method`` names the route. Linear attention with one
    head: ``model_loss`` (exact where it can be). Otherwise no exact route exists at finite n (softmax: only the
    n -> infinity limit is exact, theory.softmax), so a seeded Monte Carlo of the literal forward pass of numerics.model.lsa
    with a CI clipped at 0 and heavy-tail diagnostics (numerics.model.montecarlo)."""
    from iclcheck.numerics.deep.model_loss import MAX_SAMPLES, ModelLoss, model_loss
    from iclcheck.numerics.model.forward import sample_prompts
    from iclcheck.numerics.model.montecarlo import mc_mean
    from iclcheck.theory.errors import NumericalFailure

    _attention(attention)
    if heads is not None and (isinstance(heads, bool) or not isinstance(heads, (int, np.integer)) or heads < 1):
        raise InputError("heads", f"must be a positive integer or None, got {heads!r}")
    if attention == "linear" and heads is None:
        return model_loss(setting, P, Q, samples=samples, seed=seed, level=level)
    if setting.n_is_symbolic:
        raise InputError("n", "the loss at given weights needs a numeric n")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 100 <= samples <= MAX_SAMPLES:
        raise InputError("samples", f"must be an integer in [100, {MAX_SAMPLES:,}], got {samples!r}")
    d, n, D = setting.d, int(setting.n), setting.d + 1
    H = 1 if heads is None else int(heads)
    arrs = []
    for name, A in (("P", P), ("Q", Q)):
        try:
            A = np.asarray(A, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(name, f"must be a real array ({exc})") from None
        if heads is None:
            A = A[None] if A.ndim == 2 else A
            A = A[:, None] if A.ndim == 3 else A
        elif A.ndim == 3:
            A = A[None]
        if A.ndim != 4 or A.shape[1:] != (H, D, D):
            want = f"({D}, {D}) or (L, {D}, {D})" if heads is None else f"({H}, {D}, {D}) or (L, {H}, {D}, {D})"
            raise InputError(name, f"must have shape {want} for d = {d}, heads = {heads}, got {np.shape(A)}")
        if not np.all(np.isfinite(A)):
            raise InputError(name, "has non-finite entries (NaN or inf)")
        arrs.append(A)
    Ps, Qs = arrs
    if Ps.shape != Qs.shape:
        raise InputError("Q", f"needs one Q per P: P has shape {Ps.shape}, Q {Qs.shape}")
    if attention == "linear" and H == 1:  # one linear head is the canonical layer: its exact routes apply
        return model_loss(setting, Ps[:, 0], Qs[:, 0], samples=samples, seed=seed, level=level)
    model = LSA(L=Ps.shape[0], score=attention)

    def draw(r: np.random.Generator, k: int) -> np.ndarray:
        pr = sample_prompts(setting, k, r)
        with np.errstate(over="ignore", invalid="ignore"):
            return (-forward(model, pr.Z0, Ps, Qs)[:, d, n] - pr.yq) ** 2

    batch = int(max(1, min(20_000, 2**27 // (8 * (H + 3) * (n + 1) ** 2 + 1))))
    with np.errstate(over="ignore", invalid="ignore"):
        est = mc_mean(draw, samples=samples, rng=np.random.default_rng(seed), batch=batch, level=level,
                      nonnegative=True)
    if not np.isfinite(est.mean):
        raise NumericalFailure("loss at the given weights", f"the Monte Carlo mean is not finite ({est.mean})",
                               "the weights make the forward pass overflow float64; check their scale")
    how = (f"Monte Carlo of the literal forward pass (numerics.lsa, attention={attention}, {H} head"
           f"{'s' if H > 1 else ''}, {Ps.shape[0]} layer{'s' if Ps.shape[0] > 1 else ''}; {samples:,} prompts, seed "
           f"{seed}, {level:.1%} CI clipped at 0): no exact route at finite n for this attention")
    return ModelLoss(value=est.mean, exact=False, method=how, interval=est.ci, L=Ps.shape[0], estimate=est,
                     note=est.tail_note())
