"""Every docstring example of the public API runs (doctest on iclcheck.api)."""

from __future__ import annotations

import doctest

import iclcheck
import iclcheck.api


def test_api_doctests_pass():
    res = doctest.testmod(iclcheck.api, extraglobs={"iclcheck": iclcheck}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 2 * len(iclcheck.api.__all__) - 12  # every function carries an example
    assert res.failed == 0


def test_every_public_function_has_an_example():
    for name in iclcheck.api.__all__:
        obj = getattr(iclcheck.api, name)
        if callable(obj) and getattr(obj, "__module__", "") == "iclcheck.api":
            assert ">>>" in (obj.__doc__ or ""), f"{name} has no runnable example"
