"""numerics.weights: file formats (never unpickled), names, shapes, and each convention's map checked against that
paper's own literal forward pass (theory.notation.*) or a hand-written PyTorch-layout layer."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from iclcheck.numerics.deep.model_loss import model_loss
from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.numerics.model.lsa import LSA, forward
from iclcheck.numerics.model.montecarlo import estimate_from_values
from iclcheck.numerics.weights import CONVENTIONS, load_weights, read_arrays, save_weights, to_canonical
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

RTOL = 1e-10  # the same products in another order: rounding only


def _pred(w, Z0):
    ZL = forward(LSA(L=w.L, mask=w.mask), Z0, w.Ps, w.Qs)
    return w.readout_sign * ZL[:, -1, -1]


def _prompts(d=2, n=5, B=64, seed=0):
    st = Setting.make(np.diag(np.arange(1.0, d + 1)), n)
    return st, sample_prompts(st, B, np.random.default_rng(seed))


def torch_layout_prediction(Z, WKs, WQs, WVs):
    """The PyTorch layout written out: Z <- Z + W_V Z M (Z^T W_K^T W_Q Z) / n, prediction +[Z_L]_{d+1,n+1}."""
    n = Z.shape[2] - 1
    for WK, WQ, WV in zip(WKs, WQs, WVs, strict=True):
        K, Qm, V = WK @ Z, WQ @ Z, WV @ Z  # (B, D, n+1) keys, queries, values
        V = V.copy()
        K = K.copy()
        V[:, :, n] = 0.0  # the query is not a key / value
        K[:, :, n] = 0.0
        Z = Z + V @ (K.transpose(0, 2, 1) @ Qm) / n
    return Z[:, -1, -1]


@pytest.mark.parametrize("L", [1, 2])
def test_pytorch_map_reproduces_the_pytorch_layout(L):
    st, pr = _prompts()
    rng = np.random.default_rng(1)
    WK, WQ, WV = (rng.normal(size=(L, 3, 3)) * 0.5 for _ in range(3))
    w = to_canonical({"W_K": WK, "W_Q": WQ, "W_V": WV}, "pytorch", n=5)
    np.testing.assert_allclose(_pred(w, pr.Z0), torch_layout_prediction(pr.Z0, WK, WQ, WV), rtol=RTOL, atol=1e-12)
    assert w.canonical == (L == 1)  # one layer folds the sign into P; two layers keep readout +1


def test_vonoswald_map_reproduces_their_layer():
    from iclcheck.theory.notation.vonoswald import lsa_layer, prediction

    st, pr = _prompts()
    rng = np.random.default_rng(2)
    arrs = {k: rng.normal(size=(2, 3, 3)) * 0.3 for k in ("P", "W_K", "W_Q", "W_V")}
    w = to_canonical(arrs, "vonoswald", n=5)
    theirs = []
    for E in pr.Z0:
        for l in range(2):
            E = lsa_layer(E, P=arrs["P"][l], W_K=arrs["W_K"][l], W_Q=arrs["W_Q"][l], W_V=arrs["W_V"][l], N=5)
        theirs.append(prediction(E, 2, 5)[0])
    np.testing.assert_allclose(_pred(w, pr.Z0), theirs, rtol=RTOL, atol=1e-12)


def test_zhang_map_reproduces_their_unmasked_model_and_folds_the_mask_when_it_can():
    from iclcheck.theory.notation.zhang import zhang_forward

    st, pr = _prompts()
    rng = np.random.default_rng(3)
    PV, KQ = rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(3, 3)) * 0.4
    w = to_canonical({"W_PV": PV, "W_KQ": KQ}, "zhang", n=5)
    assert not w.mask
    np.testing.assert_allclose(_pred(w, pr.Z0), zhang_forward(pr.Z0, PV, KQ), rtol=RTOL, atol=1e-12)
    PV[2, :2] = 0.0  # their solution's form: the query term vanishes, the canonical masked model is exact
    w = to_canonical({"W_PV": PV, "W_KQ": KQ}, "zhang", n=5)
    assert w.canonical
    np.testing.assert_allclose(_pred(w, pr.Z0), zhang_forward(pr.Z0, PV, KQ), rtol=RTOL, atol=1e-12)


def test_canonical_and_ahn_are_the_identity_and_layer_names_are_understood():
    rng = np.random.default_rng(4)
    P, Q = rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3, 3))
    per = {"P0": P[0], "Q0": Q[0], "P1": P[1], "Q1": Q[1]}
    dotted = {"layers.0.P": P[0], "layers.0.Q": Q[0], "layers.1.P.weight": P[1], "layers.1.Q.weight": Q[1]}
    for arrays in ({"P": P, "Q": Q}, per, dotted):
        for conv in ("canonical", "ahn"):
            w = to_canonical(arrays, conv, n=3)
            np.testing.assert_array_equal(w.Ps, P)
            np.testing.assert_array_equal(w.Qs, Q)
    torchy = {"blocks.0.k_proj.weight": P[0], "blocks.0.q_proj.weight": Q[0], "blocks.0.v_proj.weight": P[1]}
    w = to_canonical(torchy, "pytorch", n=3)
    np.testing.assert_allclose(w.Qs[0], P[0].T @ Q[0])
    np.testing.assert_array_equal(w.Ps[0], -P[1])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_and_load_round_trip_with_metadata(tmp_path, suffix):
    rng = np.random.default_rng(5)
    P, Q = rng.normal(size=(3, 4, 4)), rng.normal(size=(3, 4, 4))
    f = tmp_path / f"w{suffix}"
    save_weights(f, P, Q, metadata={"family": "gd", "n": 10})
    w = load_weights(f, n=10, d=3)
    np.testing.assert_array_equal(w.Ps, P)
    np.testing.assert_array_equal(w.Qs, Q)
    assert w.metadata["family"] == "gd" and w.metadata["convention"] == "canonical"


def _msg(tmp_path, name, data=None, arrays=None, **kw):
    f = tmp_path / name
    if arrays is not None:
        np.savez(f, **arrays)
        f = tmp_path / (name if name.endswith(".npz") else name + ".npz")
    else:
        f.write_bytes(data)
    with pytest.raises(InputError) as e:
        load_weights(f, n=5, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_unreadable_pickled_and_wrong_files_are_one_line_input_errors(tmp_path):
    assert "pickle" in _msg(tmp_path, "a.npz", arrays={"P": np.array([object()], dtype=object), "Q": np.eye(3)})
    assert "pickle" in _msg(tmp_path, "b.pt", data=pickle.dumps({"P": [1.0]}))
    np.save(tmp_path / "c.npy", np.eye(3))
    assert ".npy" in _msg(tmp_path, "c2.npz", data=(tmp_path / "c.npy").read_bytes())
    assert "neither" in _msg(tmp_path, "d.safetensors", data=b"hello world, not weights")
    assert "damaged" in _msg(tmp_path, "e.npz", data=b"PK\x03\x04garbage")
    assert "no array Q" in _msg(tmp_path, "f.npz", arrays={"P": np.eye(3)})
    assert "not part of" in _msg(tmp_path, "g.npz", arrays={"P": np.eye(3), "Q": np.eye(3), "ln": np.eye(3)})
    assert "numbered 0..L-1" in _msg(tmp_path, "h.npz", arrays={"P0": np.eye(3), "Q0": np.eye(3), "P2": np.eye(3),
                                                                "Q2": np.eye(3)})
    assert "shape" in _msg(tmp_path, "i.npz", arrays={"P": np.eye(3), "Q": np.eye(4)})
    assert "d = 2" in _msg(tmp_path, "j.npz", arrays={"P": np.eye(3), "Q": np.eye(3)}, d=4)
    assert "non-finite" in _msg(tmp_path, "k.npz", arrays={"P": np.full((3, 3), np.inf), "Q": np.eye(3)})
    with pytest.raises(InputError, match="not a regular file"):
        load_weights(tmp_path, n=5)  # a directory
    with pytest.raises(InputError):
        to_canonical({"P": np.eye(3), "Q": np.eye(3)}, "keras", n=5)


def test_torch_state_dict_is_read_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    sd = {f"layers.{l}.{k}.weight": torch.tensor(rng.normal(size=(3, 3))) for l in range(2)
          for k in ("k_proj", "q_proj", "v_proj")}
    f = tmp_path / "m.pt"
    torch.save(sd, f)
    arrays, _ = read_arrays(f)
    assert set(arrays) == set(sd)
    w = load_weights(f, convention="pytorch", n=5)
    assert w.L == 2 and w.readout_sign == 1


def test_every_convention_is_offered_by_the_cli():
    from iclcheck.cli.commands.check_weights import CONVENTION_NAMES

    assert set(CONVENTION_NAMES) == set(CONVENTIONS)


def test_two_layer_pytorch_loss_is_exact_and_inside_the_monte_carlo_of_their_model():
    st = Setting.make(np.diag([1.0, 0.5]), 6)
    rng = np.random.default_rng(7)
    WK, WQ, WV = (rng.normal(size=(2, 3, 3)) * 0.3 for _ in range(3))
    w = to_canonical({"W_K": WK, "W_Q": WQ, "W_V": WV}, "pytorch", n=6)
    ml = model_loss(st, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, samples=60_000, seed=1)
    assert ml.exact and ml.method.startswith("L = 2, general P_l, Q_l: exact") and "readout +[Z]" in ml.method
    pr = sample_prompts(st, 60_000, np.random.default_rng(2))
    est = estimate_from_values((torch_layout_prediction(pr.Z0, WK, WQ, WV) - pr.yq) ** 2, nonnegative=True)
    assert est.estimable and est.contains(ml.value), (ml.value, est.describe())
    lit = model_loss(st, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, samples=60_000, seed=1, exact_only=True)
    assert lit is not None and lit.value == ml.value


def test_flip_screen_draws_the_full_sample_only_for_a_variant_that_may_be_much_lower():
    """A 3-layer model (the condition-(8) optimum, perturbed: no exact route at L = 3) stored with P and Q swapped:
    read as it is, the last rows of P are 0 so the prediction is 0 and the loss is E y^2 = tr(Sigma Sigma_w) = d = 2
    (a check of the Monte Carlo); every variant but the swap keeps that loss and stops at the screen, the swap (the
    model itself) gets FLIP_SAMPLES prompts and is named."""
    from iclcheck.numerics.families.gd import optimal_gd
    from iclcheck.numerics.families.gdpp import family_params
    from iclcheck.numerics.weights.check import FLIP_SAMPLES, SCREEN_SAMPLES, check_loaded_weights

    st = Setting.make(np.eye(2), 6, Sigma_w=np.eye(2))
    Ps, Qs = (np.array(x) for x in family_params(np.eye(2), optimal_gd(st, 3).coefficients))
    Ps = Ps + 0.02 * np.random.default_rng(2).standard_normal(Ps.shape)
    w = to_canonical({"P": Qs, "Q": Ps}, "canonical", n=6)
    res = check_loaded_weights(st, w, samples=50_000)
    lo, hi = res.loss.interval
    assert not res.loss.exact and lo <= 2.0 <= hi
    flips = dict(res.flips)
    swap = flips.pop("P and Q swapped")
    assert swap.estimate.n_samples == FLIP_SAMPLES and swap.interval[1] < 0.5 * lo
    direct = model_loss(st, Ps, Qs, samples=50_000, seed=9)  # the swap is the perturbed model itself
    assert abs(swap.value - direct.value) <= 4 * np.hypot(swap.estimate.stderr, direct.estimate.stderr)
    assert flips and all(fl.exact or fl.estimate.n_samples == SCREEN_SAMPLES for fl in flips.values())
    assert len(res.warnings) == 1 and res.warnings[0].startswith("P and Q swapped gives a much lower loss")


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_layout_variants_undo_a_transposed_or_swapped_file(convention):
    """Metamorphic: arrays written transposed (or with the convention's two arrays swapped) and re-read through
    layout_variants give the model of the arrays as they should have been written, in every convention."""
    from iclcheck.numerics.weights import _SWAPS, layout_variants

    rng = np.random.default_rng(11)
    arrs = {r: rng.normal(size=(2, 3, 3)) for r in CONVENTIONS[convention][0]}
    right = to_canonical(arrs, convention, n=5)
    a, b = _SWAPS[convention]
    for name, stored in [("arrays transposed", {r: np.swapaxes(A, 1, 2) for r, A in arrs.items()}),
                         (f"{a} and {b} swapped", {**arrs, a: arrs[b], b: arrs[a]})]:
        wrong = to_canonical(stored, convention, n=5)
        back = dict(layout_variants(wrong))[name]
        np.testing.assert_allclose(back.Ps, right.Ps, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(back.Qs, right.Qs, rtol=1e-13, atol=1e-13)
        assert (back.readout_sign, back.mask) == (right.readout_sign, right.mask)
        assert not np.allclose(wrong.Qs, right.Qs)  # the mistake changes the model
