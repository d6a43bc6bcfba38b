"""Inverted dropout whose mask costs one 32-bit random word per element.

``nn.Dropout`` on the CPU draws its mask with ``bernoulli_``, one Mersenne-Twister
number per element (about 10 ns each on the benchmark machine): a tenth of a training
step of the paper model. :class:`Dropout` computes the same function,

    out = x ⊙ m / q,   m ~ Bernoulli(q) i.i.d.,   q = 1 − p,

with 1/q applied exactly as ``nn.Dropout`` does (float division in the dtype of x), but
draws m as u < round(q·2³²) from uniform 32-bit words u of NumPy's SFC64 generator, so
P(m = 1) = q to within 2⁻³³. The generator is seeded with one 63-bit draw from torch's
global RNG per call: ``torch.manual_seed``, ``torch.random.fork_rng`` and
``get_rng_state``/``set_rng_state`` govern the masks as they govern ``nn.Dropout``'s
(so a resumed run repeats an uninterrupted one). Tensors on other devices and dtypes
other than float32/float64 use ``F.dropout``.

Inside :func:`scales_from` the multipliers come from a caller instead, in the order the
layers run: the batched retraining of K model copies
(:mod:`fase.training.replicates`) draws each copy's masks as its own run would and
feeds them to the vectorised (``torch.func.vmap``) forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

_WORD = 2**32  # values of one random word
_NUMPY_FLOATS = {torch.float32: np.float32, torch.float64: np.float64}

ScaleSource = Callable[[tuple[int, ...], float, torch.dtype], Tensor]
"""Maps (shape, p, dtype) of a dropout call to its multiplier m/q of that shape."""
_SOURCE: ContextVar[ScaleSource | None] = ContextVar("dropout_scale_source", default=None)


@contextmanager
def scales_from(source: ScaleSource) -> Iterator[None]:
    """Every :class:`Dropout` in training mode multiplies by ``source(shape, p, dtype)``
    instead of drawing its own mask (module docstring)."""
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def dropout_scale(shape: tuple[int, ...], p: float, seed: int, dtype: torch.dtype) -> Tensor:
    """The dropout multiplier m/q, shape ``shape``: 1/q (kept) or 0 (dropped), i.i.d.

    Args:
        shape: the shape of the tensor to drop from.
        p: drop probability, 0 ≤ p < 1.
        seed: seed of the SFC64 stream (same seed, same mask).
        dtype: torch.float32 or torch.float64.
    Returns:
        CPU tensor of ``dtype``; P(entry ≠ 0) = round((1 − p)·2³²)/2³².
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    float_type = _NUMPY_FLOATS[dtype]
    count = int(np.prod(shape, dtype=np.int64))
    words = np.random.SFC64(seed).random_raw((count + 1) // 2).view(np.uint32)[:count]
    kept = words < round((1.0 - p) * _WORD)  # all kept when p = 0
    scale = np.multiply(kept, float_type(1.0) / float_type(1.0 - p), dtype=float_type)
    return torch.from_numpy(scale).view(shape)


class Dropout(nn.Module):
    """Drop-in replacement for ``nn.Dropout(p)`` with cheap CPU masks (module docstring).

    Shapes: x (any) → same shape; the identity in eval mode or when p = 0.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        source = _SOURCE.get()
        if source is not None:
            return x * source(tuple(x.shape), self.p, x.dtype)
        if x.device.type != "cpu" or x.dtype not in _NUMPY_FLOATS:
            return F.dropout(x, self.p, training=True)
        seed = int(torch.randint(2**63 - 1, ()))
        return x * dropout_scale(tuple(x.shape), self.p, seed, x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"
