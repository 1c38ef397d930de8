"""``python -m iclcheck``: the same as the ``iclcheck`` command."""

import sys

from iclcheck.cli.main import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
