"""Plots (matplotlib, Agg backend, written to a file): per-step error curves on a log scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["error_curves"]


def error_curves(curves, path: str | Path, *, title: str = "", ylabel: str = "E (yhat - w^T x_q)^2") -> Path:
    """One line per curve (mean with its confidence band), y on a log scale; single-point curves
    (OLS, Bayes) are drawn as horizontal dashed lines. ``curves``: objects with .label .steps .errors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError("plot file", f"must end in .png, .pdf or .svg, got {str(path)!r}")
    if not path.parent.exists():
        raise InputError("plot file", f"directory {str(path.parent)!r} does not exist")
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for c in curves:
        if not c.errors:
            continue
        m = np.array([e.mean for e in c.errors])
        lo = np.array([max(e.ci[0], 1e-300) for e in c.errors])
        hi = np.array([e.ci[1] for e in c.errors])
        if len(m) == 1:
            ax.axhline(m[0], ls="--", lw=1, label=f"{c.label} = {m[0]:.3g}")  # may lie below the axis range
            continue
        (line,) = ax.plot(c.steps, m, marker="o", ms=3, lw=1.4, label=c.label)
        ax.fill_between(c.steps, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
    ax.set_yscale("log")
    lows = [e.mean for c in curves if len(c.errors) > 1 for e in c.errors if e.mean > 0]
    if lows:  # keep the iterative curves readable when OLS sits at rounding level (~1e-30)
        ax.set_ylim(bottom=max(min(lows) / 3, 1e-12))
    ax.set_xlabel("step / layer")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
