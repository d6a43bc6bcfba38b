"""The model-zoo study's "CrimeNet": an LSTM over each area's sequence of past counts.

For every area the LSTM reads, bin by bin, the input

    u_s = [x_s, log(1 + y_{s−1}), 1]     at the window's bins (features available)
    u_s = [0,   log(1 + y_{s−1}), 0]     at the P history bins before the window

(zeros are the training mean of the standardised features; the last entry flags which
kind of bin it is), starting from a zero state P bins before the window, and

    μ_s = softplus(w·h_s + c) + 10⁻⁶,    h_s = LSTM state after u_s,
    (or K means, one per crime type, or the five risk-level logits: :class:`Readout`)

so μ at bin s uses features up to s and counts up to s − 1 (one step ahead). The study
feeds "a sequence of historical crime counts" and picks 128 hidden units, lr 10⁻³ and
the squared error of μ as loss; the predictive distribution is Poisson(μ).

Memory. An LSTM's state depends on every bin since its start, so a forecast that starts
the LSTM ``warmup`` bins before a span is an approximation of one that ran from bin 0;
the forecaster uses warmup = the training window W (every forecast bin then has at
least the P + W bins of context of a training window's last position) and the tests
check that longer warmups change the forecast little.

Parameters: 4·H·(F + 2 + H) + 8·H (LSTM, two bias vectors) + (H + 1)·K (head);
74,369 for F = 13, H = 128, K = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fase.models.distributions import CountDistribution
from fase.models.heads import Readout

STUDY_HISTORY_DAYS = 28
"""The study's LSTM reads four weeks of past counts."""
MAX_HISTORY_BINS = 168
"""At most a week of sub-daily bins (the LSTM runs over P + W bins in every window)."""


def crimenet_history_steps(bins_per_day: int) -> int:
    """P, the count-only bins before each window: the study's four weeks, at most 168 bins.

    Daily bins: 28 (the study). Hourly bins: 168 (a week), because the LSTM runs over
    P + W bins in every training window and four weeks (672) would make each pass four
    times longer again; the 7-day rolling-mean feature and the state carried through
    the window hold the longer memory (a documented deviation).
    """
    return min(STUDY_HISTORY_DAYS * bins_per_day, MAX_HISTORY_BINS)


class CrimeNetLSTM(nn.Module):
    """LSTM over [features, previous count] per area (module docstring).

    Args:
        num_features: F.
        history_steps: P ≥ 1, count-only bins read before each window.
        hidden: H, LSTM units.
        outputs, level_thresholds: what the last layer gives (:class:`Readout`).

    Shapes: x (B, N, W, F), y_hist (B, N, P + W) counts → {"mu": (B, N, W)}, or
    (B, N, W, K), or {"logits": (B, N, W, 5)}.
    """

    def __init__(
        self,
        num_features: int,
        history_steps: int,
        hidden: int = 128,
        *,
        outputs: int = 1,
        level_thresholds: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if history_steps < 1:
            raise ValueError(f"CrimeNet needs history_steps ≥ 1, got {history_steps}")
        self._history_steps = history_steps
        self.lstm = nn.LSTM(num_features + 2, hidden)
        self.head = Readout(hidden, outputs, level_thresholds)

    @property
    def history_steps(self) -> int:
        """P, bins of counts passed before each window."""
        return self._history_steps

    def inputs(self, x: Tensor, y_hist: Tensor) -> Tensor:
        """The LSTM inputs u (B, N, P + W, F + 2) of the module docstring."""
        batch, nodes, steps, _ = x.shape
        past = self.history_steps
        if y_hist.shape != (batch, nodes, past + steps):
            raise ValueError(
                f"y_hist must have shape ({batch}, {nodes}, {past} + {steps}), "
                f"got {tuple(y_hist.shape)}"
            )
        previous = F.pad(torch.log1p(y_hist.to(x.dtype)[..., :-1]), (1, 0))  # y_{s−1}, 0 at s=0
        features = F.pad(x, (0, 0, past, 0))  # zero features at the history bins
        flag = torch.cat([x.new_zeros(past), x.new_ones(steps)])
        flag = flag.expand(batch, nodes, past + steps)
        return torch.cat([features, previous.unsqueeze(-1), flag.unsqueeze(-1)], dim=-1)

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        batch, nodes, steps, _ = x.shape
        # time-major (P + W, B·N, F + 2): the CPU LSTM runs ~1.7× faster than batch-first
        sequences = self.inputs(x, y_hist).flatten(0, 1).transpose(0, 1).contiguous()
        states, _ = self.lstm(sequences)
        window = states[self.history_steps :].transpose(0, 1)  # (B·N, W, H)
        params = self.head(window.reshape(batch, nodes, steps, -1))
        return params

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """Poisson(μ) around the predicted mean(s), or the law of the risk levels."""
        return self.head.distribution(params)
