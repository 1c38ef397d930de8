"""[Ahn et al. 2023, Fig. 2 / Fig. 1d, section 4.3] The learned 3-layer (8) transformer, d = 5, n = 20,
x ~ N(0, Sigma), Sigma = U^T D U, w ~ N(0, Sigma^-1): Sigma^{1/2} A_i Sigma^{1/2} ~ multiples of I with diagonal
entries (code sign, i.e. of -A_i) ~ -0.69, -0.43, -1.72 for layers 0, 1, 2; log(loss) reaches about -2.0.

Compared against the EXACT optimum of the restricted family A_i = a_i Sigma^-1 (certified global minimum).

Sign map (read from the public code, chengxiang/LinearTransformer linear_transformer.py): tokens are rows,
Attn[N, M] = z_N^T Q_code z_M and the update of token N is (1/N) sum_{M<=n} Attn[N, M] P_full z_M, i.e. the
canonical layer with Q = Q_code^T; the canonical Q_i = -[[A_i, 0], [0, 0]] so Q_code = -A_i^T, and the plotted
Sigma^{1/2} Q_code Sigma^{1/2} = -a_i I. Published -0.69, -0.43, -1.72 therefore mean a = (0.69, 0.43, 1.72).
Loss: code mean((output[:, N, d] + y)^2) = canonical f (TF = -[Z_L]_{d+1,n+1}, no 1/2); log is natural.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from iclcheck.numerics.families import ahn_sigma, gd_loss, optimal_gd
from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.model.forward import lsa_forward, sample_prompts
from iclcheck.proofs.registry import Claim, Context
from iclcheck.proofs.steps import check_released_attention
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.multilayer import a_symbols, optimal_gd_exact
from iclcheck.theory.multilayer import gd_loss as gd_loss_exact
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "verify", "PUBLISHED_CODE_SIGN", "PUBLISHED_LOG_LOSS"]

PUBLISHED_CODE_SIGN = (-0.69, -0.43, -1.72)  # diagonal of Sigma^{1/2} Q_code,i Sigma^{1/2}, layers 0, 1, 2
PUBLISHED_LOG_LOSS = -2.0  # Fig. 1d, read off a log-scale plot

SOURCE = "[Ahn et al. 2023, Fig. 2 and Fig. 1d, section 4.3] arXiv 2306.00297"
STATEMENT = ("d = 5, n = 20, Sigma = U^T D U (U uniform orthogonal, D = diag(1, 1, 0.25, 0.0625, 1)), w ~ N(0, Sigma^-1), "
             "3 layers with (8), trained by Adam: Sigma^{1/2} A_i Sigma^{1/2} ~ multiples of I with diagonal entries "
             "(code sign) ~ -0.69, -0.43, -1.72 for layers 0, 1, 2; log(loss) ~ -2.0.")
NOTATION = ("code Q = -A^T (tokens as rows; Attn = Z Q_code Z^T), P_full = [[0,0],[0,1]] under (8), the same 1/n and "
            "the same loss as the canonical model: a_i = -(published entry). Whitening makes the loss independent of "
            "Sigma, so U and D do not matter for the optimum.")

# tolerances of this claim
COEF = Tolerance(rtol=0.05, reason="2-decimal printing of values learned by a finite Adam run")  # <= 1.2% rounding at 0.43
LOSS = Tolerance(rtol=0.02, reason="a finite training run; the issue's 2% criterion")
LOGLOSS = Tolerance(atol=0.1, reason="value read off a log-scale plot")  # ticks 1 apart
REORDERED = Tolerance(rtol=1e-9, atol=1e-9, reason="the same arithmetic in a different order")
WHITENED = Tolerance(rtol=1e-12, reason="same exact computation; differences are rounding")


def _code_attention_layer(Zrows: np.ndarray, P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """The public code's layer, transcribed in numpy: rows are tokens, P_full = [[P,0],[0,1]], Q_full = [[Q,0],[0,0]],
    Attn = Z Q_full Z^T, mask A = diag(1..1, 0), Output = Attn A (Z P_full^T) / N, Z <- Z + Output."""
    B, N1, D = Zrows.shape
    N, d = N1 - 1, D - 1
    Pf = np.zeros((D, D))
    Pf[:d, :d] = P
    Pf[d, d] = 1.0
    Qf = np.zeros((D, D))
    Qf[:d, :d] = Q
    Am = np.eye(N1)
    Am[N, N] = 0.0
    attn = np.einsum("bni,ij,bmj->bnm", Zrows, Qf, Zrows)
    key = np.einsum("ij,bnj->bni", Pf, Zrows)
    return Zrows + np.einsum("bnm,ml,bli->bni", attn, Am, key) / N


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    d, n, L = 5, 20, 3
    Sigma = ahn_sigma(ctx.rng())
    st = Setting.make(Sigma, n, Sigma_w="inv")

    # 1. the sign map, literally: the code's layer with Q_code = -A^T equals the canonical layer with Q = -[[A,0],[0,0]]
    rng = ctx.stream("sign_map")
    pr = sample_prompts(st, 50, rng)
    As = [rng.standard_normal((d, d)) for _ in range(L)]
    Zc = pr.Z0.transpose(0, 2, 1).copy()  # rows as tokens
    for A in As:
        Zc = _code_attention_layer(Zc, np.zeros((d, d)), -A.T)
    Ps = [np.diag([0.0] * d + [1.0])] * L
    Qs = [np.pad(-A, ((0, 1), (0, 1))) for A in As]
    chk.close("sign map: the code's layer with Q_code = -A^T equals the canonical layer with Q = -[[A,0],[0,0]]",
              Zc[:, n, d], lsa_forward(pr.Z0, Ps, Qs)[:, d, n], REORDERED)
    a_pub = -np.array(PUBLISHED_CODE_SIGN)

    # 2. exact optimum (certified), independent of Sigma
    opt = optimal_gd_exact(L, n=n, d=d)
    a_star = np.array(opt.a_float())
    chk.decided("exact optimum of the (8) family certified (convex in prod (1 - a_l x), real roots)", opt.certified,
                f"a* = {np.round(a_star, 6).tolist()}, loss {float(opt.loss):.8g}", computed=a_star, exact=True)
    a_sigma = optimal_gd(st, L).coefficients
    chk.close("the optimum for Ahn's Sigma equals the one for Sigma = I (whitening)", a_sigma, a_star, WHITENED)

    # 3. order: the loss is symmetric in (a_0, a_1, a_2), exactly
    a = a_symbols(L)
    f = gd_loss_exact(L, n=n, d=d)
    sym = all(sp.expand(f - f.subs(dict(zip(a, p, strict=True)), simultaneous=True)) == 0
              for p in itertools.permutations(a))
    chk.decided("the loss is invariant under permuting the layers (exact polynomial identity)", sym,
                "f depends on a only through prod_l (1 - a_l x): the per-layer order "
                "of the published values is not identifiable from the loss", exact=True)

    # 4. published values vs optimum, as multisets (order not identifiable)
    chk.close("published coefficients (sorted) vs exact optimum (sorted)", np.sort(a_pub), np.sort(a_star), COEF)
    loss_pub = gd_loss(a_pub, (d, n))
    chk.close("exact loss at the published coefficients vs the exact minimum", loss_pub, float(opt.loss), LOSS)
    chk.close("log(minimal loss) vs the published log(loss) ~ -2.0", float(np.log(float(opt.loss))), PUBLISHED_LOG_LOSS,
              LOGLOSS)

    finding = (f"The published learned values match the exact optimum of the restricted family: a* = "
               f"{np.round(a_star, 4).tolist()} (any order) vs published {a_pub.tolist()} (layers 0, 1, 2); loss at the "
               f"published values {loss_pub:.5f} is {100 * (loss_pub / float(opt.loss) - 1):.2f}% above the exact "
               f"minimum {float(opt.loss):.5f} (log {np.log(float(opt.loss)):.3f} vs published ~ -2.0). The loss is "
               "symmetric in the layers, so the learned order (middle layer smallest) is not determined by the loss.")
    check_released_attention(chk, st, *family_params(Sigma, a_star), ctx.stream("released"), what="the exact optimum a*")
    return chk, finding


CLAIM_KEY = "ahn2023.fig2"
CLAIM = Claim(key=CLAIM_KEY, title="3-layer learned coefficients vs exact optimum", source=SOURCE,
              statement=STATEMENT, notation=NOTATION, verify=verify, salt=1, streams={"sign_map": 2, "released": 777},
              fixed="its statement is a figure: the paper's learned 3-layer coefficients and loss (d = 5, "
                    "n = 20, Sigma of Sec. 4.3)")
