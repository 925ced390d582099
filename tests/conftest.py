import os

import pytest
import torch

# Unit tests run tiny tensors: one intra-op thread per test process is faster than two (and
# pytest-xdist runs one process per core), and it keeps float reductions reproducible.
torch.set_num_threads(1)
os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
