"""Test support, imported by a training worker through `JobSpec.imports`: its disk fills up at the third snapshot."""

from nnlab.runs import store
from tests.full_disk import full_disk_saver

store.atomic_save_tensors = full_disk_saver(store.atomic_save_tensors, 3)
