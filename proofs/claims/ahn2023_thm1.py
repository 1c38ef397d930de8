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

``check_full_space_global`` is shared with the Mahankali et al. and Zhang et al. claims.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.forward import predict, sample_prompts
from iclcheck.numerics.montecarlo import mc_mean
from iclcheck.numerics.one_layer import OneLayer
from iclcheck.proofs.registry import Claim, Context
from iclcheck.proofs.verdict import Checker, ClaimResult, Step
from iclcheck.theory.notation.ahn import NOTATION as AHN_NOTATION
from iclcheck.theory.notation.ahn import odd_part_gamma, thm1_block, thm1_params
from iclcheck.theory.one_layer import (
    SYMPY_OPS,
    exact_inputs,
    full_loss_formula,
    gamma_star_exact,
    min_loss_exact,
)
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "cayley", "check_full_space_global", "full_loss_exact", "verify"]

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


def cayley(A: sp.Matrix) -> sp.Matrix:
    """Rational orthogonal U = (I - K)(I + K)^{-1}, K = A - A^T (exact rotations for exact checks)."""
    K = A - A.T
    eye = sp.eye(A.shape[0])
    return (eye - K) * (eye + K).inv()


def _random_lambdas(rng: np.random.Generator, d: int) -> list[sp.Rational]:
    return [sp.Rational(int(k), 4) for k in rng.integers(1, 13, size=d)]


def full_loss_exact(setting: Setting, P: sp.Matrix, Q: sp.Matrix) -> sp.Expr:
    """The exact full one-layer loss f(P, Q) (theory.one_layer.full_loss_formula over sympy)."""
    S, W, Sh, km3, s2, n = exact_inputs(setting)
    d = setting.d
    b, c, Q11 = P[d, :d].T, P[d, d], Q[:d, :d]
    q21 = Q[d, :d].T
    return full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, SYMPY_OPS)


def check_full_space_global(chk: Checker, setting: Setting, exact_setting: Setting, P_star: np.ndarray,
                            Q_star: np.ndarray, *, rng: np.random.Generator, thorough: bool,
                            target: str = "the printed point") -> None:
    """Step 4 of the module docstring for one setting: ``exact_setting`` (small, exact inputs) for the
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
    chk.add(Step(f"no random full (P, Q) beats L* ({target} value)", "pass" if worst >= -1e-9 * max(1, L_star)
                 else "fail", f"min over random parameters of f - L* = {worst:.3g} (>= 0 up to 1e-9 relative "
                 "rounding of the closed form)", computed=worst, expected=0.0))


def _second_order(chk: Checker, setting: Setting, P: np.ndarray, Q: np.ndarray) -> None:
    """Stationarity and a PSD Hessian at the printed point in the full (b, c, Q11, q21) space, from the exact
    gradient / Hessian of numerics.derivatives (imported lazily: a missing module makes the step inconclusive)."""
    try:
        from iclcheck.numerics.derivatives import hessian_flat, loss_and_grad, pack
    except ImportError:  # pragma: no cover - the module ships with the toolkit
        chk.add(Step("stationary with PSD Hessian in the full space", "inconclusive",
                     "iclcheck.numerics.derivatives is not available"))
        return
    ol = OneLayer(setting)
    f, gP, gQ = loss_and_grad(ol, P, Q)
    gnorm = float(np.sqrt(np.sum(gP**2) + np.sum(gQ**2)))
    chk.close("exact full-space gradient at the printed point = 0", gnorm, 0.0, atol=1e-10 * max(1.0, f),
              reason="closed-form gradient of O(1) terms: rounding ~1e-15, 1e-10 leaves margin")
    ev = np.linalg.eigvalsh(hessian_flat(ol, pack(P, Q)))
    tol = 1e-8 * float(np.max(np.abs(ev)))
    n_zero = int(np.sum(np.abs(ev) <= tol))
    ok = ev[0] >= -tol
    chk.add(Step("full-space Hessian at the printed point is PSD (the rescaling gives the zero direction)",
                 "pass" if ok else "fail",
                 f"eigenvalues in [{ev[0]:.3g}, {ev[-1]:.3g}], {n_zero} within {tol:.2g} of 0 (relative tolerance 1e-8 "
                 "of the largest: exact HVPs, float rounding only)", computed=ev, deviation=max(0.0, -float(ev[0])),
                 tolerance=tol))


def verify(ctx: Context) -> ClaimResult:
    chk = Checker()
    rng = ctx.rng(101)
    n_rand = 6 if ctx.thorough else 2

    # 1. exact, symbolic n, diagonal Lambda
    cases = [PAPER_LAMBDA] + [_random_lambdas(rng, int(rng.integers(1, 5))) for _ in range(n_rand)]
    for lams in cases:
        st = Setting.make(sp.diag(*lams), N)
        chk.exact(f"printed block = derived Gamma* (Lambda = diag{tuple(str(x) for x in lams)}, symbolic n)",
                  gamma_star_exact(st), thm1_block(lams, N))

    # 2a. exact rotation (Cayley, rational), numeric n
    for _ in range(1 + n_rand // 2):
        d = int(rng.integers(2, 4))
        lams = _random_lambdas(rng, d)
        U = cayley(sp.Matrix(d, d, [sp.Rational(int(v), 3) for v in rng.integers(-3, 4, size=d * d)]))
        n = int(rng.integers(1, 30))
        Sig = U * sp.diag(*lams) * U.T
        st = Setting.make(Sig, n)
        chk.exact(f"rotated (rational U, d={d}, n={n}): U block U^T = Gamma*", gamma_star_exact(st),
                  U * thm1_block(lams, n) * U.T)

    # 2b. float, random orthogonal U (Haar), including the paper's sizes d = 5, n = 20
    for k in range(2 + 3 * n_rand):
        d, n = (5, PAPER_N) if k == 0 else (int(rng.integers(1, 8)), int(rng.integers(1, 60)))
        lam = np.array([float(v) for v in PAPER_LAMBDA]) if k == 0 else rng.uniform(0.1, 5.0, size=d)
        U, _ = np.linalg.qr(rng.normal(size=(d, d)))
        S = U @ np.diag(lam) @ U.T
        printed = U @ np.diag(1.0 / ((n + 1) / n * lam + lam.sum() / n)) @ U.T  # (d, d)
        chk.close(f"random rotation d={d}, n={n}: printed block = Gamma* (float)",
                  OneLayer(Setting.make((S + S.T) / 2, n)).gamma_star(), printed, rtol=1e-9, atol=1e-12,
                  reason="double-precision Cholesky solve, condition number <= 50: relative error << 1e-9")

    # 3. the printed point attains L* in the exact full loss; rescaling invariance
    d = 3
    lams = _random_lambdas(rng, d)
    U = cayley(sp.Matrix([[0, 1, 0], [0, 0, sp.Rational(1, 2)], [1, 0, 0]]))
    n = int(rng.integers(2, 12))
    st = Setting.make(U * sp.diag(*lams) * U.T, n)
    P0, Q0 = thm1_params(U, lams, n)
    chk.exact(f"full loss at printed (P_0, Q_0) = L* (d=3, n={n}, exact)", full_loss_exact(st, P0, Q0),
              min_loss_exact(st))
    g = sp.Symbol("gamma", nonzero=True)
    chk.exact("rescaling: f(gamma P_0, Q_0/gamma) = f(P_0, Q_0) (symbolic gamma)",
              sp.simplify(full_loss_exact(st, g * P0, Q0 / g) - full_loss_exact(st, P0, Q0)), 0)

    # 4. global over the full (P, Q)
    d, n = (3, 6) if ctx.thorough else (2, 4)
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
    check_full_space_global(chk, fst, ex, Pf, Qf, rng=rng, thorough=ctx.thorough)
    return chk.result(CLAIM.key, SOURCE, STATEMENT)


CLAIM = Claim(key="ahn2023.thm1", title="one layer, global minimiser U diag(.) U^T", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify)
