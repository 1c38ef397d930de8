"""The loss of any L-layer linear-attention model (any per-layer P_l, Q_l) by a conditioned estimator whose cost
does not grow with n.

Structure (canonical model Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l), tokens as columns). With the
standard mask M = diag(I_n, 0) the query is never a key, so Z_l M Z_l^T = sum_{i<=n} z_i z_i^T = n G_l and

    Z_{l+1} = A_l Z_l,   A_l = I + P_l G_l Q_l,   G_{l+1} = A_l G_l A_l^T,   G_l = (1/n) sum_{i<=n} z_i^(l) z_i^(l)T:

every column (context and query) gets the same (d+1) x (d+1) map. Without the mask (every token a key) the same
holds with K_l = G_l + z_q^(l) z_q^(l)T / n in place of G_l. The prediction is sign * e^T A_{L-1} ... A_0 z_q with
z_q = (x_q, 0): a matrix polynomial of the context Gram G_0 applied to the query (``gram_forward``; checked draw by
draw against ``numerics.model.lsa.forward`` in tests/numerics/test_deep.py).

Conditioned estimator (``conditioned_loss``), masked model. Given w and the context, the prediction error is
(t - w)^T x_q with t = sign * T[d+1, :d] (T = A_{L-1} ... A_0), so E[err^2 | w, context] = (t - w)^T Sigma (t - w)
exactly, for any covariate law (only the covariance of x_q enters; x_q is independent of the context and w). Only
w and the context Gram are drawn:
- Gaussian covariates: (x_i, eps_i) are iid N(0, diag(Sigma, sigma2)), so their Gram n S~ is Wishart
  W_m(n, diag(Sigma, sigma2)) (m = d+1; m = d and no eps column when sigma2 = 0), drawn by the Bartlett
  decomposition at O(m^3) per prompt (n < m: from n drawn tokens). G_0 = F_w S~ F_w^T with F_w = [[I, 0], [w^T, 1]]
  (y_i = w^T x_i + eps_i). The cost per prompt is O(L d^3), independent of n.
- uniform / Rademacher covariates: the Gram has no Wishart law; it is formed from n drawn tokens (O(n d^2) per
  prompt). x_q is still integrated exactly.
- unmasked model: the query is a key, so the prediction is not linear in x_q; x_q is drawn too (Gaussian: the
  Gram still from its Wishart law; the cost stays O(L d^3)).
Each draw is a conditional expectation of the squared error, so its mean is the loss and its variance is at most
that of the literal squared error (Rao-Blackwell); the interval and the heavy-tail diagnostics are those of
``numerics.model.montecarlo`` (99.9% CLT interval clipped at 0, Hill index, variance-of-variance, largest-draw share).

Exact routes for L >= 2 stay in ``numerics.deep.model_loss``: the (8) / (11) families, and at L = 2 fully general
(P_l, Q_l) by ``numerics.deep.exact_two_layer`` (the prediction is of degree 4 in G_0 and, through y = w^T x + eps,
of degree 8 in w; the residual is expanded exactly over monomials of w and of the Wishart Gram, then integrated
with Hermite and Wishart moments; d + [sigma2 > 0] <= 5). This estimator covers the rest (L >= 3, larger d,
non-Gaussian covariates, the unmasked model); see docs/deep.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.forward import standardized
from iclcheck.numerics.model.montecarlo import MCEstimate, mc_mean
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["PILOT", "Control", "as_stack", "conditioned_draws", "conditioned_loss", "context_gram", "controlled_loss", "gram_forward",
           "route_name"]

_BATCH = 20_000


def as_stack(A, d: int, what: str) -> np.ndarray:
    """A (d+1, d+1) matrix or an (L, d+1, d+1) stack as a float (L, d+1, d+1) array, checked finite."""
    try:
        A = np.asarray(A, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(what, f"must be a real array ({exc})") from None
    if A.ndim == 2:
        A = A[None]
    D = d + 1
    if A.ndim != 3 or A.shape[1:] != (D, D) or A.shape[0] < 1:
        raise InputError(what, f"must be ({D}, {D}) or (L, {D}, {D}) for d = {d}, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise InputError(what, "has non-finite entries (NaN or inf)")
    return A


def gram_forward(Ps: np.ndarray, Qs: np.ndarray, G0: np.ndarray, *, zq: np.ndarray | None = None,
                 keep: bool = False):
    """The per-layer linear maps of the masked (``zq`` None) or unmasked (``zq`` the query tokens (B, D)) model.

    G0 (B, D, D) is the context Gram (1/n) sum_{i<=n} z_i z_i^T. Returns T = A_{L-1} ... A_0 (B, D, D), and with
    ``keep`` the list [T_1, ..., T_L] of the products after each layer (T_l maps z_q^(0) to z_q^(l)).
    Unmasked: the keys include the query, K_l = G_l + u_l u_l^T with u_l = z_q^(l) / sqrt(n); pass ``zq`` =
    z_q / sqrt(n) (B, D) (the map is linear, so u_l = T_l zq)."""
    G = np.array(G0, dtype=float, copy=True)  # (B, D, D)
    B, D, _ = G.shape
    T = np.broadcast_to(np.eye(D), (B, D, D)).copy()  # (B, D, D)
    u = None if zq is None else np.asarray(zq, float)  # (B, D) query / sqrt(n) (unmasked)
    path = []
    for P, Q in zip(Ps, Qs, strict=True):
        K = G if u is None else G + u[:, :, None] * u[:, None, :]  # (B, D, D) keys' Gram / n
        A = np.eye(D) + P @ K @ Q  # (B, D, D)
        T = A @ T  # (B, D, D)
        G = A @ G @ A.transpose(0, 2, 1)  # (B, D, D) context Gram after the layer
        if u is not None:
            u = np.einsum("bij,bj->bi", A, u)  # (B, D)
        if keep:
            path.append(T)
    return (T, path) if keep else T


def _bartlett(rng: np.random.Generator, k: int, m: int, n: int) -> np.ndarray:
    """k lower-triangular Bartlett factors A (k, m, m): A A^T ~ W_m(n, I) (needs n >= m)."""
    A = np.zeros((k, m, m))
    il = np.tril_indices(m, -1)
    A[:, il[0], il[1]] = rng.standard_normal((k, il[0].size))
    A[:, np.arange(m), np.arange(m)] = np.sqrt(rng.chisquare(n - np.arange(m), size=(k, m)))
    return A


def context_gram(setting: Setting, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A draw of the context Gram G_0 = (1/n) sum_{i<=n} z_i z_i^T (k, d+1, d+1) given the tasks w (k, d).

    Gaussian covariates: from the Wishart law of the (x, eps) Gram (Bartlett; O(d^3) per draw, n >= d+1); else
    (or n smaller than the Gram's size) from n drawn tokens."""
    d, n = setting.d, int(setting.n)
    k = w.shape[0]
    Sh = sqrtm_psd(setting.Sigma)  # (d, d)
    noisy = setting.sigma2 > 0
    m = d + 1 if noisy else d
    if setting.gaussian and n >= m:
        C = np.zeros((m, m))
        C[:d, :d] = np.linalg.cholesky(setting.Sigma)
        if noisy:
            C[d, d] = np.sqrt(setting.sigma2)
        F = C @ _bartlett(rng, k, m, n)  # (k, m, m): F F^T = n S~
    else:
        s = standardized(setting.covariates, rng, (k, n, d))  # (k, n, d)
        F = np.zeros((k, m, n))
        F[:, :d, :] = (s @ Sh).transpose(0, 2, 1)  # (k, d, n) inputs as columns
        if noisy:
            F[:, d, :] = np.sqrt(setting.sigma2) * rng.standard_normal((k, n))  # (k, n)
    Fw = np.zeros((k, d + 1, m))  # (k, D, m): z = F_w (x, eps)
    Fw[:, :d, :d] = np.eye(d)
    Fw[:, d, :d] = w
    if noisy:
        Fw[:, d, d] = 1.0
    Z = Fw @ F  # (k, D, m or n)
    return Z @ Z.transpose(0, 2, 1) / n  # (k, D, D)


def _draw_context(setting: Setting, rng: np.random.Generator, k: int, mask: bool):
    """(w (k, d), G0 (k, D, D), z_q (k, D) or None when masked)."""
    d = setting.d
    w = rng.standard_normal((k, d)) @ np.linalg.cholesky(setting.Sigma_w).T  # (k, d)
    G0 = context_gram(setting, w, rng)  # (k, D, D)
    if mask:
        return w, G0, None
    zq = np.zeros((k, d + 1))
    zq[:, :d] = standardized(setting.covariates, rng, (k, d)) @ sqrtm_psd(setting.Sigma)  # (k, d)
    return w, G0, zq


def _values(setting: Setting, Ps, Qs, w, G0, zq, readout_sign: int) -> np.ndarray:
    """E[err^2 | w, Gram] (zq None: masked) or err^2 given w, Gram and the query (unmasked): (k,)."""
    d, n = setting.d, int(setting.n)
    if zq is None:
        T = gram_forward(Ps, Qs, G0)  # (k, D, D)
        r = readout_sign * T[:, d, :d] - w  # (k, d): error = r^T x_q
        return np.einsum("bi,ij,bj->b", r, setting.Sigma, r)  # (k,)
    T = gram_forward(Ps, Qs, G0, zq=zq / np.sqrt(n))  # (k, D, D)
    pred = readout_sign * np.einsum("bj,bj->b", T[:, d, :], zq)  # (k,)
    return (pred - np.einsum("bd,bd->b", zq[:, :d], w)) ** 2  # (k,)


def conditioned_draws(setting: Setting, Ps: np.ndarray, Qs: np.ndarray, rng: np.random.Generator, k: int, *,
                      readout_sign: int = -1, mask: bool = True) -> np.ndarray:
    """k draws of E[(prediction - w^T x_q)^2 | w, context] (masked) or of the squared error given w, the context
    Gram and x_q (unmasked): (k,)."""
    w, G0, zq = _draw_context(setting, rng, k, mask)
    return _values(setting, Ps, Qs, w, G0, zq, readout_sign)


def route_name(setting: Setting, *, mask: bool = True) -> str:
    """What the conditioned estimator draws and what it integrates exactly, in one phrase."""
    n, d = int(setting.n), setting.d
    m = d + 1 if setting.sigma2 > 0 else d
    if setting.gaussian and n >= m:
        gram = "the context Gram drawn from its Wishart law given w (Bartlett, O(d^3) per prompt, independent of n)"
    elif setting.gaussian:
        gram = "the context Gram formed from n drawn tokens (n < the Gram's size)"
    else:
        gram = f"the context Gram formed from n drawn tokens ({setting.covariates} covariates: no Wishart law)"
    if mask:
        return f"conditioned Monte Carlo: x_q integrated exactly, w and {gram}"
    return f"conditioned Monte Carlo (unmasked: x_q is a key, so drawn too): w, x_q and {gram}"


@dataclass(frozen=True)
class Control:
    """A control variate: a model (Ps, Qs) (canonical readout, same mask) whose loss ``mean`` is known exactly,
    evaluated on the same draws; ``beta`` is fitted on a separate pilot of ``PILOT`` draws (so the estimate stays
    unbiased) and ``what`` names it."""

    Ps: np.ndarray
    Qs: np.ndarray
    mean: float
    what: str


PILOT = 20_000
CONTROL_GAIN = 0.4  # the control is used when it cuts the pilot's variance below this share (it doubles the cost)


def conditioned_loss(setting: Setting, Ps, Qs, *, readout_sign: int = -1, mask: bool = True, samples: int,
                     seed: int = 0, level: float = 0.999) -> MCEstimate:
    """The loss E (sign [Z_L]_{d+1,n+1} - w^T x_q)^2 of the L-layer model at stacked (L, d+1, d+1) Ps, Qs by the
    conditioned estimator (module docstring): an MCEstimate over ``samples`` prompts with tail diagnostics."""
    return controlled_loss(setting, Ps, Qs, None, readout_sign=readout_sign, mask=mask, samples=samples, seed=seed,
                           level=level)[0]


def controlled_loss(setting: Setting, Ps, Qs, control: Control | None, *, readout_sign: int = -1, mask: bool = True,
                    samples: int, seed: int = 0, level: float = 0.999,
                    progress: Callable[[int, int], None] | None = None) -> tuple[MCEstimate, float | None]:
    """``conditioned_loss`` with a control variate: the draws are f - beta (g - control.mean), g the control's
    conditional loss on the same draw (w, Gram[, x_q]), beta = Cov(f, g) / Var(g) from an independent pilot of
    ``PILOT`` draws (seeded from ``seed``), so the mean stays unbiased; the interval is clipped at 0 (the loss is
    >= 0; single draws may be negative). The control is dropped (beta None) unless it cuts the pilot's variance
    below CONTROL_GAIN of the plain one. Returns (estimate, beta) (beta None: no control used). ``progress(done,
    samples)`` after each batch of the main run (not the pilot); it changes no draw."""
    if setting.n_is_symbolic:
        raise InputError("n", "the loss at given weights needs a numeric n")
    Ps = np.asarray(Ps, float)
    Qs = np.asarray(Qs, float)
    if Ps.ndim != 3 or Ps.shape != Qs.shape or Ps.shape[1:] != (setting.d + 1, setting.d + 1):
        raise InputError("P", f"needs stacked (L, {setting.d + 1}, {setting.d + 1}) P and Q, got {Ps.shape}, "
                         f"{Qs.shape}")
    beta = None
    if control is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            w, G0, zq = _draw_context(setting, np.random.default_rng([seed, 1]), PILOT, mask)
            f = _values(setting, Ps, Qs, w, G0, zq, readout_sign)
            g = _values(setting, control.Ps, control.Qs, w, G0, zq, -1)
        ok = np.isfinite(f) & np.isfinite(g)
        vg = float(np.var(g[ok])) if ok.sum() > 1 else 0.0
        beta = float(np.mean((f[ok] - f[ok].mean()) * (g[ok] - g[ok].mean())) / vg) if vg > 0 else 0.0
        if not np.isfinite(beta):
            beta = 0.0
        vf, vcv = float(np.var(f[ok])), float(np.var(f[ok] - beta * g[ok])) if ok.any() else 0.0
        if not vcv < CONTROL_GAIN * vf:  # the control costs a second pass: dropped unless it pays on the pilot
            beta = None

    def draw(r: np.random.Generator, k: int) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            w, G0, zq = _draw_context(setting, r, k, mask)
            f = _values(setting, Ps, Qs, w, G0, zq, readout_sign)
            if beta is None or beta == 0.0:
                return f
            assert control is not None  # beta is set only with a control
            return f - beta * (_values(setting, control.Ps, control.Qs, w, G0, zq, -1) - control.mean)

    with np.errstate(over="ignore", invalid="ignore"):
        est = mc_mean(draw, samples=samples, rng=np.random.default_rng(seed), batch=_BATCH, level=level,
                      progress=progress)
    return dataclasses.replace(est, nonnegative=True), beta
