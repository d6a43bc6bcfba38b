"""Test-wide settings: one torch thread per worker (pytest-xdist runs two workers)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import torch

torch.set_num_threads(1)

from tests.helpers.browser import chromium  # noqa: E402, F401  (a session fixture)
