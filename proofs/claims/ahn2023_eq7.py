"""[Ahn et al. 2023, eq. (7)] Isotropic special case of Thm 1: Sigma = I, w ~ N(0, I):
Q_0 = -(1 / ((n-1)/n + (d+2)/n)) [[I_d, 0], [0, 0]].

Steps: (1) eq. (7) equals Thm 1's printed block at Lambda = I, exactly for symbolic n AND symbolic d;
(2) it equals the derived Gamma* (reduced one-layer optimum) exactly for symbolic n and d = 1..5 (the d
of a sympy matrix must be concrete); (3) float Gamma* at random (d, n) equals the printed scalar times I;
(4) the printed Q_0 with P_0 = [[0,0],[0,1]] reproduces the one-step GD predictor on random prompts
(literal forward pass), i.e. the sign convention Q_0 = -Gamma maps to a positive step size.

At a user's setting (``Claim.at_setting``): isotropic only, Sigma = c I, any d and n (Gaussian, w ~ N(0, I), noiseless).
For c != 1 the statement is read after the change of units x -> x / sqrt(c) (which maps Sigma = c I to I and
Gamma to Gamma / c): Gamma* = eq. (7) scalar / c * I. Checked exactly (exact c, d <= 6), in floats, and the
rescaled printed Q_0 in the literal forward pass against one GD step (n d <= 20000).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps.moved import gamma_at, isotropic_scale
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.ahn import NOTATION as AHN_NOTATION
from iclcheck.theory.notation.ahn import eq7_scalar, thm1_block
from iclcheck.theory.one_layer import gamma_star_exact
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify"]

SOURCE = "[Ahn et al. 2023, eq. (7), isotropic case of Thm 1] arXiv 2306.00297"
STATEMENT = "Sigma = I, w ~ N(0, I): Q_0 = -(1 / ((n-1)/n + (d+2)/n)) [[I_d, 0], [0, 0]] (with P_0 = [[0,0],[0,1]])."
NOTATION = AHN_NOTATION + " Here Sigma = Sigma_w = I, sigma2 = 0."

N = sp.Symbol("n", positive=True, integer=True)
D = sp.Symbol("d", positive=True, integer=True)
ULPS = Tolerance(rtol=1e-12, atol=1e-15, reason="Cholesky inverse of a multiple of I: exact up to a few ulps")
REORDERED = Tolerance(atol=1e-10, reason="same arithmetic in a different order: rounding only (|predictions| < 100)")


FORWARD_MAX_ND = 20_000  # the literal forward pass on 64 prompts costs 64 n d


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(d_end=4, float_cases=4), thorough=dict(d_end=6, float_cases=20))


def _accepts(user: UserSetting) -> tuple[str, str] | None:
    if isotropic_scale(user.setting) is None:
        return "Sigma", "its statement is about Sigma = I (isotropic): give Sigma = c I (eye:D, or diag:c,...,c)"
    return None


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """The run at a user's setting (Claim.at_setting)."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n = st.d, int(st.n)
    c = isotropic_scale(st)
    assert c is not None, "_accepts admits only Sigma = c I (check_movable runs it first)"
    unit = "" if c == 1 else f" / c (c = {c:g}: units x -> x/sqrt(c))"
    a = float(eq7_scalar(n, d)) / c
    P0, Q0 = gamma_at(chk, st, f"eq. (7) scalar{unit} * I", f"your d={d}, n={n}", expected=a * np.eye(d), tol=ULPS,
                      exact=lambda: (gamma_star_exact(st), eq7_scalar(n, d) / st.Sigma_exact[0, 0] * sp.eye(d)))
    if n * d <= FORWARD_MAX_ND:
        pr = sample_prompts(st, 64, rng)
        gd = a * np.einsum("bd,bnd,bn->b", pr.xq, pr.X, pr.y) / n  # (B,) x_q^T a (1/n) sum y_i x_i
        scale = float(np.max(np.abs(gd))) * d
        chk.close(f"printed (P_0, Q_0{unit}) in the literal forward pass = one GD step (your d={d}, n={n})",
                  predict(pr.Z0, [P0], [Q0]), gd,
                  Tolerance(atol=1e-13 * max(1.0, scale), reason="the same sums in another order: rounding "
                            "~1e-16 x d x |prediction|, 1e-13 leaves margin"))
    return chk


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()
    # 1. eq (7) vs Thm 1 at Lambda = I: (n+1)/n * 1 + (1/n) * d, symbolic n and d
    thm1_iso = 1 / ((N + 1) / N + D / N)
    chk.exact("eq. (7) scalar = Thm 1 block at Lambda = I (symbolic n, d)", eq7_scalar(N, D), thm1_iso,
              detail="1/((n-1)/n + (d+2)/n) = 1/((n+1)/n + d/n) = n/(n+d+1)")
    chk.exact("Thm 1 block at Lambda = I_3 (its own printed formula, symbolic n)", thm1_block([1, 1, 1], N),
              thm1_iso.subs(D, 3) * sp.eye(3))
    # 2. derived Gamma*, symbolic n
    for d in range(1, SIZES.at(ctx).d_end):
        chk.exact(f"derived Gamma* = eq. (7) scalar * I_{d} (symbolic n)",
                  gamma_star_exact(Setting.make(sp.eye(d), N)), eq7_scalar(N, d) * sp.eye(d))
    # 3. float, random sizes
    for _ in range(SIZES.at(ctx).float_cases):
        d, n = int(rng.integers(1, 12)), int(rng.integers(1, 200))
        chk.close(f"float Gamma* = eq. (7) * I (d={d}, n={n})", OneLayer(Setting.make(np.eye(d), n)).gamma_star(),
                  float(eq7_scalar(n, d)) * np.eye(d), ULPS)
    # 4. printed Q_0 in the literal forward pass = one step of GD with step n/(n+d+1)
    d, n = 5, 20
    st = Setting.make(np.eye(d), n)
    pr = sample_prompts(st, 64, rng)
    a = float(eq7_scalar(n, d))
    P0 = np.zeros((d + 1, d + 1))
    P0[d, d] = 1.0
    Q0 = np.zeros((d + 1, d + 1))
    Q0[:d, :d] = -a * np.eye(d)
    gd = a * np.einsum("bd,bnd,bn->b", pr.xq, pr.X, pr.y) / n  # (B,) x_q^T a (1/n) sum y_i x_i
    chk.close("printed (P_0, Q_0) in the literal forward pass = one GD step of size n/(n+d+1) (d=5, n=20)",
              predict(pr.Z0, [P0], [Q0]), gd, REORDERED)
    return chk


CLAIM = Claim(key="ahn2023.eq7", title="isotropic block n/(n+d+1) I", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, at_setting=_at_setting, salt=107, parameters=("Sigma", "n"), accepts=_accepts,
              fixed="the statement is for Sigma = I, Gaussian x, w ~ N(0, I) and no noise")
