"""Plots (matplotlib, Agg backend, written to a file): per-step error curves.

``error_curves`` draws what the table of ``iclcheck compare`` prints, readably whatever the numbers:

- each cell is drawn at its exact value where one is known (filled marker, no band: there is no sampling error)
  and at its Monte Carlo mean otherwise (hollow marker, the 99.9% interval as a band; a cell whose mean is not
  estimable at this sample size gets an 'x' and no band);
- steps beyond the step count a step size was tuned for are joined by a dashed line;
- the y range comes from the drawn values, not from the bands: a log scale when they span more than two decades
  (linear from 0 otherwise); values more than ``OUTLIER_DECADES`` decades beyond the bulk are left off the range
  (clipped) and named in a note under the plot, as is every non-positive value on a log scale;
- single-number baselines (OLS, Bayes) are horizontal lines when they fall inside the range, else a note with
  their value (at sigma2 = 0 they sit at rounding level, ~1e-30);
- every curve has its own colour (tab10, tab20 beyond ten curves).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from iclcheck.numerics.files.write import check_output_path, open_output

__all__ = ["OUTLIER_DECADES", "PLOT_SUFFIXES", "error_curves", "plot_range"]

PLOT_SUFFIXES = (".png", ".pdf", ".svg")
OUTLIER_DECADES = 3.0  # a value this many decades above the 90th / below the 10th percentile is an outlier
LOG_DECADES = 2.0  # a log scale when the drawn values span more than this many decades


def plot_range(values: list[float]) -> tuple[str, float, float]:
    """(scale, bottom, top) for the drawn values: robust to outliers (see the module docstring). Values outside
    [bottom, top] (and non-positive values on a log scale) are the caller's to name in a note."""
    v = np.array([x for x in values if math.isfinite(x)], dtype=float)
    pos = v[v > 0]
    if pos.size == 0:
        return "linear", 0.0, 1.0
    lg = np.log10(pos)
    lo_q, hi_q = np.percentile(lg, [10, 90])
    keep = lg[(lg >= lo_q - OUTLIER_DECADES) & (lg <= hi_q + OUTLIER_DECADES)]
    lo, hi = float(keep.min()), float(keep.max())
    if hi - lo > LOG_DECADES:
        pad = 0.08 * (hi - lo)
        return "log", 10 ** (lo - pad), 10 ** (hi + pad)
    top = 10 ** hi
    return "linear", 0.0, top * 1.08 if top > 0 else 1.0


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def error_curves(curves, path: str | Path, *, title: str = "", ylabel: str = "E (yhat - w^T x_q)^2") -> Path:
    """Write the per-step error curves to ``path`` (.png, .pdf or .svg). ``curves``: objects with ``.label``,
    ``.steps``, ``.errors`` (``MCEstimate``: ``.mean``, ``.ci``, ``.estimable``) and optionally ``.exact`` (per
    step, the exact value or None) and ``.beyond()`` (per step, True beyond the tuned step count)."""
    path = check_output_path(path, what="plot file", suffixes=PLOT_SUFFIXES)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # (label, steps, values, exact?, estimable?, ci, beyond?) per curve; baselines: (label, value, exact?)
    series, baselines = [], []
    for c in curves:
        if not c.errors:
            continue
        exact = list(getattr(c, "exact", None) or [None] * len(c.errors))
        beyond = list(c.beyond()) if hasattr(c, "beyond") else [False] * len(c.errors)
        vals = [float(x) if x is not None else float(e.mean) for e, x in zip(c.errors, exact, strict=True)]
        is_ex = [x is not None for x in exact]
        if len(vals) == 1:
            baselines.append((c.label, vals[0], is_ex[0] or c.errors[0].estimable))
            continue
        series.append((c.label, np.asarray(c.steps), vals, is_ex, [e.estimable for e in c.errors],
                       [e.ci for e in c.errors], beyond))
    drawn = [v for s in series for v in s[2]]
    scale, bottom, top = plot_range(drawn)
    n_colours = len(series) + len(baselines)
    cmap = plt.get_cmap("tab10" if n_colours <= 10 else "tab20")
    colours = [cmap(i % cmap.N) for i in range(max(n_colours, 1))]

    fig, ax = plt.subplots(figsize=(10.5, 5.2))
    notes: list[str] = []
    any_mc = any_unest = any_beyond = False
    for i, (label, steps, vals, is_ex, est, ci, beyond) in enumerate(series):
        col = colours[i]
        y = np.array(vals, dtype=float)
        shown = np.isfinite(y) & (y >= bottom) & (y <= top) & ((y > 0) if scale == "log" else True)
        off = np.flatnonzero(~shown)
        if off.size:  # one note per curve: how many cells are off the range, and the extreme one
            k = off[np.argmax(np.abs(np.nan_to_num(np.log10(np.abs(y[off]) + 1e-300), nan=999.0)))]
            where = "above" if y[k] > top else "below" if math.isfinite(y[k]) and y[k] > 0 else "not drawable"
            steps_off = ", ".join(str(int(s)) for s in steps[off][:4]) + (", ..." if off.size > 4 else "")
            notes.append(f"{label}: {off.size} value(s) off the axis range (steps {steps_off}; e.g. "
                         f"{_fmt(y[k])} at step {int(steps[k])}, {where})")
        y_plot = np.where(shown, y, np.nan)
        tuned = np.array([not b for b in beyond])
        # solid through the tuned steps, dashed from the last tuned step on
        ax.plot(steps[tuned], y_plot[tuned], color=col, lw=1.5, label=label)
        if any(beyond):
            any_beyond = True
            j = int(np.flatnonzero(tuned)[-1]) if tuned.any() else 0
            ax.plot(steps[j:], y_plot[j:], color=col, lw=1.3, ls="--")
        ex = np.array(is_ex) & shown
        ax.plot(steps[ex], y_plot[ex], ls="none", marker="o", ms=4.5, color=col)
        mc_ok = ~np.array(is_ex) & np.array(est) & shown
        mc_bad = ~np.array(is_ex) & ~np.array(est) & shown
        if mc_ok.any():
            any_mc = True
            ax.plot(steps[mc_ok], y_plot[mc_ok], ls="none", marker="o", ms=4.5, mfc="white", color=col)
            lo = np.array([max(c[0], bottom) for c in ci])
            hi = np.array([min(c[1], top) for c in ci])
            band = ~np.array(is_ex) & np.array(est)  # no band on exact cells or non-estimable ones
            ax.fill_between(steps, np.where(band, lo, np.nan), np.where(band, hi, np.nan), color=col, alpha=0.15,
                            lw=0)
        if mc_bad.any():
            any_unest = True
            ax.plot(steps[mc_bad], y_plot[mc_bad], ls="none", marker="x", ms=6, mew=1.5, color=col)
    for j, (label, v, _) in enumerate(baselines):
        col = colours[len(series) + j]
        inside = math.isfinite(v) and bottom <= v <= top and (v > 0 or scale == "linear")
        if inside:
            ax.axhline(v, ls=":", lw=1.6, color=col, label=f"{label} = {_fmt(v)}")
        else:
            notes.append(f"{label} = {_fmt(v)} (a single number, off the axis range"
                         + ("; rounding level" if abs(v) < 1e-20 else "") + ")")
    ax.set_yscale(scale)
    ax.set_ylim(bottom, top)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step / layer")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    marks = ["filled dot: exact value (no band)"]
    if any_mc:
        marks.append("hollow dot: Monte Carlo mean, band = 99.9% interval")
    if any_unest:
        marks.append("x: Monte Carlo mean not estimable (heavy tail)")
    if any_beyond:
        marks.append("dashed: beyond the steps the step size is tuned for")
    text = "; ".join(marks) + ("\n" + "\n".join(notes) if notes else "")
    fig.text(0.01, 0.01, text, fontsize=7.5, va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.012 + 0.027 * (text.count("\n") + 1), 1, 1))
    fmt = path.suffix.lower().lstrip(".")
    with open_output(path, what="plot file", suffixes=PLOT_SUFFIXES) as f:
        fig.savefig(f, dpi=120, format=fmt)
    plt.close(fig)
    return path
