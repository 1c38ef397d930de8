"""hwl2025.gf_two_stage: the exact teacher-forced coefficients against chi-square moments at d = 1 (an independent
closed form), and a stochastic-gradient run of the literal teacher-forced loss (sampled prompts, numerics.dynamics.cot's layer,
gradients by central differences in the three ansatz weights) reaching the GD step."""

from fractions import Fraction
from math import comb, prod

import numpy as np

from iclcheck.numerics.dynamics.cot import (
    blocks,
    layer_output,
    teacher_forced_coefficients,
    teacher_forced_inputs,
)
from iclcheck.proofs.verdict import Verdict


def test_verdict(claim_result):
    res = claim_result("hwl2025.gf_two_stage")
    assert res.verdict is Verdict.CONFIRMED


def test_d1_coefficients_by_chi_square_moments():
    n, k, eta = 7, 3, Fraction(7, 9)
    mom = [Fraction(prod(n + 2 * i for i in range(j)), n**j) for j in range(2 * k + 3)]  # E S^j, S = chi2_n / n

    def E(poly):  # E sum_j c_j S^j
        return sum(c * mom[j] for j, c in enumerate(poly))

    def mul(p, q):
        out = [Fraction(0)] * (len(p) + len(q) - 1)
        for i, a in enumerate(p):
            for j, b in enumerate(q):
                out[i + j] += a * b
        return out

    A = B = Fraction(0)
    for i in range(k):
        r = [Fraction(0)] + [-comb(i, j) * (-eta) ** j for j in range(1, i + 1)]  # 1 - (1 - eta S)^i
        s2 = [Fraction(0), Fraction(0), Fraction(1)]
        A += E(mul(s2, mul(r, r)))
        B += E(mul(s2, r))
    assert teacher_forced_coefficients(k, n, 1, eta) == (A, B, k * mom[2])


def test_sgd_on_the_literal_teacher_forced_loss_finds_the_gd_step():
    rng = np.random.default_rng(0)
    d, n, k, eta = 3, 12, 3, 12 / 16
    b = blocks(d)
    D = 2 * d + 2

    def loss(th, X, y, ws):
        v, om, q = th
        P, Q = np.zeros((D, D)), np.zeros((D, D))
        P[b["w"], b["x"]] = -v * np.eye(d)
        Q[b["x"], b["w"]] = om * np.eye(d)
        Q[b["y"], b["f"]] = q
        return sum(np.mean(np.sum((layer_output(Z, P, Q, n)[:, b["w"]] - ws[:, i + 1]) ** 2, axis=1))
                   for i, Z in enumerate(teacher_forced_inputs(X, y, ws)))

    th = np.array([0.3, 0.3, 0.0])
    for _ in range(400):
        X = rng.standard_normal((256, n, d))
        y = np.einsum("mnd,md->mn", X, rng.standard_normal((256, d)))
        S = np.einsum("bni,bnj->bij", X, X) / n
        h = np.einsum("bni,bn->bi", X, y) / n
        ws = [np.zeros((256, d))]
        for _ in range(k):
            ws.append(ws[-1] - eta * (np.einsum("bij,bj->bi", S, ws[-1]) - h))
        ws = np.stack(ws, axis=1)
        g = np.array([(loss(th + e, X, y, ws) - loss(th - e, X, y, ws)) / 2e-5 for e in np.eye(3) * 1e-5])
        th -= 0.02 * g
    v, om, q = th
    assert abs(v * om - eta) < 0.02 and abs(v * q + eta) < 0.02
