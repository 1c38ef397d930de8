"""Monte Carlo through the literal forward pass: per-prompt losses and their full-matrix gradients by backprop
(``lsa_loss_and_grads``, ``literal_loss``, ``mc_full_gradient``), moved unchanged from numerics.families so a
single LSA forward/backward model can replace them later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.families.quadrature import problem_from
from iclcheck.numerics.model.forward import lsa_forward
from iclcheck.numerics.model.lsa import (
    lsa_loss_and_grads,  # the one LSA model (re-exported under its old name)
)
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["MCGradient", "bonferroni_z", "conditional_literal_loss", "gdpp_loss_mc", "literal_loss", "lsa_loss_and_grads", "mc_full_gradient"]


@dataclass(frozen=True)
class MCGradient:
    """Monte Carlo mean of the per-prompt loss gradients with standard errors (entrywise)."""

    loss: float
    loss_stderr: float
    dP: np.ndarray  # (L, d+1, d+1)
    dP_stderr: np.ndarray
    dQ: np.ndarray
    dQ_stderr: np.ndarray
    samples: int

    def dA(self) -> tuple[np.ndarray, np.ndarray]:
        """Gradient w.r.t. A_l where Q_l = -[[A_l, 0], [0, 0]]: -(dQ_l)[:d, :d] (mean, stderr)."""
        d = self.dQ.shape[-1] - 1
        return -self.dQ[:, :d, :d], self.dQ_stderr[:, :d, :d]

    def dB(self) -> tuple[np.ndarray, np.ndarray]:
        """Gradient w.r.t. B_l where P_l = [[B_l, 0], [0, 1]]: (dP_l)[:d, :d] (mean, stderr)."""
        d = self.dP.shape[-1] - 1
        return self.dP[:, :d, :d], self.dP_stderr[:, :d, :d]


def _integrated_prompts(setting: Setting, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For k draws of X: the d^2 prompts with x_q = Sigma^{1/2} e_i, w = Sigma_w^{1/2} e_j (same X).

    Without label noise the literal model's error is bilinear in (x_q, w) for fixed X (y = X w, and the
    query column and label evolve linearly in x_q because the query is masked out of keys and values),
    so E_{x_q, w}[err^2 | X] = sum_{i,j} err(Sigma^{1/2} e_i, Sigma_w^{1/2} e_j)^2 exactly."""
    from iclcheck.numerics.linalg import sqrtm_psd
    from iclcheck.numerics.model.forward import sample_prompts

    d, n = setting.d, int(setting.n)
    X = sample_prompts(setting, k, rng).X  # (k, n, d)
    Xq = sqrtm_psd(setting.Sigma)  # columns: query points
    Wt = sqrtm_psd(setting.Sigma_w)  # columns: task vectors
    Z = np.zeros((k, d, d, d + 1, n + 1))
    Z[:, :, :, :d, :n] = X.transpose(0, 2, 1)[:, None, None]  # (k, 1, 1, d, n)
    Z[:, :, :, d, :n] = np.einsum("knd,dj->kjn", X, Wt)[:, None, :, :]  # y = X w_j, (k, 1, d_j, n)
    Z[:, :, :, :d, n] = Xq.T[None, :, None, :]  # x_q = column i
    yq = np.broadcast_to((Xq.T @ Wt)[None], (k, d, d))  # (k, i, j) = x_qi^T w_j
    return Z.reshape(k * d * d, d + 1, n + 1), np.ascontiguousarray(yq).reshape(k * d * d)


def mc_full_gradient(setting: Setting, Ps, Qs, *, samples: int, rng: np.random.Generator,
                     batch: int = 4000, integrate_query_task: bool = False) -> MCGradient:
    """E of the per-prompt gradients over fresh prompts of ``setting`` (literal forward pass + backprop).

    integrate_query_task=True (noiseless only): each sample is one X, and the expectation over x_q and w
    is done exactly by summing the d^2 prompts of ``_integrated_prompts`` (much lighter tails)."""
    from iclcheck.numerics.model.forward import sample_prompts

    if samples < 2:
        raise InputError("samples", f"need at least 2 Monte Carlo samples, got {samples}")
    if integrate_query_task and setting.sigma2 != 0:
        raise InputError("integrate_query_task", "exact integration over x_q and w needs sigma2 = 0")
    L = len(Ps)
    D = setting.d + 1
    d2 = setting.d**2
    s = {"l": 0.0, "l2": 0.0, "P": np.zeros((L, D, D)), "P2": np.zeros((L, D, D)),
         "Q": np.zeros((L, D, D)), "Q2": np.zeros((L, D, D))}
    done = 0
    while done < samples:
        if integrate_query_task:
            k = min(max(batch // d2, 1), samples - done)
            Z0, yq = _integrated_prompts(setting, k, rng)
            loss, dP, dQ = lsa_loss_and_grads(Z0, yq, Ps, Qs)
            loss = loss.reshape(k, d2).sum(1)  # (k,)
            dP = dP.reshape(k, d2, L, D, D).sum(1)  # (k, L, D, D)
            dQ = dQ.reshape(k, d2, L, D, D).sum(1)
        else:
            k = min(batch, samples - done)
            pr = sample_prompts(setting, k, rng)
            loss, dP, dQ = lsa_loss_and_grads(pr.Z0, pr.yq, Ps, Qs)
        s["l"] += loss.sum()
        s["l2"] += (loss**2).sum()
        s["P"] += dP.sum(0)
        s["P2"] += (dP**2).sum(0)
        s["Q"] += dQ.sum(0)
        s["Q2"] += (dQ**2).sum(0)
        done += k

    def ms(t: Any, t2: Any) -> tuple[Any, Any]:
        mean = t / done
        var = np.maximum(t2 / done - mean**2, 0.0) * done / (done - 1)
        return mean, np.sqrt(var / done)

    lm, ls = ms(s["l"], s["l2"])
    Pm, Ps_ = ms(s["P"], s["P2"])
    Qm, Qs_ = ms(s["Q"], s["Q2"])
    return MCGradient(loss=float(lm), loss_stderr=float(ls), dP=Pm, dP_stderr=Ps_, dQ=Qm, dQ_stderr=Qs_,
                      samples=done)


def literal_loss(Z0: np.ndarray, yq: np.ndarray, Ps, Qs) -> np.ndarray:
    """Per-prompt (TF - y_q)^2 via the literal forward pass of ``numerics.model.lsa`` (for finite-difference checks)."""
    return (lsa_forward(Z0, Ps, Qs)[:, -1, -1] + yq) ** 2


def bonferroni_z(m: int, level: float = 0.999) -> float:
    """Two-sided normal threshold for m simultaneous entries at family-wise level ``level``."""
    from scipy import stats

    return float(stats.norm.ppf(1 - (1 - level) / (2 * m)))


def gdpp_loss_mc(problem: Any, a: Any, b: Any, *, samples: int, rng: np.random.Generator):
    """Monte Carlo (literal forward pass, whitened frame, CI) of the (11)-family loss for any L, in particular
    L >= 4 where the exact loss would need moments of degree 2 * 40 (too many mixed moments for the recursion)."""
    from iclcheck.numerics.model.montecarlo import mc_loss

    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    b = np.concatenate([np.asarray(b, dtype=float).ravel(), np.zeros(a.size)])[: a.size]
    st = Setting.make(np.eye(pr.d), pr.n, sigma2=pr.sigma2)
    return mc_loss(st, *family_params(np.eye(pr.d), a, b), samples=samples, rng=rng)



def conditional_literal_loss(setting: Setting, Ps, Qs, *, draws: int,
                             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For ``draws`` fresh X: E[(TF - y_q)^2 | X] by the literal forward pass (exact over x_q and w: the d^2
    prompts of ``_integrated_prompts``, noiseless only) and the eigenvalues of S = (1/n) X^T X of the SAME X
    (meaningful for Sigma = I). Returns (loss (draws,), eigenvalues (draws, d))."""
    if setting.sigma2 != 0:
        raise InputError("sigma2", "the conditional loss integrates x_q and w exactly only without label noise")
    d, n = setting.d, int(setting.n)
    Z0, yq = _integrated_prompts(setting, draws, rng)
    loss = literal_loss(Z0, yq, Ps, Qs).reshape(draws, d * d).sum(1)  # (draws,)
    X = Z0.reshape(draws, d * d, d + 1, n + 1)[:, 0, :d, :n]  # (draws, d, n)
    lam = np.linalg.eigvalsh(X @ X.transpose(0, 2, 1) / n)  # (draws, d)
    return loss, lam
