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
