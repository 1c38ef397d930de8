"""Setting validation: every bad input is an InputError naming the input; good input stays exact."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from iclcheck.theory import InputError, Setting


@pytest.mark.parametrize(
    "Sigma,kwargs,fragment",
    [
        ([[1, 2], [0, 1]], {}, "not symmetric"),
        ([[1, 2], [2, 1]], {}, "indefinite"),
        ([[1, 0], [0, 0]], {}, "singular"),
        (np.diag([1.0, 1e-13]), {}, "condition number 1e+13"),
        ([[1, float("nan")], [float("nan"), 1]], {}, "non-finite"),
        ([[1, 0, 0], [0, 1, 0]], {}, "square"),
        ([[1, 0], [0, 1]], {"n": 0}, "at least 1"),
        ([[1, 0], [0, 1]], {"n": 2.5}, "positive integer"),
        ([[1, 0], [0, 1]], {"sigma2": -0.1}, "must be >= 0"),
        ([[1, 0], [0, 1]], {"Sigma_w": np.eye(3)}, "has shape (3, 3) but Sigma is 2x2"),
        ([[1, 0], [0, 1]], {"Sigma_w": "evil()"}, "unknown keyword"),
        ([[1, 0], [0, 1]], {"covariates": "cauchy"}, "unknown law"),
    ],
)
def test_bad_input_is_one_clear_input_error(Sigma, kwargs, fragment):
    n = kwargs.pop("n", 3)
    with pytest.raises(InputError) as exc:
        Setting.make(Sigma, n, **kwargs)
    msg = str(exc.value)
    assert fragment in msg and "\n" not in msg


def test_exact_inputs_stay_exact_and_inverse_prior_is_exact():
    st = Setting.make([[2, Fraction(1, 2)], [Fraction(1, 2), 1]], 4, Sigma_w="inv", sigma2=Fraction(1, 3))
    assert st.is_exact
    assert st.Sigma_exact * st.Sigma_w_exact == sp.eye(2)
    assert st.sigma2_exact == sp.Rational(1, 3)
    np.testing.assert_allclose(st.Sigma_w @ st.Sigma, np.eye(2), atol=1e-14)


def test_float_inputs_are_not_claimed_exact_and_symbolic_n_is_positive():
    st = Setting.make(np.eye(2) * 0.5, sp.Symbol("n"))
    assert not st.is_exact and st.n_is_symbolic and st.n.is_positive


def test_near_limit_condition_number_is_decided_by_eigenvalues():
    # kappa_2 = 5e11 < 1e12 is accepted even though the fast estimate is near the limit.
    st = Setting.make(np.diag([1.0, 2e-12]), 2)
    assert st.d == 2


# --- scale and size bounds (issue "Trust" point 7) -------------------------------------------------------


@pytest.mark.parametrize(
    "Sigma,kwargs,fragment",
    [
        (np.diag([1e155]), {}, "too large"),
        (np.diag([1e-200, 1e-200]), {}, "too small"),
        (np.eye(2), {"sigma2": 1e300}, "exceeds 1e+40"),
        (np.eye(2), {"Sigma_w": np.eye(2) * 1e-300}, "too small"),
        (np.eye(2), {"n": 10**16}, "at most"),
        (np.eye(2), {"n": 1e30}, "positive integer"),
        (np.eye(2), {"sigma2": 10**400}, "float64 range"),
    ],
)
def test_scale_and_size_bounds(Sigma, kwargs, fragment):
    n = kwargs.pop("n", 3)
    with pytest.raises(InputError) as exc:
        Setting.make(Sigma, n, **kwargs)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_scale_bounds_are_inclusive_and_tiny_noise_is_fine():
    from iclcheck.theory.setting import MAX_SCALE, MIN_SCALE

    assert Setting.make(np.eye(2) * MAX_SCALE, 3).d == 2
    assert Setting.make(np.eye(2) * MIN_SCALE, 3).d == 2
    assert Setting.make(np.eye(2), 3, sigma2=1e-300).sigma2 == 1e-300  # it only adds to tau


def test_large_d_fast_path_checks_the_scale_too():
    with pytest.raises(InputError, match="too large"):
        Setting.make(np.eye(301) * 1e41, 3)


def test_importing_setting_and_float_settings_need_no_sympy():
    import subprocess
    import sys

    code = ("import sys, numpy as np\nfrom iclcheck.theory.setting import Setting\n"
            "st = Setting.make(np.eye(2), 3, Sigma_w='inv', sigma2=0.5, covariates='uniform')\n"
            "assert not st.n_is_symbolic and st.kurtosis_float == 1.8\nprint('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_kurtosis_values_are_exact():
    from iclcheck.theory.setting import KURTOSIS

    assert KURTOSIS == {"gaussian": 3, "uniform": sp.Rational(9, 5), "rademacher": 1}
    assert Setting.make(np.eye(1), 2, covariates="uniform").kurtosis == sp.Rational(9, 5)


def test_a_matrix_built_with_condition_exactly_1e12_is_accepted():
    from iclcheck.numerics.random_matrices import random_spd

    for seed in range(5):  # its computed eigenvalue ratio may exceed 1e12 by rounding (~1e-4 relative)
        assert Setting.make(random_spd(30, 1e12, np.random.default_rng(seed)), 3).d == 30
