"""Attention beyond the canonical linear layer: kernel attention and the functional GD it implements, with the
multi-head parametrisations (``kernel_attention``), the kernel / Gaussian-process / Bayes baselines it is compared
with (``kernels``), and exact softmax-attention losses over a discrete feature law (``softmax_discrete``)."""
