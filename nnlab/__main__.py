"""`python -m nnlab ...`: see nnlab.cli."""

import sys

from .cli import main

sys.exit(main())
