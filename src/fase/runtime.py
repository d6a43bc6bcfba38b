"""Process-wide runtime settings, set deliberately once per command, and the one place
that seeds torch's random number generator.

Oversubscribing a small machine's cores costs several-fold here, so the thread count is
explicit (``--threads``, default 2) rather than torch's default.

Randomness: NumPy code takes explicit ``numpy.random.Generator`` objects and minibatch
orders come from explicit ``torch.Generator`` objects. Weight initialisation and dropout
masks draw from torch's global generator (``nn.Module`` constructors take no generator);
they run inside :func:`torch_seeded`, which seeds that generator for the block only and
restores the caller's state afterwards, so no function leaves global RNG state behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

DEFAULT_THREADS = 2


def configure_threads(n_threads: int = DEFAULT_THREADS) -> None:
    """Use ``n_threads`` intra-op threads and one inter-op thread in torch."""
    import torch

    n_threads = max(1, int(n_threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(n_threads))
    torch.set_num_threads(n_threads)
    # Raises once set or once parallel work has started: the first setting stays.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


@contextlib.contextmanager
def torch_seeded(seed: int, devices: list[int] | None = None) -> Iterator[None]:
    """Run the block with torch's global generator seeded with ``seed``; the caller's
    generator state (CPU, and the CUDA ``devices``) is restored afterwards.

    The same seed gives the same weight initialisation and dropout masks on the CPU.
    """
    import torch

    with torch.random.fork_rng(devices=devices or []):
        torch.manual_seed(seed)
        yield
