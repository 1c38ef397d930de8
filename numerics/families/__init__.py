"""Fast float versions of ``theory.multilayer`` (a facade: the code lives in modules by concern).

- ``numerics.families.quadrature``  exact Wishart moments as floats, the spectral Gauss quadrature, FamilyProblem
- ``numerics.families.gd``   condition (8): gd_loss, gd_loss_grad, optimal_gd (certified), critical-point census
- ``numerics.families.gdpp`` condition (11): gdpp_loss, gdpp_loss_grad, optimal_gdpp (multistart), family_params
- ``numerics.families.wick``        exact full-matrix losses by Wick's theorem (word_expectation, full_gd_loss)
- ``numerics.families.mc_gradient`` literal forward pass + backprop Monte Carlo (lsa_loss_and_grads, mc_full_gradient)
- ``numerics.finite_diff`` central differences (gradients, Hessians)

Everything is in the whitened frame of ``theory.multilayer`` (Sigma = I, w ~ N(0, I), A_l = a_l I,
B_l = b_l I): for a setting with covariance Sigma the family is A_l = a_l Sigma^{-1}, B_l = b_l I with
w ~ N(0, Sigma^{-1}) and the loss does not depend on Sigma.
"""

from __future__ import annotations

from iclcheck.numerics.families.gd import (
    MAX_GD_LAYERS,
    GDOptimum,
    gd_critical_points,
    gd_loss,
    gd_loss_grad,
    optimal_gd,
    optimal_gd_coefficients,
)
from iclcheck.numerics.families.gdpp import (
    GDPPOptimum,
    family_params,
    gdpp_loss,
    gdpp_loss_grad,
    optimal_gdpp,
)
from iclcheck.numerics.families.mc_gradient import (
    MCGradient,
    bonferroni_z,
    gdpp_loss_mc,
    literal_loss,
    lsa_loss_and_grads,
    mc_full_gradient,
)
from iclcheck.numerics.families.quadrature import (
    FamilyProblem,
    float_moments,
    problem_from,
    spectral_quadrature,
)
from iclcheck.numerics.families.wick import full_gd_loss, word_expectation
from iclcheck.numerics.random_matrices import ahn_sigma, haar_orthogonal, whitening_matrix

__all__ = [
    "MAX_GD_LAYERS",
    "FamilyProblem",
    "GDOptimum",
    "GDPPOptimum",
    "float_moments",
    "problem_from",
    "gd_loss",
    "gd_loss_grad",
    "gdpp_loss",
    "gdpp_loss_grad",
    "spectral_quadrature",
    "optimal_gd",
    "optimal_gd_coefficients",
    "optimal_gdpp",
    "family_params",
    "lsa_loss_and_grads",
    "mc_full_gradient",
    "MCGradient",
    "literal_loss",
    "word_expectation",
    "full_gd_loss",
    "haar_orthogonal",
    "ahn_sigma",
    "whitening_matrix",
    "bonferroni_z",
    "gdpp_loss_mc",
    "gd_critical_points",
]
