"""iclcheck.proofs: the comparison. One module per published claim (``proofs.claims``), the registry,
the verdict types, the reports and the CLI (``iclcheck.cli``, subcommands in ``iclcheck.cli.commands``)."""
