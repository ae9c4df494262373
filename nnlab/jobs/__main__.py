"""`python -m nnlab.jobs`: a training worker process (see `nnlab.jobs.worker`); the app starts these."""

import sys

from .worker import main

sys.exit(main())
