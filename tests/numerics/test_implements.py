"""numerics.deep.implements: the spectral algorithm predictions against the literal layer maps and against
numerics.algorithms.reference on explicit prompts (independent routes), the family fits and readings of models built from
(8) / (11) coefficients, and the PyTorch layout."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from iclcheck.numerics.algorithms import reference as algorithms
from iclcheck.numerics.deep.implements import _family_path, _Prompts, _Spectral, family_fit, implements
from iclcheck.numerics.families.gdpp import family_params
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.numerics.random_matrices import random_spd
from iclcheck.numerics.weights import load_weights
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def _explicit(st: Setting, B: int, seed: int):
    pr = sample_prompts(st, B, np.random.default_rng(seed))
    n = int(st.n)
    Z = pr.Z0
    G0 = Z[:, :, :n] @ Z[:, :, :n].transpose(0, 2, 1) / n
    return pr, _Prompts(G0, pr.xq, pr.w, n)


def test_spectral_predictions_are_the_layer_maps_and_the_reference_algorithms():
    st = Setting.make(random_spd(3, 3.0, np.random.default_rng(0)), 12, Sigma_w="inv", sigma2=0.2)
    pr, P = _explicit(st, 40, 1)
    Shi = np.linalg.inv(sqrtm_psd(st.Sigma))
    plain, white = _Spectral.of(P, np.eye(3)), _Spectral.of(P, Shi)
    Si = np.linalg.inv(st.Sigma)
    for k, (a, b) in itertools.product((1, 2, 5), ((0.4, 0.0), (0.6, 0.3), (0.8, -0.2))):
        np.testing.assert_allclose(white.gdpp(a, b, k), _family_path(st.Sigma, a, b, P, k)[-1], rtol=1e-9,
                                   atol=1e-9)
        np.testing.assert_allclose(plain.gdpp(a, b, k), _family_path(np.eye(3), a, b, P, k)[-1], rtol=1e-9,
                                   atol=1e-9)
        if b == 0.0:  # preconditioned GD and GD from 0, k steps, by numerics.algorithms.reference on the explicit prompts
            wk = algorithms.preconditioned_gd(pr.X, pr.y, Gamma=a * Si, steps=k)
            np.testing.assert_allclose(white.gdpp(a, 0.0, k), np.einsum("bd,bd->b", pr.xq, wk), rtol=1e-9,
                                       atol=1e-9)
            wk = algorithms.gd(pr.X, pr.y, eta=a / 3, steps=k)
            np.testing.assert_allclose(plain.gdpp(a / 3, 0.0, k), np.einsum("bd,bd->b", pr.xq, wk), rtol=1e-9,
                                       atol=1e-9)
    W = algorithms.newton_w(pr.X, pr.y, steps=6, alpha="code")  # (7, B, d): M_0..M_6
    np.testing.assert_allclose(plain.newton(6), np.einsum("kbd,bd->kb", W[1:], pr.xq), rtol=1e-8, atol=1e-10)


def test_a_gd_model_is_read_as_condition_8_with_its_coefficients_in_any_order():
    st = Setting.make(np.diag([1.0, 2.0, 3.0]), 20, Sigma_w="inv")
    a = [0.9, 0.4, 1.5]
    Ps, Qs = (np.array(x) for x in family_params(st.Sigma, a))
    g = np.array([2.0, -0.5, 1.0])[:, None, None]  # (P, Q) -> (g P, Q / g): the same layers
    r = implements(st, Ps * g, Qs / g, prompts=4000, max_steps=4, seed=1)
    assert r.family == "8" and r.family_residual["8"] < 1e-20
    np.testing.assert_allclose(sorted(r.a), sorted(a), rtol=1e-12)
    assert r.exact_reading.startswith("exact: layer l computes l steps of preconditioned GD")
    assert r.best[0].algorithm == "pgd" and r.best[0].k == 1 and r.best[0].error.ci[1] < 1e-20
    assert r.best[0].params["a"] == pytest.approx(0.9, rel=1e-5)


def test_a_gdpp_model_is_recognised_as_gdpp():
    st = Setting.make(np.diag([1.0, 2.0, 3.0]), 20, Sigma_w="inv")
    a, b = [0.36004297, 2.15695049, 7.71534795], [0.85889972, 0.51329098, 0.0]  # the (11) optimum at L = 3
    Ps, Qs = (np.array(x) for x in family_params(st.Sigma, a, b))
    r = implements(st, Ps, Qs, prompts=20_000, max_steps=6, seed=2)
    assert r.family == "11" and r.family_residual["8"] > 1.0 and r.family_residual["11"] < 1e-20
    np.testing.assert_allclose(r.a, a, rtol=1e-9)
    np.testing.assert_allclose(r.b[:2], b[:2], rtol=1e-9)
    assert "GD++" in r.exact_reading
    assert [m.algorithm for m in r.best[1:]] == ["gdpp", "gdpp"]
    for m in r.best[1:]:  # GD++ is below every other algorithm by a factor > 10 (the others' errors are partly
        others = [x for x in r.matches if x.layer == m.layer and x.algorithm != "gdpp"]  # heavy-tailed here)
        assert all(m.error.ci[1] < 0.1 * x.error.mean for x in others)
        assert all(m.error.ci[1] < x.error.ci[0] for x in others if x.error.estimable)


def test_whitened_fit_is_invariant_under_a_change_of_covariance():
    rng = np.random.default_rng(3)
    S = random_spd(3, 4.0, rng)
    st = Setting.make(S, 15, Sigma_w="inv")
    a, b = [0.5, 0.8], [0.3, 0.0]
    Ps, Qs = (np.array(x) for x in family_params(S, a, b))
    fit = family_fit(st, Ps, Qs)
    np.testing.assert_allclose(fit[0], a, rtol=1e-10)
    np.testing.assert_allclose(fit[1], b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit[2], Ps, atol=1e-12)
    np.testing.assert_allclose(fit[3], Qs, atol=1e-12)


def test_pytorch_layout_is_read_with_its_readout(tmp_path):
    st = Setting.make(np.diag([1.0, 2.0]), 20, Sigma_w="inv")
    Ps, Qs = (np.array(x) for x in family_params(st.Sigma, [-0.5, 0.3]))
    arrays = {}
    for l in range(2):  # P = W_V, Q = W_K^T W_Q with W_K = I
        arrays[f"layers.{l}.k_proj.weight"] = np.eye(3)
        arrays[f"layers.{l}.q_proj.weight"] = Qs[l]
        arrays[f"layers.{l}.v_proj.weight"] = -Ps[l]
    from safetensors.numpy import save_file

    f = tmp_path / "pt.safetensors"
    save_file(arrays, str(f))
    w = load_weights(f, convention="pytorch", n=20, d=2)
    assert w.readout_sign == 1
    r = implements(st, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, prompts=2000, max_steps=3)
    assert r.family == "8" and r.a == pytest.approx([0.5, -0.3], rel=1e-12)  # read at c = -1: a -> -a
    assert r.exact_reading == ""  # readout +[Z]: not the canonical GD reading
    assert len(r.best) == 2


@pytest.mark.parametrize("kw, what", [({"prompts": 10}, "prompts"), ({"max_steps": 0}, "max_steps"),
                                      ({"algorithms": ("adam",)}, "algorithms"), ({"readout_sign": 2},
                                                                                  "readout_sign")])
def test_bad_options_are_input_errors(kw, what):
    st = Setting.make(np.eye(2), 5)
    with pytest.raises(InputError) as e:
        implements(st, np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), **kw)
    assert e.value.what == what


@pytest.mark.parametrize("convention", ["canonical", "ahn", "vonoswald", "zhang", "pytorch"])
def test_every_convention_is_read(convention):
    n = 20
    st = Setting.make(np.diag([1.0, 2.0]), n, Sigma_w="inv")
    a = [0.4, 0.7]
    Ps, Qs = (np.array(x) for x in family_params(st.Sigma, a))
    I = np.stack([np.eye(3)] * 2)
    arrays = {"canonical": {"P": Ps, "Q": Qs}, "ahn": {"P": Ps, "Q": Qs},
              "vonoswald": {"P": Ps / n, "W_K": I, "W_Q": Qs, "W_V": I},  # P_can = N P W_V, Q = W_K^T W_Q
              "zhang": {"W_PV": Ps, "W_KQ": -Qs},  # P = W^PV, Q = -W^KQ (unmasked, readout +)
              "pytorch": {"W_K": I, "W_Q": Qs, "W_V": Ps}}[convention]
    w = load_weights(arrays, convention=convention, n=n, d=2)
    r = implements(st, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, prompts=2000, max_steps=3)
    np.testing.assert_allclose(r.a, a, rtol=1e-12)
    assert len(r.best) == 2 and r.L == 2
    assert (r.exact_reading != "") == w.canonical
