"""Process-wide runtime settings, set deliberately once per command.

Oversubscribing a small machine's cores costs several-fold here, so the thread
count is explicit (``--threads``, default 2) rather than torch's default.
"""

from __future__ import annotations

import os

DEFAULT_THREADS = 2


def configure_threads(n_threads: int = DEFAULT_THREADS) -> None:
    """Use ``n_threads`` intra-op threads and one inter-op thread in torch."""
    import torch

    n_threads = max(1, int(n_threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(n_threads))
    torch.set_num_threads(n_threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started: keep the first setting
        pass
