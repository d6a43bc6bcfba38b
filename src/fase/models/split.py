"""Model parallelism for FASE: the STGNN encoder on one device, the Hawkes branch and the
count head on another (``model.placement``; see ``docs/model_parallel.md``).

    x ──(to encoder device)──▶ STGNN ──(embedding to head device)──┐
    y_hist ──(to head device)──▶ Hawkes ─▶ Linear(1 → D) ──────────┴─▶ + ─▶ head
    head ──(parameters to the device x came on)──▶ {μ, θ, π}

:class:`SplitFASE` adopts the submodules of a :class:`~fase.models.fase.FASEModel`
under their own names: no parameter is copied, and its ``state_dict`` has the model's
keys, so checkpoints load into either. Its forward is FASE's with an explicit
``.to(device)`` at each boundary (a no-op when both devices are the CPU, the degenerate
case the tests run), and it returns the parameters on the input's device, so the
training engine and :func:`~fase.training.forecast.forecast_span` use it unchanged:
``training.device`` is where the batches and the loss live.

Our model (about 10⁵ parameters) fits on any device; the split only adds transfers. It
pays for encoders too large for one device.
"""

from __future__ import annotations

from typing import Any, Self

import torch
from torch import Tensor, nn

from fase.config.model import ModelPlacement
from fase.errors import FaseInputError
from fase.models.fase import FASEModel

PLACEABLE_TYPES = ("cpu", "cuda")
_DEVICE_HINT = "name cpu, cuda or cuda:K (K a GPU index torch sees)"


def placement_device(name: str | torch.device, source: str) -> torch.device:
    """The device ``name`` (``cpu``, ``cuda`` — the current GPU — or ``cuda:K``) on this
    machine, with an explicit index for a GPU.

    Raises:
        FaseInputError: (``source``) the name is not a cpu or cuda device, or torch does
            not see that GPU.
    """
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise FaseInputError(source, f"{name!r} is not a device name", _DEVICE_HINT) from exc
    if device.type not in PLACEABLE_TYPES:
        raise FaseInputError(
            source, f"cannot place the model on a {device.type} device", _DEVICE_HINT
        )
    if device.type == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise FaseInputError(source, f"{name} was asked for but torch sees no GPU", "use cpu")
    index = torch.cuda.current_device() if device.index is None else device.index
    count = torch.cuda.device_count()
    if index >= count:
        raise FaseInputError(
            source, f"{name} was asked for but torch sees {count} GPU(s)", _DEVICE_HINT
        )
    return torch.device("cuda", index)


class SplitFASE(nn.Module):
    """``model`` with its STGNN on ``encoder_device`` and its Hawkes excitation,
    excitation projection and count head on ``head_device`` (moved there in place).

    Shapes (as :class:`FASEModel`): x (B, N, T, F) and y_hist (B, N, P + T) on any
    device → {name: (B, N, T)} on x's device. Per forward it moves x (B·N·T·F floats) to
    the encoder device, the embedding (B·N·T·D) and y_hist (B·N·(P + T)) to the head
    device and the parameters (B·N·T per parameter) back; backward returns the
    gradients of the embedding and of the parameters the same way.

    The placement is fixed: ``.to(dtype)`` converts, ``.to(device)`` (which the training
    engine calls) leaves every part where it is.

    Args:
        model: the FASE model; it shares every parameter and buffer with the split one.
        encoder_device, head_device: device names (see :func:`placement_device`).
    """

    def __init__(
        self,
        model: FASEModel,
        encoder_device: str | torch.device,
        head_device: str | torch.device,
    ) -> None:
        super().__init__()
        self.encoder_device = placement_device(encoder_device, "model.placement.encoder")
        self.head_device = placement_device(head_device, "model.placement.head")
        self.config = model.config
        self.stgnn = model.stgnn.to(self.encoder_device)
        self.hawkes = None if model.hawkes is None else model.hawkes.to(self.head_device)
        if model.hawkes is not None:
            self.hawkes_proj = model.hawkes_proj.to(self.head_device)
        self.head = model.head.to(self.head_device)

    # FASE's own code, run on the adopted submodules (the same attribute names)
    history_steps = FASEModel.history_steps
    decode = FASEModel.decode
    distribution = FASEModel.distribution

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        embedding = self.stgnn(x.to(self.encoder_device)).to(self.head_device)
        params = self.decode(embedding, y_hist.to(self.head_device))
        return {name: value.to(x.device) for name, value in params.items()}

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """Convert the floating-point parameters to a dtype if one is given; ignore devices."""
        _, dtype, non_blocking, _ = torch._C._nn._parse_to(*args, **kwargs)
        if dtype is None:
            return self
        return super().to(dtype=dtype, non_blocking=non_blocking)


def split_by_placement(model: FASEModel, placement: ModelPlacement | None) -> FASEModel | SplitFASE:
    """``model`` split as ``placement`` says, or ``model`` itself for ``None``."""
    return model if placement is None else SplitFASE(model, placement.encoder, placement.head)
