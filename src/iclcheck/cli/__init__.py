"""iclcheck.cli: the ``iclcheck`` command. Input grammar (``inputs``), output formatting (``formatting``)
and one module per subcommand (``commands``). The CLI may import every other room; nothing imports it.
Only the CLI knows flag names: the library raises errors that name its own parameters."""

from iclcheck.cli.main import main

__all__ = ["main"]
