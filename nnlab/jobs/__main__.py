"""`python -m nnlab.jobs IN OUT`: a training worker process on two pipe ends (see `nnlab.jobs.worker`)."""

import sys

from .worker import main

sys.exit(main(sys.argv[1:]))
