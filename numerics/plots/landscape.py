"""Plots of the one-layer landscape (matplotlib, Agg backend, saved to a file).

Left: the loss along the straight path theta(t) = (1 - t) theta_A + t theta_B between two critical points,
after aligning the symmetries (both balanced, |p| = |Qd|; theta_B replaced by the image under
theta -> -theta, the mirror (b, q21) -> (-b, -q21), or both, that is closest to theta_A). Right: the
spectrum of the Hessian restricted to the complement of the scaling direction at each critical point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iclcheck.numerics.critical import Landscape, balance
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import loss_flat

__all__ = ["align", "check_plot_path", "path_losses", "plot_landscape"]


def align(theta_a: np.ndarray, theta_b: np.ndarray, d: int) -> np.ndarray:
    """The symmetric image of balanced theta_b closest to balanced theta_a (same loss, same point)."""
    a, b = balance(theta_a, d), balance(theta_b, d)
    mirror = np.ones_like(b)
    mirror[:d] = -1.0  # b
    mirror[d + 1 + d * d :] = -1.0  # q21
    cands = [b, -b, mirror * b, -mirror * b]
    return min(cands, key=lambda c: float(np.linalg.norm(c - a)))


def path_losses(ol: OneLayer, theta_a: np.ndarray, theta_b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    a = balance(theta_a, ol.d)
    b = align(theta_a, theta_b, ol.d)
    return np.array([loss_flat(ol, (1 - t) * a + t * b) for t in ts])


def check_plot_path(path: str | Path) -> Path:
    """The output path, validated before any work (a .png/.pdf/.svg name; an existing target must be a regular
    file, a new one must be creatable: ``numerics.files.write.check_output_path``)."""
    from iclcheck.numerics.files.write import check_output_path

    return check_output_path(path, what="plot file", suffixes=(".png", ".pdf", ".svg"))


def plot_landscape(ol: OneLayer, land: Landscape, path: str | Path) -> Path:
    """Draw the path from the global minimum to the lowest saddle (or the next point) and all spectra."""
    path = check_plot_path(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = land.points
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    if len(pts) >= 2:
        A = next((p for p in pts if p.kind == "global-min"), pts[0])
        B = next((p for p in pts if p.kind == "saddle"), next(p for p in pts if p is not A))
        ts = np.linspace(-0.25, 1.25, 121)
        ax1.plot(ts, path_losses(ol, A.theta, B.theta, ts), color="C0")
        ax1.scatter([0, 1], [A.loss, B.loss], color="C3", zorder=3)
        ax1.annotate(A.kind, (0, A.loss), textcoords="offset points", xytext=(4, 6))
        ax1.annotate(f"{B.kind} (index {B.index})", (1, B.loss), textcoords="offset points", xytext=(4, 6))
        ax1.set_xlabel("t  (theta = (1-t) theta_A + t theta_B)")
    else:
        ax1.text(0.5, 0.5, "fewer than two critical points found", ha="center", transform=ax1.transAxes)
    ax1.set_ylabel("loss f")
    ax1.set_title("loss along the path between two critical points")
    for i, p in enumerate(pts):
        ax2.scatter(np.full(p.eigenvalues.size, i), p.eigenvalues, s=10,
                    color="C2" if p.kind == "global-min" else "C1" if p.kind == "local-min" else "C3")
    ax2.set_yscale("symlog", linthresh=1e-3)
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_xticks(range(len(pts)), [f"{i}\n{p.kind}\n{p.loss:.3g}" for i, p in enumerate(pts)], fontsize=7)
    ax2.set_title("restricted Hessian spectrum at each point")
    fig.tight_layout()
    from iclcheck.numerics.files.write import open_output

    with open_output(path, what="plot file") as f:
        fig.savefig(f, dpi=110, format=path.suffix.lower().lstrip("."))
    plt.close(fig)
    return path
