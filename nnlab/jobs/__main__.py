"""`python -m nnlab.jobs IN OUT`: a local worker process on the two pipe ends (file descriptors) the app passed it."""

import os
import sys
from multiprocessing.connection import Connection

from .local import serve

serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
# Files written, events sent: go now, not after 2-4 s of unloading torch (three workers at once: bench/classroom.py).
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
