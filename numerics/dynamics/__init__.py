"""Many steps and training-time dynamics, exactly: k in-context GD steps (``gd_error``), gradient flow on exact
losses (``flow``), the small-width flow of softmax heads (``head_flow``) and chain-of-thought rollouts of one LSA
layer (``cot``)."""
