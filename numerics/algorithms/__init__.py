"""In-context regression algorithms as plain numpy: the reference algorithms on batches of prompts (``reference``:
GD, preconditioned GD, GD++, Newton, OLS, ridge) and Fu et al.'s Newton vs GD iteration counts
(``iteration_counts``).

This package is the old module ``iclcheck.numerics.algorithms``: it exports every name that module did (those of
``reference``). Code inside iclcheck imports the defining module."""

from iclcheck.numerics import names_of
from iclcheck.numerics.algorithms import reference as _reference
from iclcheck.numerics.algorithms.reference import (
    gd,
    gdpp_transform,
    gram,
    newton_alpha,
    newton_iterates,
    newton_w,
    ols,
    one_step_predict,
    preconditioned_gd,
    ridge,
)

__all__ = [
    "gd", "gdpp_transform", "gram", "newton_alpha", "newton_iterates", "newton_w", "ols", "one_step_predict",
    "preconditioned_gd", "ridge",
]


__getattr__ = names_of(_reference, __name__)  # any other name of the old module (constants, helpers)
