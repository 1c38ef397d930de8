"""[von Oswald et al. 2023, Prop. 1] one LSA layer = one GD step on the in-context data (arXiv 2212.07677).

Setting: tokens e_j = (x_j, y_j), query token (x_test, -W_0 x_test); one LSA layer with keys and values
from the N context tokens (theory.notation.vonoswald.lsa_layer). Claim: with W_K = W_Q = [[I, 0], [0, 0]],
W_V = [[0, 0], [W_0, -I]], P = (eta/N) I every token becomes (x_j, y_j - Delta W x_j), Delta W =
-(eta/N) sum_i (W_0 x_i - y_i) x_i^T, so -1 x the query's y-entry is (W_0 + Delta W) x_test: the prediction
of W_0 after one GD step on L(W) = (1/2N) sum ||W x_i - y_i||^2 (note the sign: the updated model is
W_0 + Delta W). Checked exactly (sympy, symbolic eta) and in floats on random settings and the paper's
sizes, then re-expressed in the canonical parameterisation (P_can = N P W_V, Q_can = W_K^T W_Q) and run
through the canonical literal forward pass.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.algorithms.reference import gd
from iclcheck.numerics.model.forward import lsa_forward, sample_prompts
from iclcheck.proofs.registry import Claim, Context, Profiles, UserSetting
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.notation import vonoswald as vo

__all__ = ["CLAIM", "canonical_predictions", "float_instance", "vonoswald_predictions"]

KEY = "vonoswald2023.prop1"
SOURCE = "[von Oswald et al. 2023, Prop. 1 and Sec. 2] arXiv 2212.07677"
STATEMENT = (
    "With W_K = W_Q = [[I_x, 0], [0, 0]], W_V = [[0, 0], [W_0, -I_y]], P = (eta/N) I, one LSA step maps every "
    "token (x_j, y_j) to (x_j, y_j - Delta W x_j) with Delta W = -(eta/N) sum_i (W_0 x_i - y_i) x_i^T; the "
    "prediction is -1 x the updated y-entry of the query token (initialised -W_0 x_test). Only P W_V and "
    "W_K^T W_Q matter."
)
NOTATION = (
    "Their tokens are the canonical columns (Z0 = E, n = N, N_y = 1); their layer e_j += P W_V (sum_i e_i e_i^T) "
    "W_K^T W_Q e_j has no 1/N, the canonical one has 1/n, so P_can = N P W_V, Q_can = W_K^T W_Q; prediction = "
    "-(query y-entry) in both. With W_0 = 0 the construction is the canonical point b = 0, c = -eta, Q11 = I, i.e. "
    "Gamma = eta I after (P, Q) -> (P/c, c Q)."
)
# Float steps: O(N D^2) double-precision flops on O(1) data; 1e-9 relative is ~1e6 ulps of headroom.
RTOL = 1e-9
# the float steps compare deviations already scaled by 1 + max|entry| (or 1 + |prediction|) with 0
TOKENS = Tolerance(atol=RTOL, reason="relative to 1 + max|entry|; double-precision rounding only")
PREDICTION = Tolerance(atol=RTOL, reason="relative to 1 + |prediction|; double-precision rounding only")
ROUNDING = Tolerance(atol=RTOL, reason="double-precision rounding only")


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(random_sizes=6, canonical_cases=4),
                 thorough=dict(random_sizes=40, canonical_cases=20))


def _gd_delta(X, Y, W0, eta, N):
    """Delta W = -(eta/N) sum_i (W_0 x_i - y_i) x_i^T (their GD step), generic sympy / numpy."""
    R = X @ W0.T - Y  # (N, N_y) residuals (W_0 x_i - y_i)^T
    return -(eta / N) * (R.T @ X)  # (N_y, N_x)


def float_instance(rng: np.random.Generator, *, Nx: int, Ny: int, N: int, zero_W0: bool = False) -> dict:
    """A random float instance: X (N, Nx), Y (N, Ny), xq (Nx,), W0 (Ny, Nx), eta."""
    return {
        "X": rng.standard_normal((N, Nx)),
        "Y": rng.standard_normal((N, Ny)),
        "xq": rng.standard_normal(Nx),
        "W0": np.zeros((Ny, Nx)) if zero_W0 else rng.standard_normal((Ny, Nx)),
        "eta": float(rng.uniform(0.05, 2.0)),
    }


def vonoswald_predictions(inst: dict) -> tuple[np.ndarray, np.ndarray]:
    """Their literal layer: (E_1, prediction)."""
    N, Nx = inst["X"].shape
    w = vo.prop1_weights(inst["W0"], inst["eta"], N)
    E1 = vo.lsa_layer(vo.tokens(inst["X"], inst["Y"], inst["xq"], inst["W0"]), N=N, **w)
    return E1, vo.prediction(E1, Nx, N)


def canonical_predictions(inst: dict) -> tuple[np.ndarray, np.ndarray]:
    """The canonical literal forward pass (numerics.model.forward.lsa_forward) with the mapped weights (N_y = 1)."""
    N, Nx = inst["X"].shape
    w = vo.prop1_weights(inst["W0"], inst["eta"], N)
    P_can, Q_can = vo.to_canonical(N=N, **w)
    Z0 = vo.tokens(inst["X"], inst["Y"], inst["xq"], inst["W0"])  # canonical layout; query slot -W_0 x_q
    Z1 = lsa_forward(Z0[None], [P_can], [Q_can])[0]
    return Z1, -Z1[Nx:, N]


def _exact_steps(ck: Checker) -> None:
    eta = sp.Symbol("eta", positive=True)
    N, Nx = 3, 2  # N_y = 2 (columns of Y)
    X = sp.Matrix([[1, 2], [0, -1], [3, sp.Rational(1, 2)]])
    Y = sp.Matrix([[1, -2], [2, 0], [0, 1]])
    W0 = sp.Matrix([[1, -1], [sp.Rational(1, 3), 2]])
    xq = sp.Matrix([sp.Rational(2, 3), -1])
    w = vo.prop1_weights(W0, eta, N)
    E1 = vo.lsa_layer(vo.tokens(X, Y, xq, W0), N=N, **w)
    dW = _gd_delta(X, Y, W0, eta, N)
    expected_ctx = X.T.col_join(Y.T - dW @ X.T)  # columns (x_j, y_j - Delta W x_j)
    ck.exact("exact: every context token -> (x_j, y_j - Delta W x_j) (symbolic eta, N=3, N_x=N_y=2)",
             E1[:, :N], expected_ctx)
    ck.exact("exact: query token -> (x_test, -W_0 x_test - Delta W x_test)", E1[:, N],
             xq.col_join(-W0 @ xq - dW @ xq))
    ck.exact("exact: prediction = (W_0 + Delta W) x_test, the one-GD-step prediction", vo.prediction(E1, Nx, N),
             (W0 + dW) @ xq)
    # Only P W_V and W_K^T W_Q matter: rescale P <- 2P, W_V <- W_V/2, W_K <- R W_K, W_Q <- R^{-T} W_Q.
    R = sp.Matrix([[1, 2, 0, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 0, 3, 1]])
    w2 = {"P": 2 * w["P"], "W_V": w["W_V"] / 2, "W_K": R @ w["W_K"], "W_Q": R.inv().T @ w["W_Q"]}
    ck.exact("exact: only P W_V and W_K^T W_Q matter (P->2P, W_V->W_V/2, W_K->R W_K, W_Q->R^-T W_Q)",
             vo.lsa_layer(vo.tokens(X, Y, xq, W0), N=N, **w2), E1)


def _float_steps(ck: Checker, ctx: Context) -> None:
    rng = ctx.rng()
    sizes = [(10, 1, 10)] + [(int(rng.integers(1, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 12)))
                             for _ in range(SIZES.at(ctx).random_sizes)]
    worst_tok = worst_pred = 0.0
    for Nx, Ny, N in sizes:
        inst = float_instance(rng, Nx=Nx, Ny=Ny, N=N)
        E1, pred = vonoswald_predictions(inst)
        dW = _gd_delta(inst["X"], inst["Y"], inst["W0"], inst["eta"], N)
        exp_ctx = np.vstack([inst["X"].T, inst["Y"].T - dW @ inst["X"].T])
        scale = 1 + np.abs(exp_ctx).max()
        worst_tok = max(worst_tok, float(np.abs(E1[:, :N] - exp_ctx).max() / scale))
        exp_pred = (inst["W0"] + dW) @ inst["xq"]
        worst_pred = max(worst_pred, float(np.abs(pred - exp_pred).max() / (1 + np.abs(exp_pred).max())))
    ck.close(f"float: token map on {len(sizes)} random settings (incl. the paper's N = N_x = 10, N_y = 1)",
             worst_tok, 0.0, TOKENS)
    ck.close("float: prediction = (W_0 + Delta W) x_test on the same settings", worst_pred, 0.0,
             PREDICTION)

    # The canonical parameterisation: same prediction through the canonical literal forward pass, and with
    # W_0 = 0 the same as one GD step from 0 computed by numerics.algorithms.reference.gd (eta on (1/2N)||Xw - y||^2).
    worst_can = worst_gd = 0.0
    for k in range(SIZES.at(ctx).canonical_cases):
        Nx, N = (10, 10) if k == 0 else (int(rng.integers(1, 7)), int(rng.integers(1, 12)))
        for zero in (False, True):
            inst = float_instance(rng, Nx=Nx, Ny=1, N=N, zero_W0=zero)
            _, p_vo = vonoswald_predictions(inst)
            _, p_can = canonical_predictions(inst)
            worst_can = max(worst_can, float(abs(p_vo[0] - p_can[0]) / (1 + abs(p_vo[0]))))
            if zero:
                w1 = gd(inst["X"], inst["Y"][:, 0], eta=inst["eta"], steps=1)
                worst_gd = max(worst_gd, float(abs(p_vo[0] - inst["xq"] @ w1) / (1 + abs(p_vo[0]))))
    ck.close("canonical map: literal canonical forward pass with P_can = N P W_V, Q_can = W_K^T W_Q gives "
             "the same prediction", worst_can, 0.0, ROUNDING)
    ck.close("W_0 = 0: prediction = x_test^T w_1, w_1 one GD step from 0 (numerics.algorithms.gd)", worst_gd, 0.0,
             ROUNDING)


def _at_setting(ctx: Context, user: UserSetting) -> Checker:
    """Prop. 1 is an identity for any tokens: checked on prompts drawn from the user's law (Sigma, n, prior, noise,
    covariates), with a random W_0 and eta, their literal layer against one GD step, and the canonical map."""
    ck = Checker()
    rng = ctx.rng()
    st = user.setting
    d, n = st.d, int(st.n)
    pr = sample_prompts(st, 8, rng)
    worst_tok = worst_pred = worst_can = 0.0
    for b in range(8):
        inst = {"X": pr.X[b], "Y": pr.y[b][:, None], "xq": pr.xq[b], "W0": rng.standard_normal((1, d)),
                "eta": float(rng.uniform(0.05, 2.0))}
        E1, pred = vonoswald_predictions(inst)
        dW = _gd_delta(inst["X"], inst["Y"], inst["W0"], inst["eta"], n)
        exp_ctx = np.vstack([inst["X"].T, inst["Y"].T - dW @ inst["X"].T])
        worst_tok = max(worst_tok, float(np.abs(E1[:, :n] - exp_ctx).max() / (1 + np.abs(exp_ctx).max())))
        exp_pred = (inst["W0"] + dW) @ inst["xq"]
        worst_pred = max(worst_pred, float(np.abs(pred - exp_pred).max() / (1 + np.abs(exp_pred).max())))
        _, p_can = canonical_predictions(inst)
        worst_can = max(worst_can, float(abs(pred[0] - p_can[0]) / (1 + abs(pred[0]))))
    at = f"8 prompts of your setting, d={d}, n={n}"
    ck.close(f"float: token map (y_j -> y_j - Delta W x_j) ({at})", worst_tok, 0.0, TOKENS)
    ck.close(f"float: prediction = (W_0 + Delta W) x_test ({at})", worst_pred, 0.0, PREDICTION)
    ck.close(f"canonical map P_can = N P W_V, Q_can = W_K^T W_Q gives the same prediction ({at})", worst_can, 0.0,
             ROUNDING)
    return ck


def verify(ctx: Context) -> Checker:
    ck = Checker()
    _exact_steps(ck)
    _float_steps(ck, ctx)
    return ck


CLAIM = Claim(key=KEY, title="LSA layer = one GD step (Prop. 1)", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, salt=1, parameters=("Sigma", "n", "Sigma_w", "sigma2", "law"),
              at_setting=_at_setting, fixed="an identity for any tokens: every data law is accepted")
