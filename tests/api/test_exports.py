"""The public API's exports, checked the way Hypothesis checks its own: every name in ``__all__`` exists, is
documented, is not private, and ``import iclcheck`` stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import iclcheck
import iclcheck.api


def test_package_all_is_the_api_all():
    assert set(iclcheck.__all__) == {"__version__", *iclcheck.api.__all__}
    assert len(iclcheck.api.__all__) == len(set(iclcheck.api.__all__))


def test_every_export_exists_is_public_and_documented():
    for name in iclcheck.api.__all__:
        assert not name.startswith("_"), name
        obj = getattr(iclcheck, name)
        assert obj is getattr(iclcheck.api, name)
        doc = inspect.getdoc(obj)
        assert doc and len(doc) > 40, f"{name} is undocumented"


def test_the_required_names_are_there():
    need = {"Setting", "gamma_star", "min_loss", "loss", "critical_points", "certify", "optimal_layers", "verify",
            "claims", "check_weights", "load_weights"}
    assert need <= set(iclcheck.__all__)


def test_options_are_keyword_only_and_named_alike():
    for name in iclcheck.api.__all__:
        obj = getattr(iclcheck.api, name)
        if not inspect.isfunction(obj):
            continue
        for p in inspect.signature(obj).parameters.values():
            if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD:
                assert name == "verify" and p.name == "keys", f"{name}({p.name}=...) is not keyword-only"
        params = inspect.signature(obj).parameters
        if "seed" in params:
            assert params["seed"].default == 0, name
        if "samples" in params:
            assert params["samples"].kind is inspect.Parameter.KEYWORD_ONLY


def test_unknown_attribute_is_an_attribute_error():
    try:
        iclcheck.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_iclcheck_is_light():
    code = ("import sys, iclcheck; heavy = [m for m in ('numpy', 'sympy', 'scipy', 'cvxpy', 'iclcheck.api') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
    code2 = "import sys, iclcheck; iclcheck.gamma_star; print('iclcheck.api' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"
