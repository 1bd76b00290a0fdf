"""``python -m descentlab ...``, the form ``torchrun -m descentlab ...`` starts on every rank."""

import sys

from descentlab.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
