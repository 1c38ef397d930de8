"""`iclcheck verify` output people read: a brief default after the table (a few short lines per finding), the full
detail behind -v and in --report / --format markdown; a progress bar on a terminal by default (tqdm), none with
--no-progress, one line per claim with --progress when stderr is not a terminal."""

import io
import re
import sys

import pytest

from iclcheck.cli import main
from iclcheck.proofs.report import BRIEF_WIDTH

KEYS = ["ahn2023.lemma1", "fu2023.b3", "fu2023.thm5_1", "li2024"]


@pytest.fixture(scope="module")
def outputs():
    import contextlib

    runs = {}
    for name, extra in (("brief", []), ("verbose", ["-v"]), ("markdown", ["--format", "markdown"])):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["verify", *KEYS, *extra]) == 0
        runs[name] = buf.getvalue()
    return runs


def test_default_is_brief_and_verbose_has_the_detail(outputs):
    brief, verbose = outputs["brief"], outputs["verbose"]
    table_end = brief.index("\n\n")
    after = brief[table_end:].splitlines()
    # after the table: short lines (a finding's parts wrapped at BRIEF_WIDTH; a claim's heading names its verdict)
    assert max(len(ln) for ln in after) <= 2 * BRIEF_WIDTH, max(after, key=len)
    assert sum(len(ln) > BRIEF_WIDTH + 4 for ln in after) <= len(KEYS) + 2  # only the 'key (verdict):' headings
    assert len(brief) < 0.6 * len(verbose) and len(brief) < 8000
    assert "iclcheck verify -v" in brief
    # the full detail is behind -v: e.g. thm5_1's note on the unnormalised sum and eq. (19) padding
    assert "eq. (19)" in verbose and "eq. (19)" not in brief
    assert "eq. (19)" in outputs["markdown"]


def test_brief_output_keeps_what_fails_and_the_corrected_reading(outputs):
    brief = outputs["brief"]
    assert "fu2023.thm5_1 (refuted as printed; V_2 = -V_1 confirmed):" in brief
    assert "  fails: both layers combine two ReLU heads" in brief and "  holds: V_2 = -V_1" in brief
    assert "Refuted as printed" in brief
    assert "li2024" in brief and "recorded reading fails" not in brief.split("\n\n")[0]  # li2024 is confirmed now


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_by_default(monkeypatch, capsys):
    fake = _TTY()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(["verify", "ahn2023.eq7"]) == 0
    err = fake.getvalue()
    # tqdm's bar: description and count out of the total (a fast claim may finish inside tqdm's refresh interval,
    # so the bar may be drawn at 0/1 only before it is cleared)
    assert re.search(r"verify:.*[01]/1 ", err), err
    fake2 = _TTY()
    monkeypatch.setattr(sys, "stderr", fake2)
    assert main(["verify", "ahn2023.eq7", "--no-progress"]) == 0
    assert fake2.getvalue() == ""


def test_progress_lines_when_not_a_terminal(capsys):
    assert main(["verify", "ahn2023.eq7", "--progress"]) == 0
    assert capsys.readouterr().err.startswith("[1/1] ahn2023.eq7: confirmed")


def test_list_shows_the_upgraded_provenance_with_locators(capsys):
    import json

    assert main(["list", "fu2023", "ding2024", "zhang2025", "li2024"]) == 0
    out = capsys.readouterr().out
    assert "    read: camera-ready text, App. B.2: Thm 5.1, the initialization layer eqs. (20)-(24)" in out
    assert "google-research/causallm_icl@f8ccc1e5998729e327986a5255371097d1593d7e:theory_plots.py" in out
    assert "yedizhang/linattn-icl@9a481d5901275b34866cfc12260fc4ec5c891b16:plot_loss.ipynb (loss_at_saddle" in out
    assert main(["list", "ding2024", "--format", "json"]) == 0
    [c] = json.loads(capsys.readouterr().out)["claims"]
    assert c["provenance"] == "READ+3P+READ-code" and "theory_plots.py" in c["locator"]


def test_a_claim_that_cannot_move_says_why_in_list_and_in_verify(capsys):
    import json

    why = "its statement is an identity in the symbol S, with no data setting"
    assert main(["list", "fu2023.b3"]) == 0
    assert f"    fixed: {why}\n" in capsys.readouterr().out
    assert main(["list", "fu2023.b3", "--format", "json"]) == 0
    [c] = json.loads(capsys.readouterr().out)["claims"]
    assert not c["movable"] and c["fixed"] == why
    assert main(["verify", "fu2023.b3", "--cov", "eye:3", "-n", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"(fu2023.b3: {why})" in err
