"""`iclcheck new-claim KEY`: writes the claim module and its test from the template, validates KEY, never overwrites;
the written claim loads with --claims and its written test passes."""

import subprocess
import sys

import pytest

from iclcheck.cli import main
from iclcheck.proofs.registry import all_claims


def test_writes_a_claim_that_runs_and_a_test_that_passes(tmp_path, capsys):
    assert main(["new-claim", "smith2024.thm2", "--dir", str(tmp_path / "claims"),
                 "--tests-dir", str(tmp_path / "tests")]) == 0
    claim_file = tmp_path / "claims" / "smith2024_thm2.py"
    test_file = tmp_path / "tests" / "test_smith2024_thm2.py"
    assert claim_file.is_file() and test_file.is_file()
    assert str(claim_file) in capsys.readouterr().out
    claim = all_claims(paths=[tmp_path / "claims"])["smith2024.thm2"]
    assert claim.origin == f"file {claim_file}"
    assert main(["verify", "smith2024.thm2", "--claims", str(claim_file)]) == 0
    assert "confirmed" in capsys.readouterr().out
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr


def test_refuses_to_overwrite(tmp_path, capsys):
    assert main(["new-claim", "smith2024.thm2", "--dir", str(tmp_path)]) == 0
    before = (tmp_path / "smith2024_thm2.py").read_text()
    (tmp_path / "smith2024_thm2.py").write_text(before + "# edited\n")
    capsys.readouterr()
    assert main(["new-claim", "smith2024.thm2", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert (tmp_path / "smith2024_thm2.py").read_text().endswith("# edited\n")
    (tmp_path / "smith2024_thm2.py").unlink()  # only the test file left: still refused, nothing written
    assert main(["new-claim", "smith2024.thm2", "--dir", str(tmp_path)]) == 2
    assert not (tmp_path / "smith2024_thm2.py").exists()


@pytest.mark.parametrize("key", ["smith.thm2", "Smith2024.thm2", "smith2024", "smith2024.", "smith2024.th-m2",
                                 "smith2024.2thm", "../x2024.a", "smith2024.thm 2", "smith2024.thm2/../x"])
def test_validates_the_key(tmp_path, capsys, key):
    assert main(["new-claim", key, "--dir", str(tmp_path)]) == 2
    assert "is not a claim key" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_multi_part_key(tmp_path):
    assert main(["new-claim", "zfb2024.thm4_2.error", "--dir", str(tmp_path)]) == 0
    assert "zfb2024.thm4_2.error" in all_claims(paths=[tmp_path])
