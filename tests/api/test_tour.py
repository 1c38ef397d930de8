"""docs/tour.py runs, its numbers agree with routes written out here, and docs/api.md shows the same cells."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import runpy
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[2] / "docs"


@functools.lru_cache(maxsize=1)
def _run_tour() -> tuple[dict, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        g = runpy.run_path(str(DOCS / "tour.py"), run_name="__main__")
    return g, buf.getvalue()


def test_tour_runs_and_its_numbers_hold():
    g, out = _run_tour()
    Sigma, n = g["Sigma"], 20
    d = Sigma.shape[0]
    a, b = (n + 1) / n, np.trace(Sigma) / n
    # Gaussian x, w ~ N(0, I): M = S (a S + b I), Gamma* = (a S + b I)^-1 (Ahn et al. Thm 1 / eq. (7) pattern)
    np.testing.assert_allclose(g["G"], np.linalg.inv(a * Sigma + b * np.eye(d)), rtol=1e-10)
    # the reduced loss L(Gamma) = tr(G^T S G M) - 2 tr(G^T S^2) + tr S at Gamma = 0.8 Sigma^-1 (P = e e^T, Q11 = -G^T)
    Gm = 0.8 * np.linalg.inv(Sigma)
    M = a * Sigma @ Sigma + b * Sigma
    expected = np.trace(Gm.T @ Sigma @ Gm @ M) - 2 * np.trace(Gm.T @ Sigma @ Sigma) + np.trace(Sigma)
    assert g["r"].exact and abs(g["r"].value - expected) <= 1e-10 * expected
    G_star = np.linalg.inv(a * Sigma + b * np.eye(d))
    L_star = np.trace(Sigma) - np.trace(G_star.T @ Sigma @ Sigma)  # the loss at a stationary Gamma
    assert g["r"].value > L_star and f"L* = {round(L_star, 6)}" in out
    assert g["r3"].exact and abs(g["r3"].value - g["opt"].loss) <= 1e-12 * g["opt"].loss
    lo, hi = g["noisy"].interval
    assert not g["noisy"].exact and 0 <= lo <= g["noisy"].value <= hi
    assert str(g["res"].verdict) == "confirmed" and g["res"].key == "ahn2023.thm1"
    assert g["ok"].warnings == [] and abs(g["ok"].loss.value - g["r"].value) <= 1e-12 * expected
    assert g["wrong"].warnings and g["wrong"].warnings[0].startswith("prediction sign gives a much lower loss")
    assert "ahn2023.thm1 confirmed" in out


def _cells(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"^# %%.*$", text, flags=re.M)[1:]]


def test_api_md_shows_the_tour_cells_verbatim():
    md = (DOCS / "api.md").read_text()
    blocks = [b.strip() for b in re.findall(r"```python\n(.*?)```", md, flags=re.S)]
    cells = _cells((DOCS / "tour.py").read_text())
    assert len(cells) == 5
    for c in cells:
        assert c in blocks, "docs/api.md is out of date with docs/tour.py:\n" + c[:200]


def test_api_md_shows_the_tour_output():
    _, out = _run_tour()
    md = (DOCS / "api.md").read_text()
    shown = "\n".join(b.strip() for b in re.findall(r"```text\n(.*?)```", md, flags=re.S))
    assert shown == out.strip()
