"""[Fu et al. 2023/2024, Thm 5.1, proof of the Newton layer] T -> 2T - TST by two ReLU heads and an MLP
(arXiv 2310.17086).

Setting (theory.notation.fu): hidden states h_j = [T x_j; x_j], a residual ReLU-attention layer with two
heads Q_m = Qt_m [[0, -(n/2) I], [0, 0]], K_m = Kt_m [[I, 0], [0, 0]], Qt_1^T Kt_1 = I, Qt_2^T Kt_2 = -I,
V_1 = V_2 = [[I, 0], [0, 0]] (as printed), combined "through ReLU(a) + ReLU(-a) = a"; then an MLP doubles
the top block. Claim: the top block becomes T - 1/2 T S T and, after the MLP, 2T - TST (one Newton step).
Computed literally (keys/values from the n context tokens, the query token updated too). Attention is
normalised by 1/n (Bai et al.'s ReLU attention, which Fu et al. build on); the printed n/2 then gives
exactly 1/2 T S T with S = X^T X, their unnormalised S (a plain sum would give n/2 T S T).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.algorithms.reference import newton_alpha, newton_iterates, newton_w
from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.numerics.model.lsa import LSA, forward
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.verdict import Checker, Finding, Reach, Tolerance
from iclcheck.theory.notation import fu
from iclcheck.theory.notation.fu import init_heads, newton_block

__all__ = ["CLAIM", "float_layer", "float_model", "init_heads", "newton_block"]

KEY = "fu2023.thm5_1"
SOURCE = "[Fu, Chen, Jia, Sharan 2024 (NeurIPS), Thm 5.1 and its proof (Newton and initialization layers)] arXiv 2310.17086"
LOCATOR = "camera-ready text, App. B.2: Thm 5.1, the initialization layer eqs. (20)-(24), the Newton layer eqs. (27)-(32)"
STATEMENT = (
    "Hidden state h_j = [T x_j; x_j]; two ReLU-attention heads with Q_m = Qt_m [[0, -(n/2) I], [0, 0]], "
    "K_m = Kt_m [[I, 0], [0, 0]], Qt_1^T Kt_1 = I, Qt_2^T Kt_2 = -I, V_1 = V_2 = [[I, 0], [0, 0]], combined through "
    "ReLU(a) + ReLU(-a) = a: the top block becomes T - 1/2 T S T, and an MLP doubles it to 2T - TST."
)
NOTATION = (
    "S = X^T X (unnormalised, as in eq. 5); tokens are the columns of H in R^{2d x (n+1)}, query last, keys and values "
    "from the n context tokens; attention h_i += (1/n) sum_m sum_j ReLU(<Q_m h_i, K_m h_j>) V_m h_j. This is a "
    "ReLU-attention construction, not the canonical LSA: no map to (P, Q) is involved."
)
# Float steps: rounding of O(n d^2) flops on O(1) data (entries scaled by 1 + max|entry|), so 1e-9 leaves ~6 digits
# of margin; one tolerance, stated three ways in the report.
ROUNDING = Tolerance(atol=1e-9, reason="rounding only")
ROUNDING_SCALED = Tolerance(atol=1e-9, reason="relative to 1 + max|entry|; rounding only")
ROUNDING_REL = Tolerance(atol=1e-9, reason="relative; rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(random_cases=5), thorough=dict(random_cases=30))


def float_model(d: int, n: int, *, variant: str, rng: np.random.Generator | None = None, layers: int = 1,
                mlp: bool = True) -> tuple[LSA, dict]:
    """The Newton layer as the toolkit's one model (numerics.model.lsa): ReLU scores with the query masked out of keys
    and values, 1/n-normalised, two heads with P_m = V_m and Q_m^LSA = K_m^T Q_m (so that
    z_j^T Q^LSA z_i = <Q_m h_i, K_m h_j>), the MLP of fu.mlp_weights; ``layers`` > 1 ties the weights.
    With ``rng``, random free factors Qt (Kt = Qt^{-T})."""
    Qt = Kt = None
    if rng is not None:
        Qt = rng.standard_normal((2 * d, 2 * d)) + 2 * np.eye(2 * d)
        Kt = np.linalg.inv(Qt).T  # Qt^T Kt = I
    heads = fu.newton_layer_heads(d, n, variant=variant, Qt=Qt, Kt=Kt, exact=False)
    params = {"Ps": np.stack([V for _, _, V in heads])[None],  # (1, 2, 2d, 2d)
              "Qs": np.stack([K.T @ Q for Q, K, _ in heads])[None]}  # (1, 2, 2d, 2d)
    if mlp:
        W1, W2 = fu.mlp_weights(d, exact=False)
        params.update(W1s=W1[None], W2s=W2[None])  # (1, 2d, 2d)
    return LSA(L=layers, score="relu", mask=True, mlp=mlp, tied=True), params


def float_layer(H: np.ndarray, d: int, n: int, *, variant: str, rng: np.random.Generator | None = None,
                layers: int = 1, mlp: bool = True) -> np.ndarray:
    """``layers`` Newton layers (attention + MLP) in floats on the hidden states H (2d, n+1)."""
    model, params = float_model(d, n, variant=variant, rng=rng, layers=layers, mlp=mlp)
    return forward(model, H, **params)[0]  # (2d, n+1)


def _exact_steps(ck: Checker) -> str:
    a = sp.Symbol("a", real=True)
    relu = lambda v: sp.Max(v, 0)  # noqa: E731
    vals = [-2, -1, 0, 1, 3]
    ck.exact("as printed: the identity ReLU(a) + ReLU(-a) = a (at a = -2, -1, 0, 1, 3)",
             sp.Matrix([relu(v) + relu(-v) for v in vals]), sp.Matrix(vals),
             detail="ReLU(a) + ReLU(-a) = |a|")
    ck.exact("the identity the construction needs: ReLU(a) - ReLU(-a) = a (symbolic real a, as a Piecewise)",
             sp.simplify((relu(a) - relu(-a) - a).rewrite(sp.Piecewise)), 0)

    # Smallest counterexample: d = n = 1, x_1 = x_q = 1, T = 1.
    X, T, xq = sp.Matrix([[1]]), sp.Matrix([[1]]), sp.Matrix([1])
    H = fu.hidden_state(X, T, xq)
    Ha = fu.relu_attention(H, fu.newton_layer_heads(1, 1, variant="printed"), n=1)
    half, _ = newton_block(T, X.T @ X)
    ck.exact("as printed: d = n = 1, x = x_q = 1, T = 1: top block after attention = (T - 1/2 TST) x",
             fu.top_block(Ha, 1), half @ sp.Matrix([[1, 1]]))
    counter = f"d = n = 1, x_1 = x_q = 1, T = 1: printed heads give {fu.top_block(Ha, 1)[0, 0]}, claimed {half[0, 0]}"

    # A rational instance: d = 2, n = 3, symmetric T.
    X = sp.Matrix([[1, 2], [-1, sp.Rational(1, 2)], [0, 3]])
    xq = sp.Matrix([2, -1])
    T = sp.Matrix([[sp.Rational(1, 5), sp.Rational(-1, 10)], [sp.Rational(-1, 10), sp.Rational(1, 3)]])
    S = X.T @ X
    C = X.T.row_join(xq)  # inputs as columns, query last
    H = fu.hidden_state(X, T, xq)
    half, full = newton_block(T, S)
    heads_p = fu.newton_layer_heads(2, 3, variant="printed")
    Q1, K1, _ = heads_p[0]
    ck.exact("exact: head-1 scores <Q_1 h_i, K_1 h_j> = -(n/2) x_i^T T x_j (i over all tokens, j over context)",
             (Q1 @ H).T @ (K1 @ H[:, :3]), -sp.Rational(3, 2) * C.T @ T @ X.T)
    Hp = fu.relu_attention(H, heads_p, n=3)
    ck.exact("as printed: rational d=2, n=3 instance: top block after attention = (T - 1/2 T S T) [X^T, x_q]",
             fu.top_block(Hp, 2), half @ C)
    Hc = fu.relu_attention(H, fu.newton_layer_heads(2, 3, variant="corrected"), n=3)
    ck.exact("corrected (V_2 = -V_1): top block after attention = (T - 1/2 T S T) [X^T, x_q], S = X^T X, query included",
             fu.top_block(Hc, 2), half @ C)
    ck.exact("corrected: bottom block (the inputs x_j) unchanged", Hc[2:, :], C)
    ck.exact("corrected + MLP doubling: top block = (2T - TST) [X^T, x_q] (one Newton step)",
             fu.top_block(fu.mlp_double(Hc, 2), 2), full @ C)
    Hs = fu.relu_attention(H, fu.newton_layer_heads(2, 3, variant="corrected"), n=3, normalise="sum")
    ck.exact("scale: with an unnormalised sum instead of 1/n the same weights give T - (n/2) T S T, so the printed n/2 "
             "fits 1/n-normalised attention with S = X^T X", fu.top_block(Hs, 2), (T - sp.Rational(3, 2) * T @ S @ T) @ C)
    Tn = sp.Matrix([[1, 2], [0, 1]])  # non-symmetric T
    Hn = fu.relu_attention(fu.hidden_state(X, Tn, xq), fu.newton_layer_heads(2, 3, variant="corrected"), n=3)
    ck.exact("corrected, general T: the layer gives T - 1/2 T S T^T (= T - 1/2 TST for symmetric T, as every M_k is)",
             fu.top_block(Hn, 2), (Tn - sp.Rational(1, 2) * Tn @ S @ Tn.T) @ C)
    return counter


INIT_ABS = "as printed, eq. (21) (equal values V_1 = V_2): the two heads add |<x_t, x_j>|, top block x_t + alpha sum_j |<x_t, x_j>| x_j"
INIT_PRINTED = "as printed, eq. (21)-(22): the initialization layer gives x_t + alpha S x_t (S = X^T X)"
INIT_CORRECTED = "corrected, eq. (21) (V_2 = -V_1): the initialization layer gives x_t + alpha S x_t"


def _init_steps(ck: Checker) -> None:
    """Eq. (21) uses the same ReLU(a) + ReLU(-a) = a step as the Newton layer: with equal values it gives |a|."""
    X = sp.Matrix([[1, 2], [-1, sp.Rational(1, 2)], [2, -3]])  # inner products of both signs
    n, d = X.shape
    alpha = sp.Rational(1, 7)
    H = X.T.col_join(X.T)  # (2d, n): h_j = [x_j; x_j], eq. (20)
    G = X @ X.T  # (n, n) <x_t, x_j>
    out_p = fu.relu_attention(H, init_heads(d, n, alpha, variant="printed"), n=n)
    absG = G.applyfunc(sp.Abs)
    ck.exact(INIT_ABS, out_p[:d, :], X.T + alpha * X.T @ absG,
             detail="exact (sympy) on a rational X (n = 3, d = 2) whose Gram matrix has entries of both signs")
    target = X.T + alpha * (X.T @ X) @ X.T  # (22): x_t + alpha S x_t for every t
    ck.exact(INIT_PRINTED, out_p[:d, :], target)
    out_c = fu.relu_attention(H, init_heads(d, n, alpha, variant="corrected"), n=n)
    ck.exact(INIT_CORRECTED, out_c[:d, :], target)


def _float_steps(ck: Checker, ctx: Context) -> None:
    rng = ctx.rng()  # Claim.salt
    cases = [(20, 40, 3)] + [(int(rng.integers(1, 6)), int(rng.integers(1, 10)), int(rng.integers(0, 4)))
                             for _ in range(SIZES.at(ctx).random_cases)]
    worst_c = worst_chain = worst_pred = 0.0
    worst_p = 0.0
    for d, n, k in cases:
        X = rng.standard_normal((n, d))
        y = X @ rng.standard_normal(d)
        xq = rng.standard_normal(d)
        S = X.T @ X
        a = float(newton_alpha(S, rule="code"))
        Ms = newton_iterates(S, alpha=a, steps=k + 1)  # (k+2, d, d), independent implementation
        T = Ms[k]
        H = fu.hidden_state(X, T, xq)
        C = np.column_stack([X.T, xq])
        exp = (2 * T - T @ S @ T) @ C
        scale = 1 + np.abs(exp).max()
        out_c = float_layer(H, d, n, variant="corrected", rng=rng)
        worst_c = max(worst_c, float(np.abs(out_c[:d] - exp).max() / scale))
        out_p = float_layer(H, d, n, variant="printed", rng=rng)
        worst_p = max(worst_p, float(np.abs(out_p[:d] - exp).max() / scale))
        # Chain: k+1 corrected layers from T = M_0 reproduce M_{k+1} on every token and the Newton prediction.
        Hk = float_layer(fu.hidden_state(X, Ms[0], xq), d, n, variant="corrected", layers=k + 1)  # tied weights
        exp_k = Ms[k + 1] @ C
        worst_chain = max(worst_chain, float(np.abs(Hk[:d] - exp_k).max() / (1 + np.abs(exp_k).max())))
        pred = float(Hk[:d, n] @ (X.T @ y))  # (M_{k+1} x_q)^T X^T y = x_q^T w_{k+1} (M symmetric)
        w_ref = newton_w(X, y, steps=k + 1, alpha=a)[k + 1]
        worst_pred = max(worst_pred, abs(pred - float(xq @ w_ref)) / (1 + abs(float(xq @ w_ref))))
    ck.close(f"as printed, floats ({len(cases)} settings incl. d=20, n=40; random Qt, Kt = Qt^-T; T = M_k): "
             "layer + MLP gives (2T - TST) on every token", worst_p, 0.0, ROUNDING)
    ck.close("corrected, floats: layer + MLP gives (2T - TST) on every token", worst_c, 0.0, ROUNDING_SCALED)
    ck.close("corrected, floats: k+1 stacked layers from T = M_0 = alpha S reproduce M_{k+1} (numerics.algorithms)",
             worst_chain, 0.0, ROUNDING_REL)
    ck.close("corrected, floats: read-out (M_{k+1} x_q)^T X^T y = x_q^T w_{k+1}^Newton", worst_pred, 0.0,
             ROUNDING_REL)


def _at_setting(ctx: Context, user: UserSetting) -> tuple[Checker, str | None]:
    """The float steps on 4 prompts of the user's law (Sigma, n, prior, noise, covariates), T = M_k for k = 0..3:
    the printed and the corrected layer against 2T - TST, and k+1 stacked corrected layers against M_{k+1} and
    Newton's prediction (as in the built-in run, so the printed heads are refuted here too)."""
    ck = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n = st.d, int(st.n)
    pr = sample_prompts(st, 4, rng)
    worst_c = worst_chain = worst_pred = worst_p = 0.0
    for b in range(4):
        X, y, xq, k = pr.X[b], pr.y[b], pr.xq[b], b
        S = X.T @ X
        a = float(newton_alpha(S, rule="code"))
        Ms = newton_iterates(S, alpha=a, steps=k + 1)  # (k+2, d, d)
        T = Ms[k]
        H = fu.hidden_state(X, T, xq)
        C = np.column_stack([X.T, xq])
        exp = (2 * T - T @ S @ T) @ C
        scale = 1 + np.abs(exp).max()
        worst_c = max(worst_c, float(np.abs(float_layer(H, d, n, variant="corrected", rng=rng)[:d] - exp).max() / scale))
        worst_p = max(worst_p, float(np.abs(float_layer(H, d, n, variant="printed", rng=rng)[:d] - exp).max() / scale))
        Hk = float_layer(fu.hidden_state(X, Ms[0], xq), d, n, variant="corrected", layers=k + 1)
        exp_k = Ms[k + 1] @ C
        worst_chain = max(worst_chain, float(np.abs(Hk[:d] - exp_k).max() / (1 + np.abs(exp_k).max())))
        pred = float(Hk[:d, n] @ (X.T @ y))
        w_ref = newton_w(X, y, steps=k + 1, alpha=a)[k + 1]
        worst_pred = max(worst_pred, abs(pred - float(xq @ w_ref)) / (1 + abs(float(xq @ w_ref))))
    at = f"4 prompts of your setting, d={d}, n={n}, T = M_0..M_3"
    ck.close(f"as printed, floats: layer + MLP gives (2T - TST) on every token ({at})", worst_p, 0.0, ROUNDING)
    ck.close(f"corrected, floats: layer + MLP gives (2T - TST) on every token ({at})", worst_c, 0.0, ROUNDING_SCALED)
    ck.close(f"corrected, floats: k+1 stacked layers from T = M_0 reproduce M_{{k+1}} ({at})", worst_chain, 0.0,
             ROUNDING_REL)
    ck.close(f"corrected, floats: read-out (M_{{k+1}} x_q)^T X^T y = x_q^T w_{{k+1}}^Newton ({at})", worst_pred, 0.0,
             ROUNDING_REL)
    finding = ("At your setting, as at the built-in ones: with identical values V_1 = V_2 the two ReLU heads add "
               "|a| instead of a, so the printed layer does not give 2T - TST; the corrected V_2 = -V_1 does.")
    return ck, (finding if ck.failed else None)


def verify(ctx: Context) -> tuple[Checker, Finding | None]:
    ck = Checker()
    counter = _exact_steps(ck)
    _init_steps(ck)
    _float_steps(ck, ctx)
    finding = Finding(
        checked="Thm 5.1's construction as printed (App. B.2): the Newton layer, eqs. (27)-(32), and the "
                "initialization layer, eqs. (21)-(22)",
        fails="both layers combine two ReLU heads with equal values as 'ReLU(a) + ReLU(-a) = a', which is |a|: the "
              "Newton layer gives T x_i + (1/n) sum_j |a_ij| T x_j (not T - 1/2 TST), eq. (21) gives "
              "alpha sum_j |<x_t, x_j>| x_j (not alpha S x_t)",
        counterexample=counter,
        corrected="V_2 = -V_1 in both layers (ReLU(a) - ReLU(-a) = a): the Newton layer gives T - 1/2 T S T^T and, "
                  "with the MLP doubling, 2T - TST; eq. (21) gives alpha S x_t; the existence statement survives",
        holds_step="corrected + MLP doubling: top block = (2T - TST) [X^T, x_q] (one Newton step)",
        holds_reading="V_2 = -V_1",
        scope=Reach.EXACT, scope_note="rational instances, exact; floats at d = 20, n = 40 and random sizes",
        detail=finding_text(counter))
    return ck, (finding if ck.failed else None)


def finding_text(counter: str) -> str:
    return (
        "As printed the two heads do not combine to a linear map: with identical values V_1 = V_2 they add "
        "ReLU(a) + ReLU(-a) = |a| (not a), so the top block becomes T x_i + (1/n) sum_j |a_ij| T x_j with "
        "a_ij = -(n/2) x_i^T T x_j; for PSD T and aligned inputs (all a_ij <= 0) that is T + 1/2 TST, the wrong sign. "
        f"Smallest counterexample: {counter}. Corrected construction: V_2 = -V_1 (equivalently combine the heads as "
        "ReLU(a) - ReLU(-a) = a), with 1/n-normalised ReLU attention and S = X^T X; then the top block is exactly "
        "T - 1/2 T S T^T (= T - 1/2 TST for symmetric T, as every Newton iterate is) and the MLP doubling gives 2T - TST; "
        "stacking k such layers from T = M_0 reproduces Newton's M_k and prediction (checked exactly and in floats). "
        "The printed factor n/2 is right for 1/n-normalised attention; with an unnormalised sum the same weights give "
        "T - (n/2) TST and the factor would have to be 1/2. The initialization layer, eq. (21) (camera-ready App. "
        "B.2), has the same slip: Q_1^T K_1 = -Q_2^T K_2 = [[I, 0], [0, 0]] with equal values V_m = n alpha [[I, 0], "
        "[0, 0]] on h_j = [x_j; x_j] gives x_t + alpha sum_j |<x_t, x_j>| x_j, not the x_t + alpha S x_t of eq. (22) "
        "(exact); V_2 = -V_1 corrects it. The padding construction, eq. (19), uses ReLU(1) + ReLU(-1) = 1, which is "
        "right."
    )


CLAIM = Claim(key=KEY, title="Newton layer maps T to 2T - TST (Thm 5.1)", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, salt=7, locator=LOCATOR, parameters=("Sigma", "n", "Sigma_w", "sigma2", "law"),
              at_setting=_at_setting, fixed="an identity for any data matrix X: every data law is accepted")

