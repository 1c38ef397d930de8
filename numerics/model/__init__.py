"""The one L-layer self-attention model, run literally: the forward pass and its vector-Jacobian product (``lsa``),
its wrappers and prompt sampling (``forward``), Monte Carlo estimates of its losses with honest intervals
(``montecarlo``) and optimisation of such an estimate with common random numbers (``crn``)."""
