"""iclcheck.proofs: the comparison. One module per published claim (``proofs.claims``; the pattern is
``proofs/claims/_template.py``), checks several claims share (``proofs.steps``), the registry and runner
(``proofs.registry``: ``Claim.run``), the typed verdicts and tolerances (``proofs.verdict``), the authors'
released-code records (``proofs.released``) and the reports (``proofs.report``); the CLI is ``iclcheck.cli``."""
