"""proofs/released.py: every record names a claim that exists, a full commit and a file, and states its fact."""

import re

from iclcheck.proofs.registry import select
from iclcheck.proofs.released import RELEASED, released_code


def test_records_are_well_formed_and_keyed_by_registered_claims():
    keys = {c.key for c in select(None)}
    assert set(RELEASED) <= keys, set(RELEASED) - keys
    for key, records in RELEASED.items():
        assert records and released_code(key) == records
        for r in records:
            assert re.fullmatch(r"[^/\s]+/[^/\s]+", r.repo) and re.fullmatch(r"[0-9a-f]{40}", r.commit), r
            assert r.path and not r.path.startswith("/") and len(r.fact) > 40
            assert r.to_dict()["differs"] is r.differs


def test_the_claims_whose_findings_rest_on_the_code_have_records():
    for key in ("ahn2023.lemma1", "vonoswald2023.setup", "fu2023.eq5", "fu2023.rates",
                "ahn2023.thm3", "ahn2023.thm4", "ahn2023.fig2", "ahn2023.fig4"):
        assert released_code(key), key
    assert released_code("no.such.claim") == ()
