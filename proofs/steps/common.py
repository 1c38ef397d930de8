"""Checks claims of several papers share (re-exported by ``iclcheck.proofs.steps``). A claim imports these, never
another claim's module.

- ``check_full_space_global``: the one-layer global-optimality certificate over the full (P, Q)
  (Ahn et al. Thm 1 step 4; reused by Mahankali et al. Thm 1-2 and Zhang et al. Thm 4.1);
- ``gamma_star_symbolic``: the derived optimum Gamma* = W S M^{-1} with symbolic n and sigma^2 (home:
  theory.one_layer, re-exported);
- ``cayley``: exact rational rotations (theory.newton.cayley_orthogonal, the one implementation);
- ``check_released_attention``: the released code's attention (proofs/released.py) at a claim's parameters.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.numerics.model.montecarlo import mc_mean
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.newton import cayley_orthogonal as cayley
from iclcheck.theory.notation.ahn import odd_part_gamma
from iclcheck.theory.one_layer import (
    SYMPY_OPS,
    exact_inputs,
    full_loss_formula,
    gamma_star_symbolic,
)
from iclcheck.theory.setting import Setting

__all__ = ["N", "S2", "cayley", "check_full_space_global", "check_released_attention", "gamma_star_symbolic"]

N = sp.Symbol("n", positive=True, integer=True)  # the prompt length, symbolic
S2 = sp.Symbol("sigma2", nonnegative=True)  # the label noise variance, symbolic


def check_full_space_global(chk: Checker, setting: Setting, exact_setting: Setting, P_star: np.ndarray,
                            Q_star: np.ndarray, *, rng: np.random.Generator, thorough: bool,
                            target: str = "the printed point") -> None:
    """Global over the full one-layer (P, Q): f(P, Q) = L(Gamma_eff) + E[TF_even^2] >= L*
    (theory.notation.ahn.odd_part_gamma), for one setting. ``exact_setting`` (small, exact inputs) for the
    symbolic symmetry, ``setting`` (float) for the Monte Carlo decomposition and the random search."""
    # (a) exact: f(b, c, Q11, q21) = f(-b, c, Q11, -q21) for symbolic parameters (the cross term vanishes)
    d = exact_setting.d
    b = sp.Matrix(sp.symbols(f"b0:{d}"))
    q21 = sp.Matrix(sp.symbols(f"q0:{d}"))
    c = sp.Symbol("c")
    Q11 = sp.Matrix(d, d, sp.symbols(f"Q0:{d * d}"))
    S, W, Sh, km3, s2, n = exact_inputs(exact_setting)
    f_plus = full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, SYMPY_OPS)
    f_minus = full_loss_formula(S, W, Sh, km3, s2, n, -b, c, Q11, -q21, SYMPY_OPS)
    diff = sp.expand(f_plus - f_minus)
    chk.exact("symmetry w -> -w: f(b, c, Q11, q21) = f(-b, c, Q11, -q21) (symbolic parameters)", diff, 0,
              detail=f"exact polynomial identity in {2 * d + 1 + d * d} free parameters ({exact_setting.describe()}): "
              "the cross term E[TF_even (TF_odd - y_q)] vanishes")

    # (b) f(theta) - L(Gamma_eff(theta)) = E[TF_even^2] against the literal forward pass
    ol = OneLayer(setting)
    dd = setting.d
    n_theta = 3 if thorough else 1
    samples = 400_000 if thorough else 100_000
    for k in range(n_theta):
        P = np.zeros((dd + 1, dd + 1))
        Q = np.zeros((dd + 1, dd + 1))
        P[dd, :] = rng.normal(size=dd + 1) * 0.5  # last row (b, c)
        Q[:, :dd] = rng.normal(size=(dd + 1, dd)) * 0.5 / np.sqrt(dd)  # first d columns (Q11; q21)
        bb, cc = P[dd, :dd, None], P[dd, dd]
        G_eff = odd_part_gamma(bb, cc, Q[:dd, :dd], Q[dd, :dd, None])  # (d, d)
        gap = ol.loss(P, Q) - ol.reduced_loss(G_eff)

        def even_sq(r: np.random.Generator, m: int, P=P, Q=Q, G_eff=G_eff) -> np.ndarray:
            pr = sample_prompts(setting, m, r)
            h = np.einsum("bnd,bn->bd", pr.X, pr.y) / setting.n  # (B, d)
            odd = np.einsum("bd,de,be->b", pr.xq, G_eff, h)  # (B,) x_q^T Gamma_eff h
            return (predict(pr.Z0, [P], [Q]) - odd) ** 2

        est = mc_mean(even_sq, samples=samples, rng=rng)
        chk.within_ci(f"decomposition f = L(Gamma_eff) + E[TF_even^2] at random parameters #{k + 1}", est, gap,
                      reason=f"literal forward pass, {setting.describe()}")

    # (c) no random full parameter beats L* (consequence; many cheap exact evaluations)
    L_star = ol.min_loss()
    worst = np.inf
    for _ in range(2000 if thorough else 200):
        P = np.zeros((dd + 1, dd + 1))
        Q = np.zeros((dd + 1, dd + 1))
        P[dd, :] = rng.normal(size=dd + 1)
        Q[:, :dd] = P_star[dd, dd] * Q_star[:, :dd] + rng.normal(size=(dd + 1, dd)) * rng.choice([0.01, 0.1, 1.0])
        worst = min(worst, ol.loss(P, Q) - L_star)
    chk.decided(f"no random full (P, Q) beats L* ({target} value)", worst >= -1e-9 * max(1, L_star),
                f"min over random parameters of f - L* = {worst:.3g} (>= 0 up to 1e-9 relative rounding of the "
                "closed form)", computed=worst, expected=0.0)


RELEASED_ATTENTION = Tolerance(rtol=1e-9, atol=1e-12,
                               reason="Q symmetric: the same products in another order, rounding only")


def check_released_attention(chk: Checker, setting: Setting, Ps, Qs, rng: np.random.Generator, *,
                             what: str) -> None:
    """Ahn et al.'s released code (proofs/released.py) scores tokens as Z_query Q Z_key^T: that is the printed
    P Z M (Z^T Q Z) with Q replaced by Q^T. At a claim's points (A_i = a_i Sigma^-1 symmetric, so Q_i = Q_i^T)
    the two models are the same function of the prompt, so the claim's verdict carries over to the code's
    convention; checked on the literal forward pass (a ``released``-scope step)."""
    pr = sample_prompts(setting, 200, rng)  # (B, d+1, n+1) prompts
    Qt = [np.asarray(Q, float).T for Q in Qs]
    with chk.as_released():
        chk.close(f"released attention Z_query Q Z_key^T (printed form with Q^T) predicts the same at {what}",
                  predict(pr.Z0, Ps, Qt), predict(pr.Z0, Ps, Qs), RELEASED_ATTENTION)
