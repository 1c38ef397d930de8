"""Time the many-step tools and their claims (medians over repeats; caches warm after the first run of a process).

  gd_error_12   exact k-step weight error, k = 1..12, d = 10, n = 20, fixed step (moments cached after repeat 1)
  gd_error_opt  the same with the step optimised for each k
  flow_attnS    the ATTN_S flow of zhang2025.attnS.escape_times (36 parameters, LSODA at rtol 1e-10)
  claim:<key>   each many-steps claim's quick profile

Usage:
    python benchmarks/bench_many_steps.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

__all__ = ["CLAIMS", "bench", "main"]

CLAIMS = ("hwl2025.cot_multistep_gd", "hwl2025.no_cot_lower_bound", "hwl2025.gf_two_stage", "hwl2025.ood_band",
          "tts2026.cot_vs_context", "gatmiry2024.global_min", "gatmiry2024.gradient_dominance",
          "zhang2025.attnS.escape_times", "zhang2025.attnM.sigmoid", "zfb2024.thm4_1.flow")


def _time(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench(repeat: int = 3) -> dict[str, dict[str, float]]:
    from iclcheck.numerics.dynamics.flow import flow
    from iclcheck.numerics.dynamics.gd_error import gd_error
    from iclcheck.proofs.registry import Context, all_claims
    from iclcheck.theory.setting import Setting

    st = Setting.make(np.eye(10), 20)
    s0 = 3e-3
    th = np.concatenate([-s0 * np.ones(4), (s0 * np.eye(4)).ravel(), (s0 * np.eye(4)).ravel()])
    stS = Setting.make(np.diag([0.4, 0.3, 0.2, 0.1]), 31)
    cases = {
        "gd_error_12": lambda: gd_error(st, 12, eta=20 / 31, target="weights"),
        "gd_error_opt": lambda: gd_error(st, 12, target="weights"),
        "flow_attnS": lambda: flow(stS, "attnS", init=th, t_max=1.6 / (2 * 0.01 * s0), samples=401, heads=4, rank=1,
                                   rtol=1e-10, atol=1e-14, hessian=False, dense=True),
    }
    claims = all_claims()
    for key in CLAIMS:
        cases[f"claim:{key}"] = lambda key=key: claims[key].run(Context())
    out = {}
    for name, fn in cases.items():
        ts = _time(fn, repeat)
        out[name] = {"first": ts[0], "median": statistics.median(ts), "min": min(ts)}
    out["claims_total"] = {k: sum(v[k] for n, v in out.items() if n.startswith("claim:")) for k in ("first", "median",
                                                                                                       "min")}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = bench(a.repeat)
    if a.json:
        json.dump(res, sys.stdout, indent=1)
        print()
        return 0
    print(f"{'case':44s} {'first':>8s} {'median':>8s} {'min':>8s}  (seconds)")
    for k, v in res.items():
        print(f"{k:44s} {v['first']:8.3f} {v['median']:8.3f} {v['min']:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
