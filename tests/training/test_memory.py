"""The allocator setting applies on glibc Linux and leaves results unchanged."""

from __future__ import annotations

import platform
import sys

import pytest
import torch

from fase.training.memory import keep_freed_memory


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_keep_freed_memory_applies_on_glibc() -> None:
    a = torch.randn(256, 256, generator=torch.Generator().manual_seed(0))
    before = a @ a
    assert keep_freed_memory() is True
    assert torch.equal(a @ a, before)


PAGE_FAULTS = """
import resource, sys, torch
from fase.training.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
torch.zeros(2**23).add_(1)  # warm-up: 32 MB
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.zeros(2**23).add_(1)  # allocated, touched and freed every time, like activations
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_blocks_are_reused_without_page_faults() -> None:
    """The mechanism itself: 20 allocations of a 32 MB tensor fault in their 8,192 pages
    each time by default (about 164,000 minor faults), and once freed memory is kept
    only the first one does (8,192). Each process is measured on its own: the setting is
    process-wide."""
    import subprocess

    def faults(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", PAGE_FAULTS, mode], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())

    default, kept = faults("default"), faults("keep")
    assert default > 20 * 8192 * 0.8
    assert kept < default / 10  # measured: 163,860 vs 8,192
