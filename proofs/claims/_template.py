"""[Ahn et al. 2023, eq. (7)] (TEMPLATE) Sigma = I, w ~ N(0, I): the one-layer optimum is n/(n+d+1) I.

Copy to proofs/claims/<paper><year>_<claim>.py (key '<paper><year>.<claim>'); write the docstring as the steps
of the argument. Its test tests/proofs/claims/test_<module>.py keeps only the independent routes:
tests/proofs/test_registry.py already runs every claim, round-trips its JSON, types its verdict and
requires a finding when it is refuted. Modules named _* are not registered.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.numerics.one_layer import OneLayer
from iclcheck.proofs.registry import Claim, Context
from iclcheck.proofs.verdict import Checker, Tolerance
from iclcheck.theory.one_layer import gamma_star_exact
from iclcheck.theory.setting import Setting

N = sp.Symbol("n", positive=True, integer=True)
ULPS = Tolerance(rtol=1e-12, atol=1e-15, reason="Cholesky inverse of a multiple of I: a few ulps")  # tolerances: named


def verify(ctx: Context) -> Checker:  # a refutation returns (chk, finding): the corrected statement, checked
    chk = Checker()
    rng = ctx.rng()  # salted by the claim (Claim.salt; default CRC32 of the key); more streams: Claim.streams
    chk.exact("derived Gamma* = n/(n+2) for d = 1 (symbolic n)", gamma_star_exact(Setting.make(sp.eye(1), N)),
              sp.Matrix([N / (N + 2)]))
    for _ in range(8 if ctx.thorough else 2):  # random cases from the claim's stream only
        d, n = int(rng.integers(1, 6)), int(rng.integers(1, 50))
        chk.close(f"float Gamma* = n/(n+d+1) I (d={d}, n={n})", OneLayer(Setting.make(np.eye(d), n)).gamma_star(),
                  n / (n + d + 1) * np.eye(d), ULPS)
    return chk  # shared checks come from proofs/steps.py, never from another claim


CLAIM = Claim(key="template2023.eq7", title="template: isotropic n/(n+d+1) I", source="[Ahn et al. 2023, eq. (7)] "
              "arXiv 2306.00297", statement="Sigma = I, w ~ N(0, I): Gamma* = n/(n+d+1) I.",
              notation="canonical model (theory/one_layer.py); Sigma_w = I, sigma2 = 0", verify=verify)
