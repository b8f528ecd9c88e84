"""``python -m fastinit``: the ``fastinit`` command (see :mod:`fastinit.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
