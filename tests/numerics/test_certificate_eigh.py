"""certify decomposes the P x P lifted Gram matrix once (issue 19): the proven lambda_min bound and the QP's
Kronecker factor share it, and the bounds are those of the former route (eigvalsh, then eigh again)."""

from __future__ import annotations

import numpy as np
import pytest

import iclcheck.numerics.certificate.bound as cb
import iclcheck.numerics.certificate.qp as cq
from iclcheck.numerics.certificate import certify
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.lift import LiftedLoss
from iclcheck.theory.setting import Setting

CASES = [("gaussian", np.diag([1.0, 2.0, 0.5, 3.0]), 6), ("uniform", np.diag([1.0, 0.25, 2.0]), 5),
         ("rademacher", np.diag([1.0, 2.0, 3.0]), 4)]


@pytest.mark.parametrize(("cov", "Sigma", "n"), CASES, ids=[c[0] for c in CASES])
def test_one_decomposition_of_the_lifted_gram_matrix_and_the_former_bounds(cov, Sigma, n, monkeypatch):
    st = Setting.make(Sigma, n, covariates=cov)
    P = LiftedLoss(OneLayer(st)).Gs.shape[0]
    calls = []
    eigh, eigvalsh = np.linalg.eigh, np.linalg.eigvalsh

    def counting(f):
        def g(A, *a, **k):
            if np.shape(A) == (P, P):
                calls.append(f.__name__)
            return f(A, *a, **k)
        return g

    monkeypatch.setattr(np.linalg, "eigh", counting(eigh))
    monkeypatch.setattr(np.linalg, "eigvalsh", counting(eigvalsh))
    new = certify(OneLayer(st))
    assert calls == ["eigh"]
    monkeypatch.setattr(np.linalg, "eigh", eigh)
    monkeypatch.setattr(np.linalg, "eigvalsh", eigvalsh)
    # the former route: eigvalsh for the bound, eigh again for the factor
    monkeypatch.setattr(cb, "gs_eigh", lambda L: (np.linalg.eigvalsh(L.Gs), None))
    monkeypatch.setattr(cq, "gs_eigh", lambda L: np.linalg.eigh(L.Gs))
    old = certify(OneLayer(st))
    assert new.certified and old.certified
    assert (new.lower_bound, new.predicted_upper) == (old.lower_bound, old.predicted_upper)
