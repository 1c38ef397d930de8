"""[Collins, Parulekar, Mokhtari, Sanghavi, Shakkottai 2024, abstract] softmax attention adapts its window
to the function class's Lipschitzness, the noise and the context length (arXiv 2402.11639).

Setting: x uniform on S^{d-1} (d = 2), f(x) = Lip |w^T x| with w uniform on the sphere (Lip-Lipschitz), y = f(x) + N(0,
sigma^2), one softmax head with KQ = omega I: yhat = sum_i softmax_i(omega x_i^T x_q) y_i, a Nadaraya-Watson estimator
with window ~ 1/omega. The check (no text needed for the direction): the pretraining-optimal omega, found by
Monte Carlo over a geometric grid with common random numbers across omega, moves as stated -- up with n, down with
sigma, up with Lip. Each optimum is reported as the set of grid values whose risk is not significantly above the
grid minimum (99.9% paired interval), widened to its grid neighbours: a bracket of the minimiser if the risk is
unimodal in omega; a direction is decided when the two brackets are ordered and share at most an end point. The
paper's rates (exponents) are not read and not checked.
"""

from __future__ import annotations

import numpy as np

from iclcheck.numerics.attention.kernel_attention import head_outputs
from iclcheck.numerics.model.crn import Bracket, bracket_optimum
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker

KEY = "collins2024.window_scaling"
SOURCE = ("[Collins, Parulekar, Mokhtari, Sanghavi, Shakkottai 2024, abstract and introduction; theorem sections not read] arXiv 2402.11639")
STATEMENT = ("Softmax attention adapts to function Lipschitzness: the pretraining-optimal attention window shrinks "
             "as the Lipschitz constant and the context length grow and widens with the label noise.")
NOTATION = (
    "Their M = w_KQ I in softmax(x_i^T M x_q) is the canonical softmax head Q = [[omega I, 0], [0, 0]], P = -e e^T "
    "(read-out -[Z]); omega = w_KQ, window ~ 1/omega. Covariates on the unit sphere, f(x) = Lip |w^T x| (a Lipschitz, "
    "non-linear class of our choosing), query label noiseless."
)
GRID = np.geomspace(0.5, 64.0, 15)


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(B=2_000), thorough=dict(B=10_000))


def near_optimal(rng: np.random.Generator, B: int, n: int, sigma: float, lip: float, d: int = 2) -> Bracket:
    """The bracket of the optimal omega (numerics.model.crn.bracket_optimum) from B fresh prompts shared by the grid."""
    x = rng.standard_normal((B, n + 1, d))
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    w = rng.standard_normal((B, d))
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    f = lip * np.abs(np.einsum("bnd,bd->bn", x, w))
    y = f[:, :n] + sigma * rng.standard_normal((B, n))
    E = (head_outputs(x[:, :n], y, x[:, n], GRID) - f[:, n][:, None]) ** 2  # (B, grid) common random numbers
    return bracket_optimum(E, GRID)


def verify(ctx: Context) -> tuple[Checker, str]:
    chk = Checker()
    rng = ctx.rng()
    B = SIZES.at(ctx).B
    base = near_optimal(rng, B, 32, 0.5, 1.0)
    cases = [("n = 32 -> 256 (omega* up)", near_optimal(rng, B, 256, 0.5, 1.0), True),
             ("sigma = 0.5 -> 2 (omega* down)", near_optimal(rng, B, 32, 2.0, 1.0), False),
             ("Lip = 1 -> 8 (omega* up)", near_optimal(rng, B, 32, 0.5, 8.0), True)]
    for what, iv, up in cases:
        ok = (base.hi <= iv.lo and not base.open_hi) if up else (iv.hi <= base.lo and not base.open_lo)
        chk.decided(f"{what}: the brackets of the optimal omega are ordered and do not overlap", ok,
                    f"base (n = 32, sigma = 0.5, Lip = 1) {base.describe()}; moved {iv.describe()} ({B} prompts per "
                    "setting, 99.9% "
                    "paired intervals over a geometric grid of 15 values in [0.5, 64])")
    return chk, "Directions confirmed by Monte Carlo; the paper's exponents were not read, so no rate is checked."


CLAIM = Claim(key=KEY, title="softmax window adapts to Lipschitzness", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, provenance="READ+3P",
              locator="abstract and introduction (ar5iv 2402.11639)",
              fixed="its statement is how softmax's optimal window moves with n, noise and Lipschitz "
                    "constant (a non-linear class, d = 2)")
