"""The manual: it builds with warnings as errors, and its claims catalogue renders in a real browser.

Marked ``docs``: the build runs every claim once (the catalogue's verdicts), so CI runs this in a step of its own
(`python -m pytest -m docs tests/docs`), after `pip install '.[docs]'`. ICLCHECK_SITE=DIR reuses a built site;
without Chromium the test skips, unless ICLCHECK_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("ICLCHECK_SITE")
    if given:
        return Path(given)
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> list[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("ICLCHECK_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (ICLCHECK_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    return [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]


def _dom(chromium: list[str], page: Path) -> str:
    res = subprocess.run([*chromium, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_catalogue_has_one_rendered_page_per_paper(site, chromium):
    from iclcheck.proofs.registry import all_claims

    claims = all_claims(plugins=False)
    papers = sorted({c.paper for c in claims.values()})
    index = _dom(chromium, site / "claims" / "index.html")
    for paper in papers:
        assert f'href="{paper}.html"' in index, f"the catalogue index does not link {paper}"
    for paper in papers:
        dom = _dom(chromium, site / "claims" / f"{paper}.html")
        # rendered, not raw Markdown: headings and tables became HTML
        assert "<table>" in dom and "Checked steps" in dom
        assert "| step |" not in dom, f"{paper}: a Markdown table was not rendered"
        for key, c in claims.items():
            if c.paper == paper:
                assert key in dom, f"{paper}.html lacks {key}"
                verdict = "as printed" if c.as_printed else "as recorded"
                assert re.search(rf"Verdict \(quick profile, seed 0\): <strong>\w[\w ]*</strong> {verdict}", dom)


def test_catalogue_screenshot_is_a_page(site, chromium, tmp_path):
    """A screenshot of one paper's page is not blank: a page's worth of text and the theme's header colour."""
    import matplotlib.image as mpimg
    import numpy as np

    shot = tmp_path / "fu2023.png"
    res = subprocess.run([*chromium, "--window-size=1280,1600", f"--screenshot={shot}",
                          (site / "claims" / "fu2023.html").as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    img = mpimg.imread(shot)[..., :3]
    dark = (img.mean(axis=2) < 0.5).mean()  # text and the header bar
    assert 0.01 < dark < 0.5, f"fraction of dark pixels {dark:.3f}: blank or unstyled page"
    assert np.std(img) > 0.05


def test_api_reference_lists_every_public_name(site, chromium):
    import iclcheck

    dom = _dom(chromium, site / "reference.html")
    missing = [name for name in iclcheck._API if not re.search(rf"id=\"iclcheck\.[\w.]*\b{name}\"", dom)]
    assert not missing, f"API reference lacks {missing}"
