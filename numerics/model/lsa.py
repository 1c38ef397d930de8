"""The one L-layer self-attention model of the toolkit: forward pass on batches of prompts and its
vector-Jacobian product (reverse mode), with the attention variant as a parameter.

Canonical model (docs/model.md; Ahn et al. 2023 convention), one layer per l:

    Z_{l+1} = Z_l + c sum_h P_{l,h} Z_l M s(Z_l^T Q_{l,h} Z_l)   [+ MLP: Z <- Z + W2 ReLU(W1 Z), per token]

with tokens as columns of Z (B, D, N1), N1 = n+1, the query last; M = diag(I_n, 0) masks the query out
of keys and values (``mask=False``: every token is a key); ``mask="causal"``: context token i attends to the
context tokens j <= i only (causal language modelling, Ding et al. 2024) and the query to every context token,
with the same c = 1/n; ``mask="causal-mean"``: the same keys, each column averaged over its own keys
(c = 1/i for context token i, 1/n for the query). s is the score function of the variant,
applied to the score matrix F[b, j, i] = z_j^T Q z_i (keys j on axis -2, queries i on axis -1);
c = 1/n for the linear and ReLU scores, 1 for softmax (whose weights already sum to 1 over the keys).
``tied=True``: one (P, Q[, W1, W2]) shared by all layers. The canonical prediction is -[Z_L]_{d+1,n+1}.

A variant is one pair (score, score_vjp) in ``SCORES``; the layer, the mask, heads, the MLP and tying
are generic. The masked linear and ReLU layers compute exactly the literal products
``Z + (P @ ZM @ s(Z^T @ Q @ Z)) / n`` (ZM = Z with the query column zeroed), so every number computed
through ``numerics.model.forward`` is unchanged bit for bit.

Parameters: P, Q of shape (L', H, D, D) (H heads; (L', D, D) means one head), W1 (L', m, D), W2 (L', D, m),
L' = 1 if tied else L. Reverse mode, with G = dloss/dZ_{l+1} and K = keys (Z M, or Z), for one head:

    dS = c (P K)^T G,  dF = s'(F)^T dS,  dP = c G (K S)^T,  dQ = K dF Z^T,
    dZ = G + c (P^T G S^T) M + Q Z dF^T M + Q^T K dF       (M applied to the columns of K-terms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = [
    "SCORES",
    "LSA",
    "Score",
    "CAUSAL_MASKS",
    "build_prompts",
    "causal_weights",
    "forward",
    "loss_and_grads",
    "lsa_loss_and_grads",
    "vjp",
]


# ---------------------------------------------------------------------------------------------
# the variants: a score function and its vector-Jacobian product (F, S = s(F), dS) -> dF
# ---------------------------------------------------------------------------------------------
def _linear(F: np.ndarray) -> np.ndarray:
    return F


def _linear_vjp(F: np.ndarray, S: np.ndarray, dS: np.ndarray) -> np.ndarray:
    return dS


def _relu(F: np.ndarray) -> np.ndarray:
    return np.maximum(F, 0.0)


def _relu_vjp(F: np.ndarray, S: np.ndarray, dS: np.ndarray) -> np.ndarray:
    return dS * (F > 0)  # derivative 0 at the kink


def _softmax(F: np.ndarray) -> np.ndarray:
    E = np.exp(F - F.max(axis=-2, keepdims=True))  # (B, K, N1), over the keys of each query
    return E / E.sum(axis=-2, keepdims=True)


def _softmax_vjp(F: np.ndarray, S: np.ndarray, dS: np.ndarray) -> np.ndarray:
    return S * (dS - np.sum(S * dS, axis=-2, keepdims=True))


@dataclass(frozen=True)
class Score:
    """One attention variant: s(F) entrywise or per query column, its VJP, and the scale c."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    vjp: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    per_n: bool  # c = 1/n (sum of n scores) or 1 (normalised weights)
    entrywise: bool  # s acts entry by entry: the mask can act through the zero column of Z M (literal product)
    identity: bool = False  # s(F) = F: the layer may be re-associated as P (K K^T / c) Q Z (LSA.reassociate)


SCORES: dict[str, Score] = {
    "linear": Score("linear", _linear, _linear_vjp, per_n=True, entrywise=True, identity=True),
    "relu": Score("relu", _relu, _relu_vjp, per_n=True, entrywise=True),
    "softmax": Score("softmax", _softmax, _softmax_vjp, per_n=False, entrywise=False),
}


@dataclass(frozen=True)
class LSA:
    """The architecture: number of layers, score variant, query mask, MLP block, tied weights."""

    L: int
    score: str = "linear"
    mask: bool | str = True  # True (query masked), False (none), "causal" or "causal-mean" (see the module doc)
    mlp: bool = False
    tied: bool = False
    reassociate: bool = False  # identity score only: c P K M K^T Q Z as P Kc Q Z, Kc = K K^T / c (D x D):
    #                           O(D^2 n) instead of O(n^2 D) per prompt, equal up to rounding (used in training)

    def __post_init__(self):
        if isinstance(self.L, bool) or not isinstance(self.L, (int, np.integer)) or self.L < 1:
            raise InputError("L", f"number of layers must be a positive integer, got {self.L!r}")
        if self.score not in SCORES:
            raise InputError("score", f"unknown attention variant {self.score!r}; choose one of {', '.join(SCORES)}")
        if self.reassociate and not SCORES[self.score].identity:
            raise InputError("reassociate", f"needs a score that is the identity, not {self.score!r}")
        if not isinstance(self.mask, bool) and self.mask not in CAUSAL_MASKS:
            raise InputError("mask", f"must be True, False or one of {', '.join(CAUSAL_MASKS)}, got {self.mask!r}")
        if self.causal and (self.reassociate or not SCORES[self.score].entrywise):
            raise InputError("mask", f"a causal mask needs an entrywise score without reassociation, got "
                             f"score={self.score!r}, reassociate={self.reassociate}")

    @property
    def causal(self) -> bool:
        return self.mask in CAUSAL_MASKS

    def index(self, l: int) -> int:
        return 0 if self.tied else l


CAUSAL_MASKS = ("causal", "causal-mean")


def causal_weights(n: int, mean: bool) -> np.ndarray:
    """(n, n+1) weights of the causal masks: [j, i] = 1/c_i if key j (context) is seen by column i, else 0;
    context column i sees j <= i, the query (column n) sees every context token; c_i = n, or the number of
    keys of column i (i+1, and n for the query) when ``mean``."""
    W = np.triu(np.ones((n, n + 1)))  # (K, N1): key j seen by column i iff j <= i
    W[:, n] = 1.0
    c = (np.minimum(np.arange(n + 1), n - 1) + 1.0) if mean else np.full(n + 1, float(n))
    c[n] = n
    return W / c[None, :]


def build_prompts(X: np.ndarray, y: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Z0 = [[x_1 ... x_n x_q], [y_1 ... y_n 0]] from X (B, n, d), y (B, n), xq (B, d): (B, d+1, n+1)."""
    X = np.asarray(X, float)
    B, n, d = X.shape
    Z = np.zeros((B, d + 1, n + 1))
    Z[:, :d, :n] = X.transpose(0, 2, 1)  # (B, d, n) inputs as columns
    Z[:, d, :n] = y  # (B, n) labels
    Z[:, :d, n] = xq  # (B, d) query, label slot 0
    return Z


def _heads(A: np.ndarray, L1: int, what: str) -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim == 3:
        A = A[:, None]  # (L', 1, D, D): one head
    if A.ndim != 4 or A.shape[0] != L1 or A.shape[2] != A.shape[3]:
        raise InputError(what, f"must have shape ({L1}, heads, D, D) or ({L1}, D, D), got {np.shape(A)}")
    return A


@dataclass
class Cache:
    """What the forward pass keeps for the VJP (one entry per layer)."""

    model: LSA
    Ps: np.ndarray  # (L', H, D, D)
    Qs: np.ndarray  # (L', H, D, D)
    W1s: np.ndarray | None  # (L', m, D)
    W2s: np.ndarray | None  # (L', D, m)
    Zin: list  # Z_l before attention, (B, D, N1)
    Fs: list  # per layer, per head: F (B, K, N1) (reassociated: Kc (B, D, D))
    Ss: list  # per layer, per head: S (B, K, N1) (reassociated: T = P Kc Q (B, D, D))
    Zmid: list  # after attention, before the MLP (B, D, N1)
    H1s: list  # W1 Zmid (B, m, N1)
    ZL: np.ndarray  # (B, D, N1)


def forward(model: LSA, Z0: np.ndarray, Ps, Qs, W1s=None, W2s=None, *, keep: bool = False):
    """Z_L (B, D, N1) of the model; with keep=True also the Cache for ``vjp``. Z0 (D, N1) is one prompt."""
    L1 = 1 if model.tied else model.L
    Ps, Qs = _heads(Ps, L1, "Ps"), _heads(Qs, L1, "Qs")
    if Ps.shape != Qs.shape:
        raise InputError("Qs", f"must have the shape of Ps {Ps.shape}, got {Qs.shape}")
    if model.mlp and (W1s is None or W2s is None):
        raise InputError("W1s", "the MLP block needs W1s (L', m, D) and W2s (L', D, m)")
    sc = SCORES[model.score]
    Z = np.array(Z0, dtype=float, copy=True)
    if Z.ndim == 2:
        Z = Z[None]
    n = Z.shape[2] - 1
    c = n if sc.per_n else 1
    nk = n if model.mask is not False else n + 1  # number of keys (causal: the n context tokens)
    Wc = causal_weights(n, model.mask == "causal-mean") if model.causal else None  # (K, N1) or None
    cache = Cache(model, Ps, Qs, W1s, W2s, [], [], [], [], [], Z) if keep else None
    for l in range(model.L):
        li = model.index(l)
        literal = model.mask is True and sc.entrywise and not model.reassociate
        if literal:
            ZM = Z.copy()
            ZM[:, :, n] = 0.0  # (B, D, N1) Z M: the query column is masked out of keys and values
        else:
            ZM = Z[:, :, :nk]  # (B, D, K) the keys and values themselves
        Zt = Z.transpose(0, 2, 1)  # (B, N1, D)
        out = Z
        Fl, Sl = [], []
        for h in range(Ps.shape[1]):
            if model.reassociate:
                Kc = Z[:, :, :nk] @ Z[:, :, :nk].transpose(0, 2, 1) / c  # (B, D, D) = (1/c) sum_keys z z^T
                T = Ps[li, h] @ Kc @ Qs[li, h]  # (B, D, D)
                out = out + T @ Z  # (B, D, N1)
                Fl.append(Kc)
                Sl.append(T)
                continue
            F = Zt @ Qs[li, h] @ Z  # (B, N1, N1) = Z^T Q Z, keys on axis -2
            S = sc.f(F if literal else F[:, :nk])  # (B, N1 or K, N1)
            if Wc is not None:  # causal: key j reaches column i with weight Wc[j, i] (1/c included)
                out = out + Ps[li, h] @ ZM @ (S * Wc)  # (B, D, N1)
            else:
                out = out + (Ps[li, h] @ ZM @ S) / c  # (B, D, N1); literal: row n of S meets the zero column
            Fl.append(F[:, :nk])  # (B, K, N1)
            Sl.append(S[:, :nk])  # (B, K, N1)
        if cache is not None:  # keep
            cache.Zin.append(Z)
            cache.Fs.append(Fl)
            cache.Ss.append(Sl)
            cache.Zmid.append(out)
        Z = out
        if model.mlp:
            H1 = W1s[li] @ Z  # (B, m, N1)
            Z = Z + W2s[li] @ np.maximum(H1, 0.0)  # (B, D, N1)
            if cache is not None:  # keep
                cache.H1s.append(H1)
    if cache is not None:  # keep
        cache.ZL = Z
        return Z, cache
    return Z


def vjp(cache: Cache, G: np.ndarray, *, per_prompt: bool = False) -> dict:
    """Pull G = dloss/dZ_L (B, D, N1) back: {'Z0', 'Ps', 'Qs'[, 'W1s', 'W2s']}; parameter gradients
    summed over the batch (shapes of the parameters) or, with per_prompt=True, kept per prompt (B, ...)."""
    m = cache.model
    sc = SCORES[m.score]
    Ps, Qs = cache.Ps, cache.Qs
    B, D, N1 = G.shape
    n = N1 - 1
    c = n if sc.per_n else 1
    nk = n if m.mask is not False else n + 1
    Wc = causal_weights(n, m.mask == "causal-mean") if m.causal else None  # (K, N1) or None
    lead = (B,) if per_prompt else ()
    dPs, dQs = np.zeros(lead + Ps.shape), np.zeros(lead + Qs.shape)
    dW1: np.ndarray | None = None
    dW2: np.ndarray | None = None
    if m.mlp:  # forward runs an MLP model only with W1s and W2s, and its cache keeps them
        assert cache.W1s is not None and cache.W2s is not None, "the cache of an MLP model holds W1s and W2s"
        dW1, dW2 = np.zeros(lead + cache.W1s.shape), np.zeros(lead + cache.W2s.shape)

    def add(acc: np.ndarray, idx: tuple, g: np.ndarray) -> None:  # g (B, ...) per prompt
        if per_prompt:
            acc[(slice(None),) + idx] += g
        else:
            acc[idx] += g.sum(axis=0)

    for l in range(m.L - 1, -1, -1):
        li = m.index(l)
        if m.mlp:
            assert cache.W1s is not None and cache.W2s is not None and dW1 is not None and dW2 is not None  # as above
            W1, W2, H1 = cache.W1s[li], cache.W2s[li], cache.H1s[l]
            add(dW2, (li,), G @ np.maximum(H1, 0.0).transpose(0, 2, 1))  # (B, D, m)
            dH = (W2.T @ G) * (H1 > 0)  # (B, m, N1)
            add(dW1, (li,), dH @ cache.Zmid[l].transpose(0, 2, 1))  # (B, m, D)
            G = G + W1.T @ dH  # (B, D, N1)
        Z = cache.Zin[l]  # (B, D, N1)
        K = Z[:, :, :nk]  # (B, D, K) keys and values
        dZ = G.copy()  # (B, D, N1) residual
        for h in range(Ps.shape[1]):
            P, Q, F, S = Ps[li, h], Qs[li, h], cache.Fs[l][h], cache.Ss[l][h]
            if m.reassociate:  # F = Kc (B, D, D), S = T = P Kc Q (B, D, D)
                dT = G @ Z.transpose(0, 2, 1)  # (B, D, D)
                add(dPs, (li, h), dT @ (Q.T @ F))  # (B, D, D) = dT Q^T Kc
                add(dQs, (li, h), F @ (P.T @ dT))  # (B, D, D) = Kc P^T dT
                dKc = P.T @ dT @ Q.T  # (B, D, D)
                dZ += S.transpose(0, 2, 1) @ G  # (B, D, N1)
                dZ[:, :, :nk] += (dKc + dKc.transpose(0, 2, 1)) @ K / c  # (B, D, K)
                continue
            if Wc is not None:  # causal: S enters as S * Wc (the weights include 1/c)
                Sw = S * Wc  # (B, K, N1)
                dS = (P @ K).transpose(0, 2, 1) @ G * Wc  # (B, K, N1)
                add(dPs, (li, h), G @ (K @ Sw).transpose(0, 2, 1))  # (B, D, D)
                dZk = P.T @ G @ Sw.transpose(0, 2, 1)  # (B, D, K)
            else:  # (the original expressions: the same rounding as before the causal option)
                dS = (P @ K).transpose(0, 2, 1) @ G / c  # (B, K, N1)
                add(dPs, (li, h), G @ (K @ S).transpose(0, 2, 1) / c)  # (B, D, D)
                dZk = P.T @ G @ S.transpose(0, 2, 1) / c  # (B, D, K)
            dF = sc.vjp(F, S, dS)  # (B, K, N1)
            add(dQs, (li, h), K @ dF @ Z.transpose(0, 2, 1))  # (B, D, D)
            dZ[:, :, :nk] += dZk + Q @ Z @ dF.transpose(0, 2, 1)  # (B, D, K)
            dZ += Q.T @ K @ dF  # (B, D, N1)
        G = dZ
    out = {"Z0": G, "Ps": dPs, "Qs": dQs}
    if m.mlp:
        assert dW1 is not None and dW2 is not None  # allocated above for an MLP model
        out.update({"W1s": dW1, "W2s": dW2})
    return out


def loss_and_grads(model: LSA, Z0: np.ndarray, yq: np.ndarray, Ps, Qs, W1s=None, W2s=None, *,
                   grad: bool = True, per_prompt: bool = False):
    """Canonical read-out TF = -[Z_L]_{d+1,n+1}, residual r = TF - y_q (B,) and the loss.

    Returns (loss, r, grads): loss = mean_b r_b^2 (float) with grads of the mean, or with per_prompt=True
    loss = r^2 (B,) with per-prompt grads (B, ...); grads is None when grad=False."""
    yq = np.asarray(yq, float)
    if grad:
        ZL, cache = forward(model, Z0, Ps, Qs, W1s, W2s, keep=True)
    else:
        ZL = forward(model, Z0, Ps, Qs, W1s, W2s)
    B, D, N1 = ZL.shape
    r = -ZL[:, D - 1, N1 - 1] - yq  # (B,) = TF - y_q
    loss = r**2 if per_prompt else float(np.mean(r**2))
    if not grad:
        return loss, r, None
    G = np.zeros_like(ZL)  # (B, D, N1) dloss/dZ_L
    G[:, D - 1, N1 - 1] = -2.0 * r if per_prompt else -2.0 * r / B
    return loss, r, vjp(cache, G, per_prompt=per_prompt)


def lsa_loss_and_grads(Z0: np.ndarray, yq: np.ndarray, Ps: Sequence, Qs: Sequence
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The signature and return of ``numerics.families.lsa_loss_and_grads``: per-prompt loss
    (TF - y_q)^2 (B,) of the canonical masked linear model and its gradients dP, dQ (B, L, d+1, d+1)."""
    model = LSA(L=len(Ps))
    loss, _, g = loss_and_grads(model, Z0, yq, np.asarray(Ps, float), np.asarray(Qs, float), per_prompt=True)
    return loss, g["Ps"][:, :, 0], g["Qs"][:, :, 0]


# ---------------------------------------------------------------------------------------------
# kernel attention (Cheng, Chen, Sra 2024): the exponential kernel h(k, q) = exp(k^T Q q), a sum of n
# un-normalised scores (c = 1/n), entrywise; its row-normalised form is "softmax". Every kernel of
# numerics.attention.kernel_attention is a function of the merged key-query product, so Q = K^T Q of the paper.
# ---------------------------------------------------------------------------------------------
def _exp(F: np.ndarray) -> np.ndarray:
    return np.exp(F)


def _exp_vjp(F: np.ndarray, S: np.ndarray, dS: np.ndarray) -> np.ndarray:
    return dS * S


SCORES["exp"] = Score("exp", _exp, _exp_vjp, per_n=True, entrywise=True)
