"""Draw the two figures of docs/many-steps.md: the U-shaped expected CoT error and a saddle-to-saddle ATTN_S flow.

    python scripts/plot_many_steps.py [OUTDIR]      (default docs/img)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from iclcheck.numerics.dynamics.flow import flow
from iclcheck.numerics.dynamics.gd_error import gd_error, mc_gd_error
from iclcheck.numerics.families.restricted import plateau_losses
from iclcheck.numerics.plots.many_steps import flow_plot, gd_error_plot
from iclcheck.theory.setting import Setting


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/img")
    st = Setting.make(np.eye(10), 20)
    fixed = gd_error(st, 12, eta=20 / 31, target="weights")
    tuned = gd_error(st, 12, target="weights")
    small = gd_error(Setting.make(np.eye(3), 20), 12, eta=20 / 24, target="weights")
    mc = mc_gd_error(st, 12, eta=20 / 31, target="weights", samples=100_000, rng=np.random.default_rng(0))
    gd_error_plot([("d=10, n=20, eta = n/(n+d+1)", fixed), ("d=3, n=20, eta = n/(n+d+1)", small),
                   ("d=10, n=20, step tuned per k", tuned)], out / "cot_u_shape.png",
                  mc=[("Monte Carlo, 1e5 prompts (d=10)", mc)],
                  title="Expected CoT error E||w_k - w*||^2: U-shaped at a fixed step (exact)")
    lam = np.array([0.4, 0.3, 0.2, 0.1])
    s0 = 3e-3
    th = np.concatenate([-s0 * np.ones(4), (s0 * np.eye(4)).ravel(), (s0 * np.eye(4)).ravel()])  # heads on eigenvectors
    r = flow(Setting.make(np.diag(lam), 31), "attnS", init=th, t_max=1.6 / (2 * 0.01 * s0), samples=801, heads=4,
             rank=1, rtol=1e-10, atol=1e-14, hessian=False)
    flow_plot(r, out / "attnS_saddles.png", levels=list(plateau_losses(Setting.make(np.diag(lam), 31))),
              title="ATTN_S flow (D=4, N=31, lambda = 0.4..0.1, s0 = 3e-3): plateaus at L(M_0..M_4)")
    print(f"wrote {out / 'cot_u_shape.png'} and {out / 'attnS_saddles.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
