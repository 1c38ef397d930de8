"""[Ahn et al. 2023, Lemma 1] Under (8) (P_l = [[0,0],[0,1]], Q_l = -[[A_l,0],[0,0]]), y_l^{(n+1)} := [Z_l]_{d+1,n+1}
satisfies y_l^{(n+1)} = -<x_q, w_l^gd>, w_0^gd = 0, w_{l+1}^gd = w_l^gd - A_l grad R_{w*}(w_l^gd),
R_{w*}(w) = (1/2n) sum_i (w^T x_i - w*^T x_i)^2.

Derivation (the model's own algebra): under (8) only the label row moves; the x rows never change, and
Z^T Q_l Z = -X_all^T A_l X_all. So for every column j (training and query)
    y_j^{l+1} = y_j^l - (1/n) sum_i y_i^l x_i^T A_l x_j.
By induction y_i^l = y_i - x_i^T w_l and y_q^l = -x_q^T w_l with
    w_{l+1} = w_l + A_l^T (1/n) sum_i x_i (y_i - x_i^T w_l) = w_l - A_l^T grad R(w_l):
the forward pass implements the recursion with A_l^T. It coincides with the printed one iff A_l is symmetric
(every use in the paper: Thm 2 symmetric A_i, Thms 3-4 A_i = a_i Sigma^{-1}, GD with gamma_l I).

Steps: exact (sympy rationals, literal forward pass written out in sympy) and float (numerics.model.forward.lsa_forward)
comparisons of [Z_l]_{d+1,n+1} with -<x_q, w_l> for every l = 0..L (the printed range l = 1..L-1 is contained
after the index shift), with symmetric and non-symmetric A_l; the smallest counterexample; the corrected form.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import lsa_forward, sample_prompts
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation.ahn import NOTATION as AHN_NOTATION
from iclcheck.theory.notation.ahn import exact_forward, lemma1_recursion, released_forward
from iclcheck.theory.setting import Setting

__all__ = ["CLAIM", "exact_forward", "verify"]

SOURCE = "[Ahn et al. 2023, Lemma 1] arXiv 2306.00297"
STATEMENT = ("Under (8), with y_l^(n+1) = [Z_l]_{d+1,n+1}: y_l^(n+1) = -<x_q, w_l^gd> where w_0^gd = 0 and "
             "w_{l+1}^gd = w_l^gd - A_l grad R_{w*}(w_l^gd), R_{w*}(w) = (1/2n) sum_i (w^T x_i - w*^T x_i)^2 "
             "(stated for l = 1, ..., L-1). 'This includes GD with A_l = gamma_l I and adaptive preconditioned GD.'")
NOTATION = AHN_NOTATION + " Layers counted from 0 (Z_0 is the prompt, A_l acts in layer l); no label noise, so y = X w*."
FINDING = ("As printed, with attention P Z M (Z^T Q Z) as in (8), the lemma holds only for symmetric A_l; the "
           "refutation is of the printed Z^T Q Z form only. That forward pass implements w_{l+1} = w_l - A_l^T grad R(w_l) (the "
           "transpose), because [Z^T Q Z]_{ij} = -x_i^T A x_j pairs A's rows with the training inputs. Smallest "
           "counterexample: d = 2, n = 1, L = 1, x_1 = e_1, w* = e_1 (y_1 = 1), x_q = e_2, A_0 = e_1 e_2^T: "
           "[Z_1]_{3,2} = -1 but -<x_q, w_1^gd> = 0 (the corrected form gives -1). Corrected statement (checked exactly "
           "and numerically): replace A_l by A_l^T, or assume A_l symmetric - which covers every use in the paper "
           "(Thm 2, Thms 3-4, GD with gamma_l I). The authors' released code (chengxiang/LinearTransformer, "
           "linear_transformer.py) scores Z_query Q Z_key^T instead, i.e. Q^T in the printed form; under that "
           "convention the lemma holds as printed for every A_l, symmetric or not (checked exactly with symbolic "
           "A_0, A_1 at d = 2, n = 3, L = 2, on the random instance and the counterexample above, and in floats at "
           "d = 5, n = 20, L = 3).")

# Float forward pass vs the recursion: L layers of O(1) products, rounding grows like L * 1e-15 (rtol and atol 1e-9).
LAYERS = Tolerance(rtol=1e-9, atol=1e-9, reason="L layers of O(1) products; rounding grows like L * 1e-15")
LAYERS_RELEASED = Tolerance(rtol=1e-9, atol=1e-9, reason="L layers of O(1) products; rounding ~L * 1e-15")
ROUNDING = Tolerance(rtol=1e-9, atol=1e-9, reason="rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(random_sizes=1), thorough=dict(random_sizes=4))


def _released_gap(X, w_star, xq, As) -> sp.Matrix:
    """Released forward pass minus the lemma's printed recursion (A_l, not A_l^T), every layer."""
    y = X * w_star
    fwd = released_forward(X, y, xq, As)
    ws = lemma1_recursion(X, y, As, transpose=False)
    return sp.Matrix([fwd[k] + (xq.T * ws[k])[0, 0] for k in range(len(As) + 1)])


def _released_forward_float(X: np.ndarray, y: np.ndarray, xq: np.ndarray, As: list[np.ndarray]) -> np.ndarray:
    """The released code's attention on a batch in floats (tokens as rows, scores 'BNi,ij,BMj->BNM'), (B,)."""
    B, n, d = X.shape
    Z = np.concatenate([np.concatenate([X, y[..., None]], -1),
                        np.concatenate([xq[:, None, :], np.zeros((B, 1, 1))], -1)], 1)  # (B, n+1, d+1)
    P = np.zeros((d + 1, d + 1))
    P[d, d] = 1.0
    mask = np.r_[np.ones(n), 0.0]
    for A in As:
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -A
        attn = np.einsum("bki,ij,bmj->bkm", Z, Q, Z)  # (B, n+1, n+1)
        Z = Z + np.einsum("bkm,m,bmi->bki", attn, mask, Z @ P.T) / n  # (B, n+1, d+1)
    return Z[:, n, d]


def _rat(rng: np.random.Generator, shape: tuple[int, int]) -> sp.Matrix:
    return sp.Matrix(*shape, [sp.Rational(int(v), 3) for v in rng.integers(-4, 5, size=shape[0] * shape[1])])


def _exact_gap(X, w_star, xq, As, *, transpose: bool) -> sp.Matrix:
    y = X * w_star
    fwd = exact_forward(X, y, xq, As)
    ws = lemma1_recursion(X, y, As, transpose=transpose)
    return sp.Matrix([fwd[k] + (xq.T * ws[k])[0, 0] for k in range(len(As) + 1)])


def _at_setting(ctx: Context, user: UserSetting) -> tuple[Checker, str | None]:
    """The lemma is algebra given y = X w*: on 32 prompts of the user's law (Sigma, n, prior, covariates; noiseless as
    stated) and L layers (default 3), the literal forward pass against the printed recursion (symmetric and
    non-symmetric A_l), the corrected one (A_l^T), and the released code's attention against the printed recursion,
    as in the built-in run (A_l scaled by 1/lambda_max(Sigma) so the steps stay O(1))."""
    chk = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n, L = st.d, int(st.n), user.L or 3
    pr = sample_prompts(st, 32, rng)
    top = float(np.linalg.eigvalsh(st.Sigma)[-1])
    gen = [rng.normal(size=(d, d)) / (d * top) for _ in range(L)]
    preds = {}
    for kind, As, tr in (("symmetric A_l, printed", [(A + A.T) / 2 for A in gen], False),
                         ("non-symmetric A_l, printed", gen, False),
                         ("non-symmetric A_l, corrected A_l^T", gen, True)):
        Ps = [np.diag([0.0] * d + [1.0])] * L
        Qs = [np.block([[-A, np.zeros((d, 1))], [np.zeros((1, d + 1))]]) for A in As]
        yq = lsa_forward(pr.Z0, Ps, Qs)[:, -1, -1]  # (B,)
        pred = np.array([-(pr.xq[b] @ lemma1_recursion(pr.X[b], pr.y[b][:, None], As, transpose=tr)[-1])[0]
                         for b in range(32)])  # (B,)
        preds[kind] = pred
        chk.close(f"float {kind} (your Sigma, d={d}, n={n}, L={L}, 32 prompts)", yq, pred, _layers(pred))
    with chk.as_released():  # the released code's attention Z_query Q Z_key^T (proofs/released.py)
        yq = _released_forward_float(pr.X, pr.y, pr.xq, gen)
        pred = preds["non-symmetric A_l, printed"]
        chk.close(f"released code's attention, floats: printed recursion, non-symmetric A_l (your Sigma, d={d}, n={n}, "
                  f"L={L}, 32 prompts)", yq, pred, _layers(pred))
    return chk, (FINDING if chk.failed else None)


def _layers(pred: np.ndarray) -> Tolerance:
    scale = max(1.0, float(np.max(np.abs(pred))))
    return Tolerance(rtol=1e-9, atol=1e-9 * scale, reason="L layers of products; rounding ~L * 1e-15 relative to the "
                     "largest prediction")


def verify(ctx: Context) -> tuple[Checker, str | None]:
    chk = Checker()
    rng = ctx.rng()  # Claim.salt
    d, n, L = 2, 3, 3
    X, w_star, xq = _rat(rng, (n, d)), _rat(rng, (d, 1)), _rat(rng, (d, 1))
    As_sym = []
    As_gen = []
    for _ in range(L):
        B = _rat(rng, (d, d))
        As_sym.append((B + B.T) / 2)
        As_gen.append(B + sp.Matrix([[0, 1], [0, 0]]))  # certainly non-symmetric
    zero = sp.zeros(L + 1, 1)
    chk.exact(f"printed recursion, symmetric A_l (exact, d={d}, n={n}, L={L}, all l = 0..L)",
              _exact_gap(X, w_star, xq, As_sym, transpose=False), zero)
    chk.exact(f"printed recursion, non-symmetric A_l (exact, d={d}, n={n}, L={L}, all l = 0..L)",
              _exact_gap(X, w_star, xq, As_gen, transpose=False), zero)
    e1, e2 = sp.Matrix([1, 0]), sp.Matrix([0, 1])
    chk.exact("smallest counterexample d=2, n=1, L=1: x_1=e_1, w*=e_1, x_q=e_2, A_0=e_1 e_2^T",
              _exact_gap(sp.Matrix([[1, 0]]), e1, e2, [e1 * e2.T], transpose=False), sp.zeros(2, 1))
    chk.exact(f"corrected recursion (A_l^T), non-symmetric A_l (exact, d={d}, n={n}, L={L})",
              _exact_gap(X, w_star, xq, As_gen, transpose=True), zero)

    # float, larger: the paper's experiment sizes d = 5, n = 20 and random ones, L = 1..4
    sizes = [(5, 20)] + [(int(rng.integers(1, 8)), int(rng.integers(1, 30)))
                         for _ in range(SIZES.at(ctx).random_sizes)]
    for d, n in sizes:
        for L in (1, 2, 3, 4) if ctx.thorough or (d, n) == (5, 20) else (2,):
            st = Setting.make(np.eye(d), n)
            pr = sample_prompts(st, 32, rng)
            gen = [rng.normal(size=(d, d)) / d for _ in range(L)]
            for kind, As, tr in (("symmetric A_l, printed", [(A + A.T) / 2 for A in gen], False),
                                 ("non-symmetric A_l, corrected A_l^T", gen, True)):
                Ps, Qs = [], []
                for A in As:
                    P = np.zeros((d + 1, d + 1))
                    P[d, d] = 1.0
                    Q = np.zeros((d + 1, d + 1))
                    Q[:d, :d] = -A
                    Ps.append(P)
                    Qs.append(Q)
                yq = lsa_forward(pr.Z0, Ps, Qs)[:, -1, -1]  # (B,)
                pred = np.array([-(pr.xq[b] @ lemma1_recursion(pr.X[b], pr.y[b][:, None], As, transpose=tr)[-1])[0]
                                 for b in range(pr.X.shape[0])])  # (B,)
                chk.close(f"float {kind} (d={d}, n={n}, L={L}, 32 prompts)", yq, pred, LAYERS)
    # noise: the recursion follows the observed labels; R_{w*} = R_y exactly when y = X w* (the paper's setting)
    d, n, L = 3, 6, 2
    st = Setting.make(np.eye(d), n, sigma2=0.5)
    pr = sample_prompts(st, 16, rng)
    As = [rng.normal(size=(d, d)) / d for _ in range(L)]
    Ps = [np.diag([0.0] * d + [1.0])] * L
    Qs = [np.block([[-A, np.zeros((d, 1))], [np.zeros((1, d + 1))]]) for A in As]
    yq = lsa_forward(pr.Z0, Ps, Qs)[:, -1, -1]
    pred = np.array([-(pr.xq[b] @ lemma1_recursion(pr.X[b], pr.y[b][:, None], As, transpose=True)[-1])[0]
                     for b in range(16)])
    chk.close("extension, noisy labels: forward pass = corrected recursion on R_y (observed labels, not w*)", yq, pred,
              ROUNDING)
    with chk.as_released():  # the released code's attention Z_query Q Z_key^T (proofs/released.py)
        d, n, L = 2, 3, 3
        chk.exact(f"released code's attention: printed recursion (A_l, not A_l^T), non-symmetric A_l (exact, d={d}, "
                  f"n={n}, L={L}, all l = 0..L)", _released_gap(X, w_star, xq, As_gen), zero)
        chk.exact("released code's attention: the smallest counterexample above satisfies the printed recursion",
                  _released_gap(sp.Matrix([[1, 0]]), e1, e2, [e1 * e2.T]), sp.zeros(2, 1))
        # for all A_l: symbolic 2 x 2 matrices (the gap is a polynomial in their entries; it must vanish identically)
        As_sym_entries = [sp.Matrix(2, 2, sp.symbols(f"a{l}_1:3(1:3)")) for l in range(2)]
        Xs, ws_, xqs = sp.Matrix([[1, 2], [-1, 1], [2, -3]]), sp.Matrix([1, -1]), sp.Matrix([2, 1])
        chk.exact("released code's attention: printed recursion for ALL A_0, A_1 (symbolic 2x2 entries, exact, d=2, "
                  "n=3, L=2)", _released_gap(Xs, ws_, xqs, As_sym_entries).applyfunc(sp.expand), sp.zeros(3, 1))
        d, n, L = 5, 20, 3
        st = Setting.make(np.eye(d), n)
        pr = sample_prompts(st, 32, rng)
        As = [rng.normal(size=(d, d)) / d for _ in range(L)]  # non-symmetric
        yq = _released_forward_float(pr.X, pr.y, pr.xq, As)
        pred = np.array([-(pr.xq[b] @ lemma1_recursion(pr.X[b], pr.y[b][:, None], As, transpose=False)[-1])[0]
                         for b in range(pr.X.shape[0])])  # (B,)
        chk.close(f"released code's attention, floats: printed recursion, non-symmetric A_l (d={d}, n={n}, L={L}, "
                  "32 prompts)", yq, pred, LAYERS_RELEASED)
    return chk, (FINDING if chk.failed else None)


CLAIM = Claim(key="ahn2023.lemma1", title="(8) layers = preconditioned GD steps", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, salt=113, parameters=("Sigma", "n", "Sigma_w", "law", "L"),
              at_setting=_at_setting,
              fixed="the recursion is on R_{w*}, i.e. noiseless labels y = X w* (label noise is an extension checked at "
              "built-in settings)")
