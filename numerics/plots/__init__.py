"""Plots (matplotlib, Agg backend, written to a file through ``numerics.files.write``): per-step error curves
(``curves``), the one-layer landscape (``landscape``) and the many-step view (``many_steps``).

This package is the old module ``iclcheck.numerics.plots``: it exports every name that module did (those of
``curves``). Code inside iclcheck imports the defining module."""

from typing import Any

from iclcheck.numerics.plots import curves as _curves
from iclcheck.numerics.plots.curves import (
    OUTLIER_DECADES,
    PLOT_SUFFIXES,
    error_curves,
    plot_range,
)

__all__ = ["OUTLIER_DECADES", "PLOT_SUFFIXES", "error_curves", "plot_range"]


def __getattr__(name: str) -> Any:
    """Any other name of the old module (constants, helpers) through the old path."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return getattr(_curves, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
