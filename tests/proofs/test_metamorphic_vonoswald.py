"""Metamorphic: Prop. 1 re-expressed in the canonical (Ahn et al.) parameterisation gives the same
predictions and the same verdict; the canonical rescaling P -> g P, Q -> Q / g changes nothing."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.algorithms.reference import one_step_predict
from iclcheck.numerics.model.forward import lsa_forward
from iclcheck.proofs.claims.vonoswald2023_prop1 import (
    canonical_predictions,
    float_instance,
    vonoswald_predictions,
)
from iclcheck.proofs.verdict import Checker
from iclcheck.theory.notation import vonoswald as vo

TOL = 1e-9  # double-precision rounding only


def _verdict(forward, seed: int) -> tuple[str, list[float]]:
    """Check 'prediction = one GD step from W_0' with the given parameterisation; return verdict, predictions."""
    rng = np.random.default_rng(seed)
    ck, preds = Checker(), []
    for _ in range(3):
        inst = float_instance(rng, Nx=int(rng.integers(1, 6)), Ny=1, N=int(rng.integers(1, 9)))
        _, p = forward(inst)
        N = inst["X"].shape[0]
        dW = -(inst["eta"] / N) * ((inst["X"] @ inst["W0"].T - inst["Y"]).T @ inst["X"])
        ck.close("prediction", p[0], ((inst["W0"] + dW) @ inst["xq"])[0], atol=TOL, rtol=TOL, reason="rounding")
        preds.append(float(p[0]))
    return ck.result("k", "s", "t").verdict, preds


@given(seed=st.integers(0, 2**32 - 1))
@example(seed=0)
def test_same_verdict_and_predictions_in_both_parameterisations(seed):
    v1, p1 = _verdict(vonoswald_predictions, seed)
    v2, p2 = _verdict(canonical_predictions, seed)
    assert v1 == v2 == "confirmed"
    np.testing.assert_allclose(p1, p2, rtol=TOL, atol=TOL)


@given(seed=st.integers(0, 2**32 - 1), g=st.floats(0.1, 10.0))
def test_canonical_rescaling_and_gamma_form(seed, g):
    rng = np.random.default_rng(seed)
    inst = float_instance(rng, Nx=4, Ny=1, N=6, zero_W0=True)
    w = vo.prop1_weights(inst["W0"], inst["eta"], 6)
    P, Q = vo.to_canonical(N=6, **w)
    Z0 = vo.tokens(inst["X"], inst["Y"], inst["xq"], inst["W0"])[None]
    base = -lsa_forward(Z0, [P], [Q])[0, -1, -1]
    scaled = -lsa_forward(Z0, [g * P], [Q / g])[0, -1, -1]
    np.testing.assert_allclose(scaled, base, rtol=TOL, atol=TOL)
    # Ahn's reduced form: Gamma = eta I, prediction x_q^T Gamma (1/n) sum y_i x_i
    gamma_form = one_step_predict(inst["X"], inst["Y"][:, 0], inst["xq"], Gamma=inst["eta"] * np.eye(4))
    np.testing.assert_allclose(base, gamma_form, rtol=TOL, atol=TOL)
