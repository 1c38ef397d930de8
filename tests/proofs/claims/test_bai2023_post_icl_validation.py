"""bai2023.post_icl_validation: confirmed (two seeds); the Rao-Blackwellised excess against the raw squared error of
an explicitly written selector (numpy.linalg.lstsq-free ridge per prompt, a loop)."""

import numpy as np
import pytest

from iclcheck.proofs.verdict import Verdict


@pytest.mark.parametrize("seed", [0, 6])
def test_confirmed(claim_result, seed):
    r = claim_result("bai2023.post_icl_validation", seed=seed)
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_selector_risk_by_a_loop():
    rng = np.random.default_rng(0)
    d, n, B = 4, 16, 6000
    lams, levels = (0.25, 4.0), (0.5, 2.0)
    err, rb = [], []
    for _ in range(B):
        X, w = rng.standard_normal((n, d)), rng.standard_normal(d)
        s = levels[rng.integers(0, 2)]
        y = X @ w + s * rng.standard_normal(n)
        xq = rng.standard_normal(d)

        def ridge(A, b, lam):
            return np.linalg.solve(A.T @ A + lam * np.eye(d), A.T @ b)

        v = [np.mean((X[12:] @ ridge(X[:12], y[:12], lam) - y[12:]) ** 2) for lam in lams]
        w_sel = ridge(X, y, lams[int(np.argmin(v))])
        m = ridge(X, y, s**2)
        err.append((xq @ w_sel - xq @ w) ** 2)
        rb.append(np.sum((w_sel - m) ** 2) + s**2 * np.trace(np.linalg.inv(X.T @ X + s**2 * np.eye(d))))
    diff = np.array(err) - np.array(rb)  # E[raw - conditional risk] = 0
    assert abs(diff.mean()) < 3.29 * diff.std(ddof=1) / np.sqrt(B)
