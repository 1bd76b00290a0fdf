"""``python -m descentlab.cli ...``: the same as ``descentlab ...``."""

import sys

from descentlab.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
