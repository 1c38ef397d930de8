"""Plots of the many-step view (matplotlib, Agg backend, written to a file): the exact k-step GD error against k, and a
gradient flow's loss against time with its plateaus marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["flow_plot", "gd_error_plot"]


def _figure(path: str | Path) -> tuple[Any, Path]:  # (matplotlib.pyplot, the checked path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError("plot file", f"must end in .png, .pdf or .svg, got {str(path)!r}")
    if not path.parent.exists():
        raise InputError("plot file", f"directory {str(path.parent)!r} does not exist")
    return plt, path


def gd_error_plot(results: list[tuple[str, Any]], path: str | Path, *, title: str = "",
                  mc: list[tuple[str, list[Any]]] | None = None) -> Path:
    """Exact E error against k for each (label, GDError), log y; heavy-tail steps ringed; optional Monte Carlo means
    (label, [MCEstimate per k]) as crosses (means whose tails refuse an interval drawn hollow)."""
    plt, path = _figure(path)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ringed = False
    for label, r in results:
        k = r.steps
        (line,) = ax.plot(k, r.error, marker="o", ms=4, lw=1.5, label=label)
        h = np.asarray(r.heavy_tail, bool)
        if h.any():  # the legend says once what a ring means (a custom title may not)
            ax.scatter(k[h], r.error[h], s=90, facecolors="none", edgecolors=line.get_color(), lw=1.2,
                       label=None if ringed else "ring: most of the mean from < 5% of the spectrum (heavy tail)")
            ringed = True
    for label, ests in mc or []:
        k = np.arange(1, len(ests) + 1)
        m = np.array([e.mean for e in ests])
        ok = np.array([not e.heavy_tail for e in ests])
        ax.scatter(k[ok], m[ok], marker="x", color="k", s=30, label=label)
        if (~ok).any():
            ax.scatter(k[~ok], m[~ok], marker="x", color="0.6", s=30, label=f"{label} (tails refuse an interval)")
    ax.set_yscale("log")
    ax.set_xlabel("CoT / GD steps k")
    ax.set_ylabel("exact E ||w_k - w*||^2")
    ax.set_title(title or "k GD steps from w_0 = 0 (rings: most of the mean from < 5% of the spectrum)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def flow_plot(res: Any, path: str | Path, *, levels: list[float] | None = None, title: str = "",
              log_time: bool = False) -> Path:
    """Loss against time of a ``FlowResult``; its plateaus shaded, optional reference levels (e.g. the encoded plateau
    losses) as dashed lines."""
    plt, path = _figure(path)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.plot(res.t, res.loss, lw=1.6, color="C0", label="population loss along the flow")
    for i, p in enumerate(res.plateaus):
        ax.axvspan(p.entry, p.exit, color="C1", alpha=0.12, lw=0, label="plateaus (detected)" if i == 0 else None)
    for i, v in enumerate(levels or []):
        ax.axhline(v, ls="--", lw=0.8, color="0.4", label="reference levels" if i == 0 else None)
    if log_time:
        ax.set_xscale("log")
    ax.set_xlabel("time t")
    ax.set_ylabel("loss")
    ax.set_title(title or f"gradient flow ({res.model})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
