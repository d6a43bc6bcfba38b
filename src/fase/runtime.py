"""Process-wide runtime settings, set deliberately once per command.

Oversubscribing a small machine's cores costs several-fold here, so the thread
count is explicit (``--threads``, default 2) rather than torch's default.
"""

from __future__ import annotations

import contextlib
import os

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
