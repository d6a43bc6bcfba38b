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
