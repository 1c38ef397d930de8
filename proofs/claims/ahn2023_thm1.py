"""[Ahn et al. 2023, Thm 1] x ~ N(0, Sigma), Sigma = U Lambda U^T, w ~ N(0, I), one LSA layer: the printed
(P_0, Q_0) is a global minimiser of f, up to the rescaling P_0 -> gamma P_0, Q_0 -> Q_0 / gamma.

Steps (and what they prove):
1. the printed block equals the derived Gamma* = W S M^{-1} of the reduced (one-step GD) family, exactly, for
   symbolic n and diagonal rational Lambda (the paper's Section 4.3 spectrum and random ones);
2. the same with a rotation U: exactly for rational (Cayley) rotations, in floating point for random U;
3. the printed (P_0, Q_0) attains L* in the exact FULL one-layer loss (all of P's last row and Q's first d
   columns free), and the loss is invariant under P_0 -> gamma P_0, Q_0 -> Q_0/gamma (exact, symbolic gamma);
4. global over the full (P, Q): f(P, Q) = L(Gamma_eff) + E[TF_even^2] >= L* (theory.notation.ahn.odd_part_gamma).
   Checked: the w -> -w symmetry of the exact full loss (b, q21) -> (-b, -q21) (exact, symbolic parameters:
   this is the vanishing of the cross term), the decomposition at random parameters against the literal
   forward pass (Monte Carlo, 99.9% CI), and f >= L* at random parameters.

Step 4 is ``proofs.steps.check_full_space_global``, shared with the Mahankali et al. and Zhang et al. claims.

At a user's setting (``Claim.at_setting``: Sigma and n; the statement is Gaussian, noiseless, with w ~ N(0, I), so
nothing else is accepted): the printed block from Sigma's eigendecomposition equals Gamma* (exactly for a diagonal
exact Sigma, d <= 6; in floats with a kappa-based tolerance always), the printed point is stationary with a PSD
Hessian in the full space (d <= 10), and the full-space certificate (proofs.steps.moved.full_space_at).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.linalg import null_space

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.steps import cayley, check_full_space_global
from iclcheck.proofs.steps.moved import full_space_at, solve_tolerance, use_exact
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.ahn import NOTATION as AHN_NOTATION
from iclcheck.theory.notation.ahn import thm1_block, thm1_params
from iclcheck.theory.one_layer import (
    full_loss_exact,
    gamma_star_exact,
    min_loss_exact,
)
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "full_loss_exact", "verify"]

SOURCE = "[Ahn et al. 2023, Thm 1] arXiv 2306.00297"
STATEMENT = (
    "x ~ N(0, Sigma), Sigma = U Lambda U^T, w ~ N(0, I_d). Then P_0 = [[0_{dxd}, 0], [0, 1]], "
    "Q_0 = -[[U diag(1 / ((n+1)/n lambda_i + (1/n) sum_k lambda_k)) U^T, 0], [0, 0]] is a global minimizer of f, "
    "up to the rescaling P_0 -> gamma P_0, Q_0 -> Q_0/gamma."
)
NOTATION = AHN_NOTATION + " Here Sigma_w = I, sigma2 = 0; the printed block is the canonical Gamma (symmetric)."

PAPER_LAMBDA = [1, 1, sp.Rational(1, 4), sp.Rational(1, 16), 1]  # the spectrum D of Section 4.3 (d = 5)
PAPER_N = 20
N = sp.Symbol("n", positive=True, integer=True)
GRAD_REL = 1e-10  # the gradient's tolerance at the printed point, relative to max(1, f)
NULL_REL = 1e-10  # |H v| / ||H||_2 on the rescaling tangent: rounding ~1e-16, 1e-10 is rounding level with margin
HESSIAN_REL = 1e-8  # eigenvalue floor -HESSIAN_REL ||H||_2 off the rescaling tangent (the smallest is O(1) there)
CHOLESKY = Tolerance(rtol=1e-9, atol=1e-12,
                     reason="double-precision Cholesky solve, condition number <= 50: relative error << 1e-9")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(n_rand=2), thorough=dict(n_rand=6))


def _random_lambdas(rng: np.random.Generator, d: int) -> list[sp.Rational]:
    return [sp.Rational(int(k), 4) for k in rng.integers(1, 13, size=d)]


def _stationary(f: float) -> Tolerance:
    """The gradient's tolerance at a point of loss f: GRAD_REL x max(1, f)."""
    return Tolerance(atol=GRAD_REL * max(1.0, f),
                     reason="closed-form gradient of O(1) terms: rounding ~1e-15, 1e-10 leaves margin")


def _second_order(chk: Checker, setting: Setting, P: np.ndarray, Q: np.ndarray) -> None:
    """Stationarity and a PSD Hessian at the printed point in the full (b, c, Q11, q21) space, from the exact
    gradient / Hessian of numerics.one_layer.derivatives (imported lazily: a missing module makes the step inconclusive).

    The rescaling (gamma P, Q/gamma) is a curve of minimisers, so its tangent v = (P, -Q) is a null direction of the
    Hessian: its eigenvalue there is rounding (1e-14 of either sign, depending on the BLAS kernel) and is never
    printed. It is checked as H v = 0 at rounding level; PSD is then decided by the eigenvalues on v's orthogonal
    complement (an invariant subspace of the symmetric H), which are O(1) and print the same on every machine."""
    try:
        from iclcheck.numerics.one_layer.derivatives import loss_and_grad, pack
        from iclcheck.numerics.one_layer.hessian import hessian_flat, hvp_flat
    except ImportError:  # pragma: no cover - the module ships with the toolkit
        chk.undecided("stationary with PSD Hessian in the full space", "iclcheck.numerics.derivatives or .hessian is not available")
        return
    ol = OneLayer(setting)
    f, gP, gQ = loss_and_grad(ol, P, Q)
    gnorm = float(np.sqrt(np.sum(gP**2) + np.sum(gQ**2)))
    chk.close("exact full-space gradient at the printed point = 0", gnorm, 0.0, _stationary(f))
    theta = pack(P, Q)
    H = hessian_flat(ol, theta)  # (N, N), N = (d+1)^2
    h_norm = float(np.max(np.abs(np.linalg.eigvalsh(H))))  # ||H||_2, O(1)-O(100): stable to ~1e-15 relative
    v = pack(P, -Q)  # (N,) d/dgamma (gamma P, Q/gamma) at gamma = 1
    v /= np.linalg.norm(v)
    null_rel = float(np.linalg.norm(hvp_flat(ol, theta, v))) / h_norm
    chk.decided("the rescaling tangent v = (P_0, -Q_0) is a null direction of the full-space Hessian",
                null_rel <= NULL_REL, f"|H v| / ||H||_2 {'<=' if null_rel <= NULL_REL else '>'} {_sci(NULL_REL)} (rounding "
                "level; exact HVP, |v| = 1): the zero eigenvalue of the rescaling")
    B = null_space(v[None, :])  # (N, N-1) orthonormal basis of v's complement
    ev = np.linalg.eigvalsh(B.T @ H @ B)  # (N-1,) the eigenvalues of H other than the one on v
    slack = HESSIAN_REL * h_norm
    chk.at_least("full-space Hessian at the printed point is PSD (the rescaling gives the zero direction)",
                 float(ev[0]), 0.0, slack=slack, computed=ev,
                 detail=f"eigenvalues off the scaling direction in [{ev[0]:.3g}, {ev[-1]:.3g}]; the smallest must be "
                 f">= -{slack:.2g} (relative tolerance {_sci(HESSIAN_REL)} of the largest: exact HVPs, float rounding only)")


def _sci(x: float) -> str:
    """1e-08 -> '1e-8'."""
    return f"{x:g}".replace("e-0", "e-")


def _printed_block_diagonal(chk: Checker, rng: np.random.Generator, n_rand: int) -> None:
    """Step 1: exact, symbolic n, diagonal Lambda (the paper's spectrum and random ones)."""
    cases = [PAPER_LAMBDA] + [_random_lambdas(rng, int(rng.integers(1, 5))) for _ in range(n_rand)]
    for lams in cases:
        st = Setting.make(sp.diag(*lams), N)
        chk.exact(f"printed block = derived Gamma* (Lambda = diag{tuple(str(x) for x in lams)}, symbolic n)",
                  gamma_star_exact(st), thm1_block(lams, N))


def _printed_block_rotated(chk: Checker, rng: np.random.Generator, n_rand: int) -> None:
    """Step 2: with a rotation U, exactly (rational Cayley U, numeric n) and in floats (Haar U)."""
    for _ in range(1 + n_rand // 2):
        d = int(rng.integers(2, 4))
        lams = _random_lambdas(rng, d)
        U = cayley(sp.Matrix(d, d, [sp.Rational(int(v), 3) for v in rng.integers(-3, 4, size=d * d)]))
        n = int(rng.integers(1, 30))
        st = Setting.make(U * sp.diag(*lams) * U.T, n)
        chk.exact(f"rotated (rational U, d={d}, n={n}): U block U^T = Gamma*", gamma_star_exact(st),
                  U * thm1_block(lams, n) * U.T)
    for k in range(2 + 3 * n_rand):  # including the paper's sizes d = 5, n = 20
        d, n = (5, PAPER_N) if k == 0 else (int(rng.integers(1, 8)), int(rng.integers(1, 60)))
        lam = np.array([float(v) for v in PAPER_LAMBDA]) if k == 0 else rng.uniform(0.1, 5.0, size=d)
        U, _ = np.linalg.qr(rng.normal(size=(d, d)))
        S = U @ np.diag(lam) @ U.T
        printed = U @ np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n)) @ U.T  # (d, d)
        chk.close(f"random rotation d={d}, n={n}: printed block = Gamma* (float)",
                  OneLayer(Setting.make((S + S.T) / 2, n)).gamma_star(), printed, CHOLESKY)


def _printed_point_full_loss(chk: Checker, rng: np.random.Generator) -> None:
    """Step 3: the printed point attains L* in the exact full loss; rescaling invariance (symbolic gamma)."""
    lams = _random_lambdas(rng, 3)
    U = cayley(sp.Matrix([[0, 1, 0], [0, 0, sp.Rational(1, 2)], [1, 0, 0]]))
    n = int(rng.integers(2, 12))
    st = Setting.make(U * sp.diag(*lams) * U.T, n)
    P0, Q0 = thm1_params(U, lams, n)
    chk.exact(f"full loss at printed (P_0, Q_0) = L* (d=3, n={n}, exact)", full_loss_exact(st, P0, Q0),
              min_loss_exact(st))
    g = sp.Symbol("gamma", nonzero=True)
    chk.exact("rescaling: f(gamma P_0, Q_0/gamma) = f(P_0, Q_0) (symbolic gamma)",
              sp.simplify(full_loss_exact(st, g * P0, Q0 / g) - full_loss_exact(st, P0, Q0)), 0)


def _global(chk: Checker, rng: np.random.Generator, thorough: bool) -> None:
    """Step 4: second order at the printed point, then the full-space certificate (proofs.steps)."""
    d, n = (3, 6) if thorough else (2, 4)
    lam = rng.uniform(0.3, 3.0, size=d)
    Uf, _ = np.linalg.qr(rng.normal(size=(d, d)))
    S = Uf @ np.diag(lam) @ Uf.T
    fst = Setting.make((S + S.T) / 2, n)
    Pf = np.zeros((d + 1, d + 1))
    Pf[d, d] = 1.0
    Qf = np.zeros((d + 1, d + 1))
    Qf[:d, :d] = -(Uf @ np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n)) @ Uf.T)
    ex = Setting.make(sp.Matrix([[2, 1], [1, 3]]), 3)
    _second_order(chk, fst, Pf, Qf)
    check_full_space_global(chk, fst, ex, Pf, Qf, rng=rng, thorough=thorough)


SECOND_ORDER_MAX_D = 10  # the full-space Hessian has (d+1)^4 entries


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """The run at a user's setting (Claim.at_setting)."""
    """The statement at the user's Sigma and n (Gaussian, w ~ N(0, I), noiseless: enforced by the registry)."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n = st.d, int(st.n)
    if use_exact(st) and st.Sigma_exact.is_diagonal():
        lams = [st.Sigma_exact[i, i] for i in range(d)]
        chk.exact(f"printed block = derived Gamma* (your diagonal Sigma, d={d}, n={n}, exact)", gamma_star_exact(st),
                  thm1_block(lams, n))
    lam, U = np.linalg.eigh(st.Sigma)  # (d,), (d, d)
    printed = (U / ((n + 1) / n * lam + lam.sum() / n)) @ U.T  # (d, d) U diag(1/(...)) U^T
    G = OneLayer(st).gamma_star()
    chk.close(f"printed block U diag(1/((n+1)/n lambda_i + tr/n)) U^T = Gamma* (your Sigma, d={d}, n={n}, float)", G,
              printed, solve_tolerance(st, float(np.max(np.abs(printed)))))
    P = np.zeros((d + 1, d + 1))
    P[d, d] = 1.0
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = -printed
    if d <= SECOND_ORDER_MAX_D:
        _second_order(chk, st, P, Q)
    full_space_at(chk, st, P, Q, rng=rng, thorough=ctx.thorough)
    return chk


def verify(ctx: Context) -> Checker:
    chk = Checker()
    rng = ctx.rng()  # the claim's stream (Claim.salt), consumed in step order
    n_rand = SIZES.at(ctx).n_rand
    _printed_block_diagonal(chk, rng, n_rand)
    _printed_block_rotated(chk, rng, n_rand)
    _printed_point_full_loss(chk, rng)
    _global(chk, rng, ctx.thorough)
    return chk


CLAIM = Claim(key="ahn2023.thm1", title="one layer, global minimiser U diag(.) U^T", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, at_setting=_at_setting, salt=101, parameters=("Sigma", "n"),
              fixed="the statement is for Gaussian x, w ~ N(0, I) and no noise")
