"""Plots (matplotlib, Agg backend, written to a file through ``numerics.files.write``): per-step error curves
(``curves``), the one-layer landscape (``landscape``) and the many-step view (``many_steps``).

This package is the old module ``iclcheck.numerics.plots``: it exports every name that module did (those of
``curves``). Code inside iclcheck imports the defining module."""

from iclcheck.numerics import names_of
from iclcheck.numerics.plots import curves as _curves
from iclcheck.numerics.plots.curves import (
    OUTLIER_DECADES,
    PLOT_SUFFIXES,
    error_curves,
    plot_range,
)

__all__ = ["OUTLIER_DECADES", "PLOT_SUFFIXES", "error_curves", "plot_range"]


__getattr__ = names_of(_curves, __name__)  # any other name of the old module (constants, helpers)
