"""fu2023.rates: the code's alpha passes the rate steps, the printed alpha is a finding (seed 1, an independent draw)."""


def test_printed_alpha_is_a_finding_and_code_alpha_passes(claim_result):
    res = claim_result("fu2023.rates", seed=1)
    by = {s.name: s.status for s in res.steps}
    assert by["iteration counts follow the predicted forms"] == "pass"
    assert by["Newton count grows in log kappa and log log(1/eps), not linearly in kappa"] == "pass"
    assert by["printed alpha = 2/||S S^T||_2 converges"] == "fail" and res.finding
    assert all(s.consistent for s in res.steps)


def test_frobenius_reading_step_passes_and_the_verdict_names_the_reading(claim_result):
    from iclcheck.proofs.report import _verdict_cell

    res = claim_result("fu2023.rates")
    frob = next(s for s in res.steps if s.name.startswith("Frobenius reading"))
    assert frob.status == "pass"
    assert "(||S S^T||_2 read as the spectral norm)" in _verdict_cell(res)
