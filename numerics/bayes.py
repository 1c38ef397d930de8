"""Bayes-optimal baselines: the posterior-mean predictor and its risk, finite task pools and their dMMSE predictor.

Canonical model (docs/model.md): rows x_i = Sigma^{1/2} s_i, w ~ prior, y = X w + eps, eps ~ N(0, sigma2 I_n), target
w^T x_q (noiseless query; ``query_noise=True`` adds sigma2). The exact facts are in ``theory.bayes``.

- Gaussian prior N(0, Sigma_w): the posterior mean is the generalized ridge (X^T X + sigma2 Sigma_w^{-1})^{-1} X^T y
  (``posterior_mean``), its risk R = E_X tr(Sigma C(X)), C = (X^T X / sigma2 + Sigma_w^{-1})^{-1} the posterior
  covariance, for every covariate law (X is independent of w). ``bayes_risk`` returns it
    * exactly: sigma2 = 0 with n >= d and continuous covariates (R = 0);
    * by quadrature: d = 1, Gaussian covariates (X^T X = Sigma chi2_n), to ~1e-12;
    * otherwise by Monte Carlo over X only (Rao-Blackwellised: w, eps and x_q are integrated out exactly), with
      a 99.9% interval; the values lie in [0, tr(Sigma Sigma_w)], so the tails are light. Gaussian covariates
      with n >= d draw X^T X directly by Bartlett's decomposition (cost independent of n) in the whitened basis
      where only the eigenvalues of Sigma^{1/2} Sigma_w Sigma^{1/2} enter.
  The OLS risk sigma2 d / (n - d - 1) (Gaussian, n > d + 1) is exact (``ols_risk``) and bounds R from above.
- ``ridge_risk``: the risk of a ridge built for a model prior (Sigma_w_model, sigma2_model) on the setting's true
  task law: conditional on X it is exact, tr(Sigma E Sigma_w E^T) + sigma2 tr(Sigma R G R^T) with G = X^T X,
  R = (G + sigma2_model Sigma_w_model^{-1})^{-1}, E = R G - I; it depends on the task law only through E w w^T.
- ``TaskPool``: w uniform on K fixed vectors. Its posterior mean (dMMSE, Raventos et al. eq. 2) is the softmax of
  -||y - X w_k||^2 / (2 sigma2) over the pool (logsumexp-stable); ``dmmse_risk`` estimates its risk by Monte Carlo
  (x_q integrated out exactly) on pool tasks or on Gaussian tasks.
- ``pool_lsa_optimum``: the one-layer LSA optimum in the reduced family x_q^T Gamma h, h = (1/n) sum y_i x_i,
  trained on the pool. Its loss is quadratic in w, so it depends on the pool only through E w w^T: the master
  formula with Sigma_w = the pool's second moment (any covariate law). In the full (P, Q) space this is not so:
  the prediction has the terms (1/n) b^T X^T X Q11 x_q (no y), (1/n) c y^T y q21 x_q and (1/n) b^T X^T y q21 x_q
  (quadratic in y), so the loss involves the pool's first, third and fourth moments; at the reduced optimum
  (b = 0, q21 = 0) the gradient in b is linear in E w and the gradient in q21 is a third moment of w. Both vanish
  for a sign-symmetric pool {+w_k, -w_k} (tests/numerics/test_bayes.py checks both by the literal forward pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.forward import standardized
from iclcheck.numerics.model.montecarlo import MCEstimate, estimate_from_values
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["MAX_D", "MAX_N", "RiskEstimate", "TaskPool", "bayes_risk", "dmmse_posterior_mean", "dmmse_risk",
           "ols_risk", "pool_lsa_optimum", "posterior_mean", "ridge_risk"]

MAX_D = 20  # sizes the quick profile is built for (batched d x d solves)
MAX_N = 200
CHUNK_ENTRIES = 4_000_000  # floats per batch of drawn data (memory bound)
RANK_RTOL = 1e-10  # singular values below this fraction of the largest count as 0 (sigma2 = 0: exact rank deficiency
# of discrete designs is rounded to ~1e-15, far below; a genuine direction of a continuous design is far above)


@dataclass(frozen=True)
class RiskEstimate:
    """A risk: ``value``, ``interval`` (lo, hi), ``exact`` (closed form or quadrature: no sampling error) and how
    it was obtained; ``mc`` holds the Monte Carlo estimate (tail diagnostics) when sampled."""

    value: float
    interval: tuple[float, float]
    exact: bool
    method: str
    mc: MCEstimate | None = None

    def describe(self, fmt: str = ".6g") -> str:
        if self.exact:
            return f"{self.value:{fmt}} (exact: {self.method})"
        if self.mc is not None and self.mc.heavy_tail:
            return f"{self.mc.describe(fmt)} ({self.method})"
        lo, hi = self.interval
        assert self.mc is not None, "an estimate that is not exact carries its Monte Carlo (mc_risk)"
        return f"{self.value:{fmt}} ({self.mc.level:.1%} CI [{lo:{fmt}}, {hi:{fmt}}], {self.method}, " \
               f"N = {self.mc.n_samples})"

    def shifted(self, c: float) -> RiskEstimate:
        """The same estimate plus a constant (e.g. sigma2 for a noisy query target)."""
        if self.mc is None:
            return RiskEstimate(self.value + c, (self.interval[0] + c, self.interval[1] + c), self.exact, self.method)
        m = self.mc
        mc = MCEstimate(mean=m.mean + c, stderr=m.stderr, n_samples=m.n_samples, level=m.level,
                        nonnegative=m.nonnegative, heavy_tail=m.heavy_tail, tail_index=m.tail_index,
                        var_rel_se=m.var_rel_se, max_share=m.max_share, median=m.median + c,
                        quantiles=tuple((q, v + c) for q, v in m.quantiles))
        return RiskEstimate(self.value + c, mc.ci, False, self.method, mc)


def _mc(values: np.ndarray, method: str) -> RiskEstimate:
    est = estimate_from_values(values, nonnegative=True)
    return RiskEstimate(est.mean, est.ci, False, method, est)


def _check_setting(setting: Setting, samples: int) -> None:
    if setting.n_is_symbolic:
        raise InputError("n", "the Bayes risk needs a numeric n")
    if setting.d > MAX_D:
        raise InputError("Sigma", f"d = {setting.d} exceeds {MAX_D} (batched d x d solves per sample)")
    if setting.n > MAX_N:
        raise InputError("n", f"n = {setting.n} exceeds {MAX_N}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 100 <= samples <= 10**7:
        raise InputError("samples", f"must be an integer in [100, 1e7], got {samples!r}")


def _spd_inv(A: np.ndarray) -> np.ndarray:
    """Inverse of a (batch of) SPD matrices, symmetrised."""
    Ai = np.linalg.inv(A)
    return (Ai + np.swapaxes(Ai, -1, -2)) / 2


def _draw_X(setting: Setting, k: int, rng: np.random.Generator) -> np.ndarray:
    """k design matrices (k, n, d), rows x = Sigma^{1/2} s."""
    s = standardized(setting.covariates, rng, (k, setting.n, setting.d))
    return s @ sqrtm_psd(setting.Sigma)


def _chunks(samples: int, per_sample: int) -> list[int]:
    size = max(1, min(samples, CHUNK_ENTRIES // max(per_sample, 1)))
    out = [size] * (samples // size)
    if samples % size:
        out.append(samples % size)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Gaussian prior: posterior mean and Bayes risk
# ---------------------------------------------------------------------------------------------------------------
def posterior_mean(X: np.ndarray, y: np.ndarray, *, Sigma_w: np.ndarray, sigma2: float) -> np.ndarray:
    """E[w | X, y] for w ~ N(0, Sigma_w): (X^T X + sigma2 Sigma_w^{-1})^{-1} X^T y, batched: X (B, n, d), y (B, n)
    -> (B, d). Computed as Sigma_w X^T (X Sigma_w X^T + sigma2 I)^{-1} y (the same matrix, no Sigma_w^{-1}); for
    sigma2 = 0 the limit, the minimum-Sigma_w^{-1}-norm interpolant L (X L)^+ y, L L^T = Sigma_w."""
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    if X.ndim == 2:
        return posterior_mean(X[None], y[None], Sigma_w=Sigma_w, sigma2=sigma2)[0]
    W = np.asarray(Sigma_w, float)
    if sigma2 < 0:
        raise InputError("sigma2", f"must be >= 0, got {sigma2}")
    if sigma2 == 0:
        L = np.linalg.cholesky(W)
        return np.einsum("de,be->bd", L, np.einsum("ben,bn->be", np.linalg.pinv(X @ L, rcond=RANK_RTOL), y))
    n = X.shape[1]
    K0 = X @ W @ np.swapaxes(X, 1, 2)  # (B, n, n)
    if _tiny_noise(K0, sigma2):  # K0 + sigma2 I is singular to rounding: the truncated eigen-route
        a = _kernel_apply(K0, sigma2, y[..., None])[..., 0]
    else:
        a = np.linalg.solve(K0 + sigma2 * np.eye(n), y[..., None])[..., 0]  # (B, n)
    return np.einsum("de,bne,bn->bd", W, X, a)


def _tiny_noise(K0: np.ndarray, sigma2: float) -> bool:
    """sigma2 below RANK_RTOL x the scale of the PSD kernels K0 (B, n, n): K0 + sigma2 I may be singular in float64
    (rank-deficient K0, n > d) or conditioned beyond 1 / RANK_RTOL."""
    scale = float(np.max(np.abs(np.diagonal(K0, axis1=-2, axis2=-1)), initial=0.0))
    return sigma2 < RANK_RTOL * scale


def _kernel_apply(K0: np.ndarray, sigma2: float, V: np.ndarray) -> np.ndarray:
    """(K0 + sigma2 I)^{-1} V restricted to the range of the PSD kernels K0 = X A X^T (B, n, n), V (B, n, m):
    eigen-directions with eigenvalue <= RANK_RTOL x the largest are dropped. Exact wherever the result is used as
    A X^T (K0 + sigma2 I)^{-1} (...): a null vector u of K0 has X^T u = 0 (A positive definite), so it contributes
    nothing for any sigma2 >= 0; dropping it avoids dividing rounding noise by a tiny sigma2."""
    lam, U = np.linalg.eigh(K0)  # (B, n), (B, n, n)
    top = np.max(lam, axis=-1, keepdims=True)
    keep = lam > RANK_RTOL * np.maximum(top, 0.0)
    inv = np.where(keep, 1.0 / np.where(keep, lam + sigma2, 1.0), 0.0)  # (B, n)
    return U @ (inv[..., None] * (np.swapaxes(U, -1, -2) @ V))


def ols_risk(setting: Setting) -> float:
    """Exact OLS risk sigma2 d / (n - d - 1) (Gaussian covariates, n > d + 1): E (X^T X)^{-1} = Sigma^{-1}/(n-d-1)."""
    d, n = setting.d, setting.n
    if not setting.gaussian:
        raise InputError("covariates", "the closed-form OLS risk is for Gaussian covariates")
    if n <= d + 1:
        raise InputError("n", f"the OLS risk is finite only for n > d + 1 (d = {d}, n = {n})")
    return setting.sigma2 * d / (n - d - 1)


def _posterior_traces(setting: Setting, k: int, rng: np.random.Generator) -> np.ndarray:
    """k draws of tr(Sigma C(X)) (the conditional Bayes risk given X)."""
    d, n, s2 = setting.d, setting.n, setting.sigma2
    S, W = setting.Sigma, setting.Sigma_w
    if setting.gaussian and n >= d and s2 > 0:
        # whitened: X^T X = Sh G Sh, G ~ Wishart(I, n); tr(S C) = s2 tr((G + s2 A^{-1})^{-1}), A = Sh W Sh,
        # and by the rotation invariance of G only the eigenvalues a of A enter
        Sh = sqrtm_psd(S)
        a = np.linalg.eigvalsh(Sh @ W @ Sh)
        Lb = np.zeros((k, d, d))
        Lb[:, np.arange(d), np.arange(d)] = np.sqrt(rng.chisquare(n - np.arange(d), size=(k, d)))
        il = np.tril_indices(d, -1)
        Lb[:, il[0], il[1]] = rng.standard_normal((k, il[0].size))
        G = Lb @ np.swapaxes(Lb, 1, 2)
        G[:, np.arange(d), np.arange(d)] += s2 / a
        return s2 * np.trace(_spd_inv(G), axis1=1, axis2=2)
    X = _draw_X(setting, k, rng)  # (k, n, d)
    if s2 == 0:  # C = W - W X^T (X W X^T)^+ X W
        XW = X @ W  # (k, n, d)
        Kp = np.linalg.pinv(XW @ np.swapaxes(X, 1, 2), rcond=RANK_RTOL, hermitian=True)  # (k, n, n)
        C = W - np.swapaxes(XW, 1, 2) @ Kp @ XW
        return np.maximum(np.einsum("de,bed->b", S, C), 0.0)
    XW = X @ W  # (k, n, d)
    scale = float(np.max(np.einsum("bnd,bnd->bn", XW, X), initial=0.0))  # max diag of K0 = X W X^T
    if s2 < RANK_RTOL * scale:
        # tiny noise: X^T X + s2 W^-1 is singular to rounding wherever X^T X is (n < d, or a discrete design), so
        # C = W - W X^T (K0 + s2 I)^{-1} X W on the range of K0 (exact: ``_kernel_apply``), in sub-batches of
        # about CHUNK_ENTRIES floats of n x n kernels
        step = max(1, CHUNK_ENTRIES // (n * n))
        out = []
        for i in range(0, k, step):
            XWi = XW[i:i + step]
            K0 = XWi @ np.swapaxes(X[i:i + step], 1, 2)  # (b, n, n)
            C = W - np.swapaxes(XWi, 1, 2) @ _kernel_apply(K0, s2, XWi)
            out.append(np.maximum(np.einsum("de,bed->b", S, C), 0.0))
        return np.concatenate(out)
    G = np.swapaxes(X, 1, 2) @ X + s2 * _spd_inv(W)
    return s2 * np.einsum("de,bed->b", S, _spd_inv(G))


def bayes_risk(setting: Setting, *, rng: np.random.Generator, samples: int = 20_000,
               query_noise: bool = False) -> RiskEstimate:
    """The Bayes (posterior-mean) risk E (E[w | X, y]^T x_q - w^T x_q)^2 for w ~ N(0, Sigma_w) (+ sigma2 with
    ``query_noise``): exact where a closed form exists, else Monte Carlo over X with a 99.9% interval."""
    _check_setting(setting, samples)
    d, n, s2 = setting.d, setting.n, setting.sigma2
    extra = s2 if query_noise else 0.0
    if s2 == 0 and n >= d and setting.covariates != "rademacher":
        return RiskEstimate(0.0 + extra, (extra, extra), True, "sigma2 = 0, n >= d: w is identified")
    if d == 1 and setting.gaussian:
        Sg, Wg = float(setting.Sigma[0, 0]), float(setting.Sigma_w[0, 0])
        if s2 == 0:  # n >= 1 = d handled above
            raise AssertionError("unreachable")
        f = lambda t: s2 * Sg / (Sg * t + s2 / Wg) * stats.chi2.pdf(t, n)  # noqa: E731
        v, err = integrate.quad(f, 0, np.inf, epsabs=1e-14, epsrel=1e-12, limit=200)
        return RiskEstimate(v + extra, (v + extra - err, v + extra + err), True, "quadrature over chi2_n")
    vals = np.concatenate([_posterior_traces(setting, k, rng) for k in _chunks(samples, (n + d) * d)])
    return _mc(vals, "Monte Carlo over X").shifted(extra)


def ridge_risk(setting: Setting, *, Sigma_w_model: np.ndarray, sigma2_model: float, rng: np.random.Generator,
               samples: int = 20_000, query_noise: bool = False, task_moment: np.ndarray | None = None) -> RiskEstimate:
    """Risk of the ridge (X^T X + sigma2_model Sigma_w_model^{-1})^{-1} X^T y when the tasks have second moment
    E w w^T = setting.Sigma_w, or ``task_moment`` (positive semidefinite, e.g. ``TaskPool.second_moment`` of a pool
    with K < d; any task law: the error is quadratic in w) and the noise is setting.sigma2. Monte Carlo over X of the
    exact conditional risk; equals ``bayes_risk`` when the model is the truth."""
    _check_setting(setting, samples)
    if not sigma2_model > 0:
        raise InputError("sigma2_model", f"must be > 0, got {sigma2_model}")
    S, W, s2, d = setting.Sigma, setting.Sigma_w, setting.sigma2, setting.d
    if task_moment is not None:
        W = np.asarray(task_moment, float)
        if W.shape != (d, d) or not np.all(np.isfinite(W)) or not np.allclose(W, W.T, rtol=1e-12, atol=0) \
                or np.linalg.eigvalsh((W + W.T) / 2)[0] < -1e-12 * max(np.abs(W).max(), 1e-300):
            raise InputError("task_moment", f"must be a symmetric positive semidefinite {d}x{d} matrix")
    Pm = sigma2_model * _spd_inv(np.asarray(Sigma_w_model, float))

    def draw(k: int) -> np.ndarray:
        X = _draw_X(setting, k, rng)
        G = np.swapaxes(X, 1, 2) @ X  # (k, d, d)
        R = _spd_inv(G + Pm)
        E = R @ G - np.eye(d)
        bias = np.einsum("bij,bij->b", S @ E @ W, E)  # tr(S E W E^T)
        var = s2 * np.einsum("bij,bij->b", S @ R @ G, R)  # s2 tr(S R G R^T)
        return np.maximum(bias + var, 0.0)

    vals = np.concatenate([draw(k) for k in _chunks(samples, (setting.n + d) * d)])
    return _mc(vals, "Monte Carlo over X").shifted(s2 if query_noise else 0.0)


# ---------------------------------------------------------------------------------------------------------------
# finite task pools
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TaskPool:
    """w uniform on the K rows of ``W`` (K, d)."""

    W: np.ndarray

    def __post_init__(self) -> None:
        W = np.asarray(self.W, float)
        if W.ndim != 2 or W.shape[0] < 1 or not np.all(np.isfinite(W)):
            raise InputError("pool", f"must be a finite K x d matrix with K >= 1, got shape {W.shape}")
        object.__setattr__(self, "W", W)

    @staticmethod
    def gaussian(K: int, d: int, rng: np.random.Generator, Sigma_w: np.ndarray | None = None) -> TaskPool:
        """K iid draws from N(0, Sigma_w) (Raventos et al.'s pretraining pool with Sigma_w = I)."""
        if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
            raise InputError("K", f"must be a positive integer, got {K!r}")
        Z = rng.standard_normal((K, d))
        return TaskPool(Z if Sigma_w is None else Z @ np.linalg.cholesky(Sigma_w).T)

    @property
    def K(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]

    @property
    def mean(self) -> np.ndarray:
        return self.W.mean(axis=0)

    @property
    def second_moment(self) -> np.ndarray:
        """E w w^T = (1/K) W^T W (d, d)."""
        M = self.W.T @ self.W / self.K
        return (M + M.T) / 2

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self.W[rng.integers(0, self.K, size=k)]


def dmmse_posterior_mean(X: np.ndarray, y: np.ndarray, pool: TaskPool, sigma2: float) -> np.ndarray:
    """E[w | X, y] for w uniform on the pool (Raventos et al. eq. 2): softmax over k of
    -||y - X w_k||^2 / (2 sigma2), by logsumexp. X (B, n, d), y (B, n) -> (B, d); n = 0 gives the pool mean."""
    if not sigma2 > 0:
        raise InputError("sigma2", f"the dMMSE weights need sigma2 > 0, got {sigma2}")
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    B, n, _ = X.shape
    if n == 0:  # no context: the prior mean (Raventos et al.'s w_1), exactly the pool mean on every BLAS
        return np.tile(pool.mean, (B, 1))
    out = np.empty((B, pool.d))
    step = max(1, CHUNK_ENTRIES // max(n * pool.K, 1))
    for i in range(0, B, step):
        Xi, yi = X[i:i + step], y[i:i + step]
        R = yi[:, :, None] - Xi @ pool.W.T  # (b, n, K) residuals
        logits = -np.sum(R * R, axis=1) / (2 * sigma2)  # (b, K)
        p = np.exp(logits - special.logsumexp(logits, axis=1, keepdims=True))
        out[i:i + step] = p @ pool.W
    return out


def dmmse_risk(pool: TaskPool, setting: Setting, *, rng: np.random.Generator, samples: int = 20_000,
               tasks: str = "pool", query_noise: bool = False) -> RiskEstimate:
    """Risk E ((w_dMMSE - w)^T x_q)^2 of the pool's posterior mean, w drawn from the pool (``tasks='pool'``) or
    from N(0, setting.Sigma_w) (``tasks='gaussian'``); x_q is integrated out exactly: (w_hat - w)^T Sigma (...)."""
    _check_setting(setting, samples)
    if pool.d != setting.d:
        raise InputError("pool", f"has dimension {pool.d} but Sigma is {setting.d}x{setting.d}")
    if tasks not in ("pool", "gaussian"):
        raise InputError("tasks", f"must be 'pool' or 'gaussian', got {tasks!r}")
    Lw = np.linalg.cholesky(setting.Sigma_w)

    def draw(k: int) -> np.ndarray:
        X = _draw_X(setting, k, rng)
        w = pool.sample(k, rng) if tasks == "pool" else rng.standard_normal((k, setting.d)) @ Lw.T
        y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(setting.sigma2) * rng.standard_normal((k, setting.n))
        e = dmmse_posterior_mean(X, y, pool, setting.sigma2) - w
        return np.einsum("bd,de,be->b", e, setting.Sigma, e)

    vals = np.concatenate([draw(k) for k in _chunks(samples, (setting.n + 1) * max(setting.d, pool.K))])
    return _mc(vals, f"Monte Carlo, tasks from the {tasks}").shifted(setting.sigma2 if query_noise else 0.0)


def pool_lsa_optimum(pool: TaskPool, setting: Setting) -> tuple[np.ndarray, float, Setting]:
    """(Gamma*, L*, pool setting) of the reduced one-layer family trained on the pool: the master formula with
    Sigma_w = E w w^T over the pool (exact for any task law; see the module docstring). Needs the pool to span R^d."""
    if pool.d != setting.d:
        raise InputError("pool", f"has dimension {pool.d} but Sigma is {setting.d}x{setting.d}")
    if np.linalg.matrix_rank(pool.W) < pool.d:
        raise InputError("pool", f"its {pool.K} vectors do not span R^{pool.d}: E w w^T is singular")
    st = Setting.make(setting.Sigma, setting.n, Sigma_w=pool.second_moment, sigma2=setting.sigma2,
                      covariates=setting.covariates)
    one = OneLayer(st)
    return one.gamma_star(), one.min_loss(), st
