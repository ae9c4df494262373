"""`python -m nnlab.jobs IN OUT`: a local worker process on the two pipe ends (file descriptors) the app passed it."""

import sys
from multiprocessing.connection import Connection

from .local import serve

serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
