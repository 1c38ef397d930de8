"""vonoswald2023.prop1: confirmed (also for another seed); the check is able to fail (negative controls)."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.proofs.claims.vonoswald2023_prop1 import float_instance, vonoswald_predictions
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.notation import vonoswald as vo


def test_quick_profile_confirms(claim_result):
    r = claim_result("vonoswald2023.prop1")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.status, s.detail) for s in r.steps]
    assert any(s.exact for s in r.steps)


def test_other_seed_confirms(claim_result):
    assert claim_result("vonoswald2023.prop1", seed=7).verdict is Verdict.CONFIRMED


def test_prediction_is_one_gd_step_by_hand():
    # N = 2, N_x = N_y = 1, W_0 = 0: Delta W = (eta/N) sum y_i x_i = (1/2)(1*2 + 3*1) * eta
    inst = {"X": np.array([[2.0], [1.0]]), "Y": np.array([[1.0], [3.0]]), "xq": np.array([4.0]),
            "W0": np.zeros((1, 1)), "eta": 0.5}
    _, pred = vonoswald_predictions(inst)
    assert np.isclose(pred[0], 0.5 * 0.5 * (2 + 3) * 4)


def test_missing_one_over_N_is_detected():
    # Negative control: P = eta I (no 1/N) does not give the GD step for N > 1.
    inst = float_instance(np.random.default_rng(3), Nx=3, Ny=1, N=5, zero_W0=True)
    w = vo.prop1_weights(inst["W0"], inst["eta"], 5)
    w["P"] = w["P"] * 5
    E1 = vo.lsa_layer(vo.tokens(inst["X"], inst["Y"], inst["xq"], inst["W0"]), N=5, **w)
    _, good = vonoswald_predictions(inst)
    assert not np.isclose(vo.prediction(E1, 3, 5)[0], good[0])


@given(seed=st.integers(0, 2**32 - 1), Nx=st.integers(1, 6), Ny=st.integers(1, 3), N=st.integers(1, 12))
@example(seed=0, Nx=10, Ny=1, N=10)
def test_token_map_for_random_settings(seed, Nx, Ny, N):
    inst = float_instance(np.random.default_rng(seed), Nx=Nx, Ny=Ny, N=N)
    E1, pred = vonoswald_predictions(inst)
    X, Y, W0, eta = inst["X"], inst["Y"], inst["W0"], inst["eta"]
    dW = sum(-(eta / N) * np.outer(W0 @ X[i] - Y[i], X[i]) for i in range(N))  # written as a loop over examples
    np.testing.assert_allclose(E1[Nx:, :N], Y.T - dW @ X.T, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pred, (W0 + dW) @ inst["xq"], rtol=1e-10, atol=1e-10)
