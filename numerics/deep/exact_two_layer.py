"""The exact population loss of a masked L = 2 linear-attention model with fully general weights (P_0, Q_0, P_1, Q_1),
Gaussian covariates, any Sigma, any task prior N(0, Sigma_w), any label noise sigma2 >= 0.

Derivation (conventions of ``numerics.model.lsa`` / ``numerics.deep.conditioned``: Z_{l+1} = Z_l + (1/n) P_l Z_l M Z_l^T Q_l Z_l, the
query is never a key, prediction = sign [Z_L]_{d+1,n+1}, target y_q = w^T x_q without noise):

1. With the mask every column gets the same map A_l = I + P_l G_l Q_l, G_l = (1/n) sum_{i<=n} z_i z_i^T, and
   G_{l+1} = A_l G_l A_l^T. So e_{d+1}^T T = e^T A_0 + e^T P_1 A_0 G_0 A_0^T Q_1 A_0 (T = A_1 A_0), and the error is
   rho^T s_q with x_q = S s_q (S = Sigma^{1/2}, s_q ~ N(0, I)), rho^T = sign e^T T E_x S - w^T S (E_x = [I; 0]).
   Given (G_0, w), E_{x_q} err^2 = |rho|^2 exactly.
2. Tokens: z_i = F u_i, u_i = (s_i, e_i) ~ N(0, I_p), F = [[S, 0], [w^T S, sigma]] (D x p; p = d + 1, or p = d and
   no e column when sigma2 = 0). So G_0 = F H F^T with H = (1/n) sum u_i u_i^T a normalised Wishart W_p(n, I) / n
   independent of w; write H = I + Delta.
3. w = L_w xi (L_w L_w^T = Sigma_w, xi ~ N(0, I_d)): F is affine in xi, so rho is a polynomial of degree <= 4 in
   the m = p(p+1)/2 entries of Delta and <= 8 in xi (each G_0 factor brings Delta-degree 1 and xi-degree 2). It is
   built exactly as a coefficient array over the monomials of (xi, Delta) by the chain of right-multiplications
   above (by constant matrices, by F, F^T and by H, each a shift of monomials): no sampling, no quadrature node.
4. E over xi: expand in the orthonormal Hermite basis he_alpha(xi) (|alpha| <= 8); by orthonormality
   E_xi |rho|^2 = sum_alpha |rho_alpha(Delta)|^2 - a sum of non-negative terms.
5. E over Delta: rho_alpha(Delta) = c . mono(Delta), so E = c^T M c with the moment Gram M_ij =
   E[mono_i(Delta) mono_j(Delta)] (moments of degree <= 8), computed once per (p, n) (lru_cache) by Gaussian
   integration by parts: for H = (1/n) sum_i v_i v_i^T, v_i ~ N(0, I_p), and f a polynomial in the entries
   h_ab (a <= b), E[h_ab f] = delta_ab E f + (1/n) sum_e (1 + delta_ae) E[H_be df/dh_ae], i.e. for Delta
   E[Delta_ab f] = (1/n) sum_e (1 + delta_ae) (delta_be E[df/dDelta_ae] + E[Delta_be df/dDelta_ae]) - degree-lowering,
   every coefficient positive. Sign flips u_a -> -u_a leave the law of H unchanged, so only monomials whose
   index parity vanishes have non-zero moments and M is block diagonal by parity class (2^(p-1) blocks).

Cost and bound. With p = d + 1 (noise) or d, the residual has d * C(d+8, 8) * C(m+4, 4) coefficients and the
contraction costs d * C(d+8, 8) * sum_blocks N_b^2 flops. Measured on a shared 2-core machine (n = 20, first call
including the moments): d = 3 with noise (p = 4: 165 x 1001 monomials) 0.1 s; d = 4 with noise (p = 5: 495 x 3876,
moments over the 490k-term parity-zero degree-<=8 basis built once in ~1 s) ~1 s; d = 5 without noise (p = 5:
1287 x 3876) ~3 s at 0.6 GB. p = 6 (d = 5 with noise, d = 6) would take 1287 x 12650 coefficients per row entry
(GBs) and exponent keys beyond int64, so the route stops at p <= ``MAX_EXACT_TWO_LAYER_P`` = 5: d <= 4, or d = 5
without label noise. Above it ``numerics.deep.model_loss`` keeps its Monte Carlo estimator and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial import hermite_e
from scipy import sparse

from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["MAX_EXACT_TWO_LAYER_P", "applicable", "moment_blocks", "two_layer_loss", "wishart_moments"]

MAX_EXACT_TWO_LAYER_P = 5  # p = d + [sigma2 > 0]: d = 4 with noise or d = 5 without, ~1-3 s (module docstring)
_BASE = 9  # exponent keys in base 9: degrees <= 8; 9^15 < 2^63 (p <= 5: m <= 15 variables)


@dataclass(frozen=True)
class _Basis:
    """The monomials of degree <= K in ``nv`` variables, graded (degree <= k is a prefix of length ``upto[k]``),
    with exponent keys sum_v e_v 9^v and, per variable, the index of mono * x_v for every mono of degree <= K - 1."""

    exps: np.ndarray  # (N, nv) exponents
    keys: np.ndarray  # (N,) int64
    upto: tuple[int, ...]  # upto[k] = number of monomials of degree <= k
    shift: np.ndarray  # (nv, upto[K-1]) index of mono * x_v


def _graded(nv: int, K: int, keep=None) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Exponent vectors of degree <= K, graded and key-sorted within a degree; ``keep`` filters each level."""
    pw = _BASE ** np.arange(nv, dtype=np.int64)
    levels = [np.zeros((1, nv), dtype=np.int64)]
    allv = [levels[0]]
    for _ in range(K):
        nxt = (levels[-1][:, None, :] + np.eye(nv, dtype=np.int64)[None]).reshape(-1, nv)
        keys, first = np.unique(nxt @ pw, return_index=True)
        levels.append(nxt[first])
        allv.append(levels[-1] if keep is None else levels[-1][keep(levels[-1])])
    exps = np.concatenate(allv)
    upto = tuple(int(x) for x in np.cumsum([a.shape[0] for a in allv]))
    return exps, exps @ pw, upto


@lru_cache(maxsize=16)
def _basis(nv: int, K: int) -> _Basis:
    exps, keys, upto = _graded(nv, K)
    pw = _BASE ** np.arange(nv, dtype=np.int64)
    order = np.argsort(keys)
    low = keys[: upto[K - 1]]
    shift = np.stack([order[np.searchsorted(keys[order], low + pw[v])] for v in range(nv)])
    return _Basis(exps, keys, upto, shift)


def _pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """The m = p(p+1)/2 entries (a <= b) of a symmetric p x p matrix as variables: (pairs (m, 2), var (p, p))."""
    pairs = np.array([(a, b) for a in range(p) for b in range(a, p)], dtype=np.int64)
    var = np.zeros((p, p), dtype=np.int64)
    for v, (a, b) in enumerate(pairs):
        var[a, b] = var[b, a] = v
    return pairs, var


def _parity(exps: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Bit mask of the coordinates a whose index occurs an odd number of times in the monomial."""
    bits = (1 << pairs[:, 0]) ^ (1 << pairs[:, 1])  # (m,) a diagonal entry toggles nothing
    odd = (exps % 2).astype(bool)
    out = np.zeros(exps.shape[0], dtype=np.int64)
    for v in range(exps.shape[1]):
        out[odd[:, v]] ^= bits[v]
    return out


@lru_cache(maxsize=8)
def wishart_moments(p: int, n: int, K: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(keys, moments): E prod_v Delta_v^{e_v} for Delta = H - I, H = (1/n) sum_{i<=n} v_i v_i^T, v_i ~ N(0, I_p),
    over every parity-zero monomial of degree <= K in the entries Delta_ab (a <= b, variable order of ``_pairs``),
    keys sorted; the other monomials have moment 0. By the integration-by-parts recursion (module docstring)."""
    if p < 1 or n < 1 or p > 5:
        raise InputError("p", f"Wishart moments are built for 1 <= p <= 5, n >= 1 (got p = {p}, n = {n})")
    pairs, var = _pairs(p)
    m = pairs.shape[0]
    pw = _BASE ** np.arange(m, dtype=np.int64)
    exps, keys, upto = _graded(m, K, keep=lambda e: _parity(e, pairs) == 0)
    order = np.argsort(keys)
    skeys = keys[order]
    mu = np.zeros(keys.size)
    mu[0] = 1.0  # E 1

    def look(kq: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(skeys, kq), skeys.size - 1)
        assert np.all(skeys[pos] == kq), "the recursion left the parity-zero monomials"
        return mu[order[pos]]

    for k in range(1, K + 1):
        sl = slice(upto[k - 1], upto[k])
        e = exps[sl]
        if e.shape[0] == 0:
            continue
        v0 = np.argmax(e > 0, axis=1)  # the first variable Delta_ab of the monomial
        a, b = pairs[v0, 0], pairs[v0, 1]
        kf = keys[sl] - pw[v0]  # f = monomial / Delta_ab
        ef = e.copy()
        ef[np.arange(e.shape[0]), v0] -= 1
        acc = np.zeros(e.shape[0])
        for ee in range(p):
            ae, be = var[a, ee], var[b, ee]
            cnt = ef[np.arange(e.shape[0]), ae]  # d f / d Delta_ae = cnt * f / Delta_ae
            ok = cnt > 0
            if not ok.any():
                continue
            fac = np.where(a == ee, 2.0, 1.0)[ok] * cnt[ok] / n
            kd = kf[ok] - pw[ae[ok]]  # f / Delta_ae
            val = look(kd + pw[be[ok]])  # E[Delta_be f / Delta_ae]
            diag = (ee == b)[ok]
            if diag.any():
                val = val + np.where(diag, look(np.where(diag, kd, 0)), 0.0)
            acc[ok] += fac * val
        mu[sl] = acc
    return skeys, mu[order]


@lru_cache(maxsize=8)
def moment_blocks(p: int, n: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The moment Gram M_ij = E[mono_i(Delta) mono_j(Delta)] over the monomials of degree <= 4 of ``_basis(m, 4)``,
    as its diagonal blocks (indices, block) by parity class (the off-block entries vanish)."""
    pairs, _ = _pairs(p)
    m = pairs.shape[0]
    basis = _basis(m, 4)
    skeys, mu = wishart_moments(p, n)
    par = _parity(basis.exps, pairs)
    out = []
    for c in np.unique(par):
        idx = np.flatnonzero(par == c)
        kk = basis.keys[idx]
        q = (kk[:, None] + kk[None, :]).ravel()
        pos = np.minimum(np.searchsorted(skeys, q), skeys.size - 1)
        assert np.all(skeys[pos] == q), "a product of two same-class monomials is parity zero"
        blk = mu[pos].reshape(idx.size, idx.size)
        blk.setflags(write=False)
        idx.setflags(write=False)
        out.append((idx, blk))
    return tuple(out)


@lru_cache(maxsize=8)
def _hermite_transform(dim: int):
    """(N, N) map from monomial coefficients in xi (degree <= 8, ``_basis(dim, 8)``) to coefficients in the
    orthonormal Hermite basis he_alpha = prod_j He_{alpha_j}(xi_j) / sqrt(alpha_j!)."""
    K = 8
    C = np.zeros((K + 1, K + 1))  # C[k, i]: x^k = sum_i C[k, i] he_i
    fact = np.cumprod([1.0] + list(range(1, K + 1)))
    for k in range(K + 1):
        c = hermite_e.poly2herme(np.eye(K + 1)[k])
        C[k, : c.size] = c * np.sqrt(fact[: c.size])
    ex = _basis(dim, K).exps  # (N, dim)
    Tm = np.ones((ex.shape[0], ex.shape[0]))  # Tm[beta, alpha] = prod_j C[alpha_j, beta_j]
    for j in range(dim):
        Tm *= C[ex[None, :, j], ex[:, None, j]]
    return sparse.csr_matrix(Tm)  # sparse: x^k has He_i only for i <= k of its parity


def applicable(setting: Setting, L: int, *, mask: bool = True) -> str | None:
    """None when the exact route applies to L layers at this setting, else why not (one phrase)."""
    if L > 2:
        return f"L = {L}: the exact route covers L <= 2"
    if not mask:
        return "unmasked model: the query is a key, the prediction is not linear in x_q"
    if not setting.gaussian:
        return f"{setting.covariates} covariates: the context Gram has no Wishart law"
    if setting.n_is_symbolic:
        return "symbolic n"
    p = setting.d + 1 if setting.sigma2 > 0 else setting.d
    if p > MAX_EXACT_TWO_LAYER_P:
        return (f"d = {setting.d}{' with label noise' if setting.sigma2 > 0 else ''}: the exact L <= 2 expansion "
                f"stops at d + [sigma2 > 0] <= {MAX_EXACT_TWO_LAYER_P} (here ~{_size(setting.d, p):.1e} coefficients)")
    return None


def _size(d: int, p: int) -> float:
    """Coefficients of the residual: d rows x C(d+8, 8) monomials in xi x C(m+4, 4) in Delta."""
    from math import comb

    return float(d * comb(d + 8, 8) * comb(p * (p + 1) // 2 + 4, 4))


class _Chain:
    """Row vectors of polynomials in (xi, Delta): arrays (len, upto_xi[dx], upto_h[dh]) with their degrees."""

    def __init__(self, setting: Setting):
        d = setting.d
        self.d, self.D = d, d + 1
        self.p = d + 1 if setting.sigma2 > 0 else d
        self.sigma = float(np.sqrt(setting.sigma2))
        self.S = sqrtm_psd(setting.Sigma)
        Lw = np.linalg.cholesky(setting.Sigma_w)
        self.W = Lw.T @ self.S  # (d, d): w^T S = xi^T W
        self.pairs, self.var = _pairs(self.p)
        self.bx = _basis(d, 8)
        self.bh = _basis(self.pairs.shape[0], 4)

    def zero(self, rows: int, dx: int, dh: int) -> np.ndarray:
        return np.zeros((rows, self.bx.upto[dx], self.bh.upto[dh]))

    @staticmethod
    def pad(X: np.ndarray, nx: int, nh: int) -> np.ndarray:
        out = np.zeros((X.shape[0], nx, nh))
        out[:, : X.shape[1], : X.shape[2]] = X
        return out

    def times_xi(self, X: np.ndarray, j: int, nx: int) -> np.ndarray:
        """(rows, nx, nh): X (rows, nx0, nh) times xi_j (X of degree < 8 in xi)."""
        out = np.zeros((X.shape[0], nx, X.shape[2]))
        out[:, self.bx.shift[j, : X.shape[1]], :] = X
        return out

    def times_F(self, X: np.ndarray, dx: int, dh: int):
        """D-row X -> p-row X F, F = [[S, 0], [xi^T W, sigma]]."""
        d, nx = self.d, self.bx.upto[dx + 1]
        out = self.pad(np.tensordot(self.S, X[:d], axes=([0], [0])), nx, X.shape[2])  # sum_a X_a S_ac
        for j in range(d):
            out += self.W[j][:, None, None] * self.times_xi(X[d:], j, nx)
        if self.p > d:
            out = np.concatenate([out, self.pad(self.sigma * X[d:], nx, X.shape[2])])
        return out, dx + 1, dh

    def times_FT(self, Y: np.ndarray, dx: int, dh: int):
        """p-row Y -> D-row Y F^T."""
        d, nx = self.d, self.bx.upto[dx + 1]
        out = np.zeros((d + 1, nx, Y.shape[2]))
        out[:d, : Y.shape[1]] = np.tensordot(self.S, Y[:d], axes=([1], [0]))  # sum_c S_ac Y_c
        for j in range(d):
            out[d, self.bx.shift[j, : Y.shape[1]]] += np.tensordot(self.W[j], Y[:d], axes=([0], [0]))  # xi_j ...
        if self.p > d:
            out[d, : Y.shape[1]] += self.sigma * Y[d]
        return out, dx + 1, dh

    def times_H(self, Y: np.ndarray, dx: int, dh: int):
        """p-row Y -> Y (I + Delta)."""
        nh = self.bh.upto[dh + 1]
        out = self.pad(Y, Y.shape[1], nh)
        sh = self.bh.shift[:, : Y.shape[2]]
        for c in range(self.p):
            for j in range(self.p):
                out[j][:, sh[self.var[c, j]]] += Y[c]
        return out, dx, dh + 1

    def times_G0(self, X: np.ndarray, dx: int, dh: int):
        return self.times_FT(*self.times_H(*self.times_F(X, dx, dh)))

    def times_A0(self, X: np.ndarray, dx: int, dh: int, P0: np.ndarray, Q0: np.ndarray, transpose: bool = False,
                 cols: int | None = None):
        """X A_0 (or X A_0^T), A_0 = I + P_0 G_0 Q_0; ``cols``: only the first ``cols`` entries of the row."""
        left, right = (Q0.T, P0.T) if transpose else (P0, Q0)
        Y, ex, eh = self.times_G0(np.tensordot(left, X, axes=([0], [0])), dx, dh)
        Y = np.tensordot(right[:, :cols], Y, axes=([0], [0]))
        Y[:, : X.shape[1], : X.shape[2]] += X[:cols]
        return Y, ex, eh


def two_layer_loss(setting: Setting, Ps, Qs, *, readout_sign: int = -1, mask: bool = True) -> float:
    """The exact loss E (sign [Z_2]_{d+1,n+1} - w^T x_q)^2 of the masked model with stacked (L, d+1, d+1) weights,
    L <= 2 (L = 1 is the model with P_1 = Q_1 = 0), general P_l, Q_l (module docstring). InputError when the route
    does not apply (``applicable``)."""
    Ps = np.asarray(Ps, dtype=float)
    Qs = np.asarray(Qs, dtype=float)
    D = setting.d + 1
    if Ps.ndim == 2:
        Ps, Qs = Ps[None], Qs[None]
    if Ps.ndim != 3 or Ps.shape != Qs.shape or Ps.shape[1:] != (D, D) or not 1 <= Ps.shape[0]:
        raise InputError("P", f"needs stacked (L, {D}, {D}) P and Q, got {Ps.shape}, {Qs.shape}")
    if not (np.all(np.isfinite(Ps)) and np.all(np.isfinite(Qs))):
        raise InputError("P", "has non-finite entries (NaN or inf)")
    why = applicable(setting, Ps.shape[0], mask=mask)
    if why is not None:
        raise InputError("exact two-layer loss", why)
    if readout_sign not in (-1, 1):
        raise InputError("readout_sign", f"must be -1 or +1, got {readout_sign!r}")
    if Ps.shape[0] == 1:
        Ps = np.concatenate([Ps, np.zeros_like(Ps)])
        Qs = np.concatenate([Qs, np.zeros_like(Qs)])
    ch, rho = _residual(setting, Ps, Qs, readout_sign)
    Tm = _hermite_transform(setting.d)
    total = 0.0
    for c in range(setting.d):
        herm = Tm @ rho[c]  # orthonormal-Hermite coefficients in xi: E_xi rho_c^2 = sum over rows of herm^2
        for idx, blk in moment_blocks(ch.p, int(setting.n)):
            Y = herm[:, idx]
            total += float(np.sum((Y @ blk) * Y))
    return total


def _residual(setting: Setting, Ps: np.ndarray, Qs: np.ndarray, readout_sign: int) -> tuple[_Chain, np.ndarray]:
    """The residual rho_c = sign (e^T A_1 A_0 E_x S)_c - (w^T S)_c as coefficients (d, C(d+8, 8), C(m+4, 4)) over
    the monomials xi^alpha (``_basis(d, 8)``) times Delta^beta (``_basis(m, 4)``), for (2, D, D) weights."""
    ch = _Chain(setting)
    d, D = setting.d, setting.d + 1
    P0, Q0, P1, Q1 = Ps[0], Qs[0], Ps[1], Qs[1]
    e = np.zeros((D, 1, 1))
    e[d] = 1.0
    first, _, _ = ch.times_A0(e, 0, 0, P0, Q0)  # e^T A_0
    X, ex, eh = ch.times_A0(np.tensordot(P1, e, axes=([0], [0])), 0, 0, P0, Q0)  # e^T P_1 A_0
    X, ex, eh = ch.times_G0(X, ex, eh)
    X, ex, eh = ch.times_A0(X, ex, eh, P0, Q0, transpose=True)
    X, ex, eh = ch.times_A0(np.tensordot(Q1, X, axes=([0], [0])), ex, eh, P0, Q0, cols=d)  # x-part of the row
    X[:, : first.shape[1], : first.shape[2]] += first[:d]  # e^T A_1 A_0 E_x, degrees (8, 4)
    rho = readout_sign * np.tensordot(ch.S, X, axes=([0], [0]))  # (d, Nx, Nh)
    del X
    rho[:, ch.bx.shift[:, 0], 0] -= ch.W.T  # - (w^T S)_c = - sum_j xi_j W_jc
    return ch, rho
