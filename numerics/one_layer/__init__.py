"""The one-layer model: its closed forms in floats (``closed_form``: ``OneLayer``, the sympy -> numpy bridge), their exact
derivatives (``derivatives``: gradient and packing of theta; ``hessian``: Hessian-vector products and the dense
Hessian), the convex lift the landscape tools share (``lift``), and a predictor evaluated at a setting other than its
training one (``shift``).

This package is the old module ``iclcheck.numerics.one_layer``: it exports every name that module did (those of
``closed_form``), so ``from iclcheck.numerics.one_layer import OneLayer`` keeps working. Code inside iclcheck imports
the defining module (``iclcheck.numerics.one_layer.closed_form``)."""

from iclcheck.numerics import names_of
from iclcheck.numerics.one_layer import closed_form as _closed_form
from iclcheck.numerics.one_layer.closed_form import (
    BLAS_DIAG_MIN_D,
    MAX_REFINE_DIM,
    NUMPY_OPS,
    OneLayer,
    check_params,
    diag_of_product,
    frobenius_inner,
    refined_spd_inverse,
    sqrtm_psd,
)

__all__ = [
    "BLAS_DIAG_MIN_D", "MAX_REFINE_DIM", "NUMPY_OPS", "OneLayer", "check_params", "diag_of_product",
    "frobenius_inner", "refined_spd_inverse", "sqrtm_psd",
]


__getattr__ = names_of(_closed_form, __name__)  # any other name of the old module (constants, helpers)
