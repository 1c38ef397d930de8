"""cheng2024.fig1_matching_kernel: confirmed at seed 0 and never refuted at others; the label-exact risk of one grid
cell against a Monte Carlo over GP labels through numerics.attention.kernel_attention.functional_gd."""

import numpy as np
import pytest

from iclcheck.numerics.attention.kernel_attention import functional_gd
from iclcheck.numerics.attention.kernels import kernel_matrix, psd_part, sample_gp_labels, sphere_covariates
from iclcheck.proofs.claims import cheng2024_fig1_matching_kernel as m
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("cheng2024.fig1_matching_kernel")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


@pytest.mark.parametrize("seed", [1, 2])
def test_other_seeds_do_not_refute(claim_result, seed):
    assert claim_result("cheng2024.fig1_matching_kernel", seed=seed).verdict is not Verdict.REFUTED


def test_one_cell_by_label_monte_carlo():
    rng = np.random.default_rng(0)
    X = sphere_covariates(rng, 1, m.N + 1, m.D)
    R = m.risk_grid(X)  # (1, 27) per cell
    # cell (data relu, attention exp), b^2 = 1 (index 1), tau = TAUS[4]: columns ordered b2-major
    j = 1 * len(m.TAUS) + 4
    Kh = kernel_matrix("exp", X, scale=1 / m.D)
    lm = float(np.linalg.eigvalsh(Kh[:, :m.N, :m.N])[:, -1][0])
    eta = m.TAUS[4] * m.N / lm
    B = 200_000
    assert sample_gp_labels(kernel_matrix("relu", X)[0], rng).shape == (m.N + 1,)
    C = np.linalg.cholesky(psd_part(kernel_matrix("relu", X)[0]) + 1e-12 * np.eye(m.N + 1))
    Y = rng.standard_normal((B, m.N + 1)) @ C.T  # (B, n+1) ~ N(0, K_+), one factorisation
    Xb = np.broadcast_to(X[0, :m.N], (B, m.N, m.D))
    f = functional_gd("exp", Xb, Y[:, :m.N], np.broadcast_to(X[0, m.N], (B, m.D)), [eta] * m.L,
                      b=np.sqrt(1 / m.D))
    e = (f - Y[:, m.N]) ** 2
    assert abs(e.mean() - R["relu", "exp"][0, j]) < 3.29 * e.std(ddof=1) / np.sqrt(B)
