"""A test setting separate from the training setting: a one-layer predictor trained at one setting, evaluated exactly
at another.

The one-layer loss is a function of the data law only through the setting's moments, so the loss of any Gamma (or
any P, Q) on test prompts is the master loss of ``numerics.one_layer.closed_form.OneLayer`` built with the *test* setting:

    L_test(Gamma) = tr(Gamma^T S' Gamma M') - 2 tr(Gamma^T S' W' S') + tr(S' W'),
    M' = (n'+1)/n' S' W' S' + (tr(S' W') + sigma2')/n' S' + H'/n',

with S' = Sigma_test, W' = Sigma_w_test, n' = n_test (the 1/n' normalisation of the layer follows the *test* prompt
length, as in the canonical model Z + (1/n) Attn(Z)), sigma2' the test label noise and H' the test covariate law's
fourth-moment term. Nothing here is a second loss formula: ``OneLayer(test).reduced_loss`` and ``OneLayer(test).loss``
are the formulas; this module only pairs the two settings. The query target is w^T x_q (noiseless, as in the
canonical loss); add sigma2_test for a noisy query target.

The excess over the test optimum is computed as the quadratic form tr(D^T S' D M'), D = Gamma - Gamma*_test, which
is L_test(Gamma) - L*_test exactly (L_test is a quadratic with minimiser Gamma*_test and Hessian form
D -> 2 tr(D^T S' D M')) and has no cancellation: it is >= 0 by construction and accurate when it is small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["ShiftedLoss", "check_pair", "shifted_loss", "shifted_loss_at_params"]


def check_pair(train: Setting, test: Setting) -> None:
    """InputError unless the test setting can evaluate a predictor trained at ``train`` (same d, numeric n)."""
    if test.d != train.d:
        raise InputError("Sigma_test", f"is {test.d}x{test.d} but the training Sigma is {train.d}x{train.d} (a "
                         "predictor trained in dimension d is evaluated in the same d)")
    for name, st in (("n", train), ("n_test", test)):
        if st.n_is_symbolic:
            raise InputError(name, "float evaluation needs a numeric n (use theory.shift for a symbolic one)")


@dataclass(frozen=True)
class ShiftedLoss:
    """A Gamma evaluated at a test setting.

    gamma:         the evaluated Gamma (default: the training optimum Gamma*_train), (d, d)
    loss:          L_test(gamma), the canonical loss E(prediction - w^T x_q)^2 on test prompts
    gamma_test:    Gamma*_test, the optimum of the test setting itself, (d, d)
    test_optimum:  L*_test = L_test(Gamma*_test)
    excess:        loss - test_optimum, as tr(D^T S' D M') (>= 0, no cancellation)
    train_loss:    L_train(gamma), the loss at the training setting (for comparison)
    """

    train: Setting
    test: Setting
    gamma: np.ndarray
    loss: float
    gamma_test: np.ndarray
    test_optimum: float
    excess: float
    train_loss: float

    def to_dict(self) -> dict:
        return {"loss": self.loss, "test_optimum": self.test_optimum, "excess": self.excess,
                "train_loss": self.train_loss}


def shifted_loss(train: Setting, test: Setting, Gamma: np.ndarray | None = None) -> ShiftedLoss:
    """Gamma (default: the one-layer optimum at ``train``) evaluated exactly at ``test``.

    Returns the test loss, the test setting's own optimum and the excess (see ``ShiftedLoss``)."""
    check_pair(train, test)
    one_tr, one_te = OneLayer(train), OneLayer(test)
    G = one_tr.gamma_star() if Gamma is None else np.asarray(Gamma, dtype=float)
    loss = one_te.reduced_loss(G)  # validates Gamma's shape and finiteness
    G_te = one_te.gamma_star()  # (d, d)
    D = G - G_te  # (d, d)
    excess = float(np.sum((one_te.S @ D) * (D @ one_te.M)))  # tr(D^T S' D M') = L_test(G) - L*_test
    return ShiftedLoss(train=train, test=test, gamma=G, loss=loss, gamma_test=G_te, test_optimum=one_te.min_loss(),
                       excess=max(excess, 0.0), train_loss=one_tr.reduced_loss(G))


def shifted_loss_at_params(test: Setting, P: np.ndarray, Q: np.ndarray) -> float:
    """The full one-layer loss f(P, Q) on test prompts: ``OneLayer(test).loss`` (the layer's 1/n is the test n)."""
    if test.n_is_symbolic:
        raise InputError("n_test", "float evaluation needs a numeric n")
    return OneLayer(test).loss(P, Q)
