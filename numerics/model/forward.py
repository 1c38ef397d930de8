"""Literal forward pass of the L-layer linear self-attention (wrappers over numerics.model.lsa) and prompt sampling.

Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l),  M = diag(I_n, 0);  TF(Z_0) = -[Z_L]_{d+1, n+1}.
Batched over prompts: Z has shape (B, d+1, n+1), columns are tokens, the last column is the query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.lsa import LSA, build_prompts, forward
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["Prompts", "lsa_forward", "predict", "sample_prompts", "standardized"]


def standardized(law: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """iid draws with mean 0, variance 1 from the named coordinate law."""
    if law == "gaussian":
        return rng.standard_normal(shape)
    if law == "uniform":
        return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), size=shape)
    if law == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=shape)
    raise InputError("covariates", f"unknown law {law!r}")


@dataclass(frozen=True)
class Prompts:
    """A batch of prompts: X (B, n, d), xq (B, d), w (B, d), y (B, n), yq (B,) = w^T xq, Z0 (B, d+1, n+1)."""

    X: np.ndarray
    xq: np.ndarray
    w: np.ndarray
    y: np.ndarray
    yq: np.ndarray

    @property
    def Z0(self) -> np.ndarray:
        return build_prompts(self.X, self.y, self.xq)  # (B, d+1, n+1)


def sample_prompts(setting: Setting, batch: int, rng: np.random.Generator) -> Prompts:
    """Draw ``batch`` prompts from the setting (x = Sigma^{1/2} s, w ~ N(0, Sigma_w), eps ~ N(0, sigma2))."""
    if setting.n_is_symbolic:
        raise InputError("n", "sampling needs a numeric n")
    d, n = setting.d, setting.n
    Sh = sqrtm_psd(setting.Sigma)  # (d, d)
    Lw = np.linalg.cholesky(setting.Sigma_w)  # (d, d)
    s = standardized(setting.covariates, rng, (batch, n + 1, d))  # (B, n+1, d)
    x = s @ Sh  # (B, n+1, d), Sh symmetric
    w = rng.standard_normal((batch, d)) @ Lw.T  # (B, d)
    eps = rng.standard_normal((batch, n)) * np.sqrt(setting.sigma2)  # (B, n)
    X, xq = x[:, :n, :], x[:, n, :]
    y = np.einsum("bnd,bd->bn", X, w) + eps  # (B, n)
    yq = np.einsum("bd,bd->b", xq, w)  # (B,)
    return Prompts(X=X, xq=xq, w=w, y=y, yq=yq)


def lsa_forward(Z0: np.ndarray, Ps, Qs, *, relu: bool = False) -> np.ndarray:
    """Run L layers; Ps, Qs are sequences of (d+1, d+1) matrices. Returns Z_L (B, d+1, n+1).

    relu=True uses ReLU attention P Z M ReLU(Z^T Q Z) (Ahn et al. Thm 5). A thin wrapper over
    ``numerics.model.lsa.forward`` (masked, untied, no MLP)."""
    Ps, Qs = list(Ps), list(Qs)
    if len(Ps) != len(Qs):
        raise InputError("Qs", f"needs one Q per P: {len(Ps)} P's, {len(Qs)} Q's")
    if not Ps:
        Z = np.array(Z0, dtype=float, copy=True)
        return Z[None] if Z.ndim == 2 else Z
    model = LSA(L=len(Ps), score="relu" if relu else "linear")
    return forward(model, Z0, np.asarray(Ps, dtype=float), np.asarray(Qs, dtype=float))


def predict(Z0: np.ndarray, Ps, Qs, *, relu: bool = False) -> np.ndarray:
    """TF(Z0) = -[Z_L]_{d+1, n+1}, shape (B,)."""
    return -lsa_forward(Z0, Ps, Qs, relu=relu)[:, -1, -1]
