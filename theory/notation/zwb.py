"""R. Zhang, J. Wu, Bartlett (2024): GD from a learned start (GD-beta) against linear attention, task prior of
non-zero mean mu and covariance Psi.

Canonical model, Gaussian covariates Sigma, noise sigma2: ``master`` is the master reduced loss L_W(Gamma)
(theory.one_layer.reduced_loss_formula) and ``q_matrix`` the quadratic form Q_Gamma of GD-beta's loss
Q_Gamma(beta0 - mu) + L_Psi(Gamma) (numerics.families.restricted.gd_beta_loss's formula, over sympy).
"""

from __future__ import annotations

import sympy as sp

from iclcheck.theory import one_layer
from iclcheck.theory.one_layer import reduced_loss_formula

__all__ = ["master", "q_matrix"]


def master(S, W, n, sigma2, G):
    """The master reduced loss L_W(Gamma) for Gaussian covariates Sigma = S, task covariance W, noise sigma2."""
    d = S.shape[0]
    return reduced_loss_formula(S, W, sp.zeros(d, d), sp.zeros(d, 1), sigma2, n, G, one_layer.SYMPY_OPS)


def q_matrix(S, G, n):
    """Q_Gamma, the quadratic form of GD-beta's loss in beta0 - mu (Sigma = S, prompt length n)."""
    A = G.T * S * G
    return S - S * G.T * S - S * G * S + (n + 1) / n * S * A * S + (A * S).trace() / n * S
