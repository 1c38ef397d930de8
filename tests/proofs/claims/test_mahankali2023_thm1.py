"""mahankali2023.thm1: confirmed; eta re-estimated here by Monte Carlo least squares of y_q on the one-step GD
feature h^T x_q (independent of the closed form) and compared with the printed n/(n+d+1+sigma^2)."""

import numpy as np
import sympy as sp

from iclcheck.numerics.model.forward import sample_prompts
from iclcheck.proofs.steps import S2, N
from iclcheck.proofs.verdict import Verdict
from iclcheck.theory.setting import Setting


def test_verdict_and_symbolic_step(claim_result):
    res = claim_result("mahankali2023.thm1")
    assert res.verdict is Verdict.CONFIRMED
    s = [s for s in res.steps if s.name.startswith("derived Gamma* = eta I (d=2")][0]
    assert sp.simplify(sp.Matrix(s.computed)[0, 0] - N / (N + 3 + S2)) == 0


def test_eta_by_least_squares():
    d, n, s2 = 2, 5, 0.5
    pr = sample_prompts(Setting.make(np.eye(d), n, sigma2=s2), 400_000, np.random.default_rng(3))
    f = np.einsum("bnd,bn,bd->b", pr.X, pr.y, pr.xq) / n  # (B,) h^T x_q
    eta = (f @ pr.yq) / (f @ f)
    r = pr.yq - eta * f
    se = np.sqrt(np.mean((f * r) ** 2) / len(f)) / np.mean(f * f)
    assert abs(eta - n / (n + d + 1 + s2)) < 3.5 * se
