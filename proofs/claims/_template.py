"""[Ahn et al. 2023, eq. (7)] (TEMPLATE) Sigma = I, w ~ N(0, I): the one-layer optimum is n/(n+d+1) I.

Copy to proofs/claims/<paper><year>_<claim>.py (key '<paper><year>.<claim>'); the docstring: its steps.
Its test tests/proofs/claims/test_<module>.py keeps only independent routes (test_registry runs every claim).
Random instances: sizes named per profile in SIZES (constants; never `if ctx.thorough else` at a call site),
streams ctx.rng() and, declared by name in Claim.streams, ctx.stream(name). Modules _* are not registered.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.one_layer import gamma_star_exact
from iclcheck.theory.setting import Setting

N = sp.Symbol("n", positive=True, integer=True)
ULPS = Tolerance(rtol=1e-12, atol=1e-15, reason="Cholesky inverse of a multiple of I: a few ulps")  # named
SIZES = Profiles(quick=dict(random_cases=2), thorough=dict(random_cases=8))


def verify(ctx: Context) -> Checker:  # a refutation returns (chk, finding): the corrected statement, checked
    chk = Checker()
    rng = ctx.rng()  # salted by the claim (Claim.salt; default CRC32 of the key); more streams: Claim.streams
    chk.exact("derived Gamma* = n/(n+2) for d = 1 (symbolic n)", gamma_star_exact(Setting.make(sp.eye(1), N)),
              sp.Matrix([N / (N + 2)]))
    for _ in range(SIZES.at(ctx).random_cases):  # random cases from the claim's stream only
        d, n = int(rng.integers(1, 6)), int(rng.integers(1, 50))
        chk.close(f"float Gamma* = n/(n+d+1) I (d={d}, n={n})", OneLayer(Setting.make(np.eye(d), n)).gamma_star(),
                  n / (n + d + 1) * np.eye(d), ULPS)
    return chk  # shared checks come from proofs/steps/, never from another claim


CLAIM = Claim(key="template2023.eq7", title="template: isotropic n/(n+d+1) I", source="[Ahn et al. 2023, eq. (7)] "
              "arXiv 2306.00297", statement="Sigma = I, w ~ N(0, I): Gamma* = n/(n+d+1) I.",
              notation="canonical model (theory/one_layer.py); Sigma_w = I, sigma2 = 0", verify=verify)
