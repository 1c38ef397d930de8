"""Deep (L-layer) linear attention at given weights: the conditioned estimator of its loss (``conditioned``, the
package's base module: ``as_stack``, ``Control``, ``controlled_loss``), the exact L = 2 loss (``exact_two_layer``), the
loss with its route chosen (``model_loss``) and what the layers implement (``implements``).

This package is the old module ``iclcheck.numerics.deep``: it exports every name that module did (those of
``conditioned``). Code inside iclcheck imports the defining module."""

from iclcheck.numerics import names_of
from iclcheck.numerics.deep import conditioned as _conditioned
from iclcheck.numerics.deep.conditioned import (
    PILOT,
    Control,
    as_stack,
    conditioned_draws,
    conditioned_loss,
    context_gram,
    controlled_loss,
    gram_forward,
    route_name,
)

__all__ = [
    "PILOT", "Control", "as_stack", "conditioned_draws", "conditioned_loss", "context_gram", "controlled_loss",
    "gram_forward", "route_name",
]


__getattr__ = names_of(_conditioned, __name__)  # any other name of the old module (constants, helpers)
