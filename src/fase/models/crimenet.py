"""The model-zoo study's "CrimeNet": an LSTM over each area's sequence of past counts.

For every area the LSTM reads, bin by bin, the input

    u_s = [x_s, log(1 + y_{s−1}), 1]     at the window's bins (features available)
    u_s = [0,   log(1 + y_{s−1}), 0]     at the P history bins before the window

(zeros are the training mean of the standardised features; the last entry flags which
kind of bin it is), starting from a zero state P bins before the window, and

    μ_s = softplus(w·h_s + c) + 10⁻⁶,    h_s = LSTM state after u_s,

so μ at bin s uses features up to s and counts up to s − 1 (one step ahead). The study
feeds "a sequence of historical crime counts" and picks 128 hidden units, lr 10⁻³ and
the squared error of μ as loss; the predictive distribution is Poisson(μ).

Memory. An LSTM's state depends on every bin since its start, so a forecast that starts
the LSTM ``warmup`` bins before a span is an approximation of one that ran from bin 0;
the forecaster uses warmup = the training window W (every forecast bin then has at
least the P + W bins of context of a training window's last position) and the tests
check that longer warmups change the forecast little.

Parameters: 4·H·(F + 2 + H) + 8·H (LSTM, two bias vectors) + H + 1 (head);
74,369 for F = 13, H = 128.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fase.models.distributions import CountDistribution
from fase.models.dnn import poisson_around_mean, softplus_mean


def crimenet_history_steps(bins_per_day: int) -> int:
    """P, the count-only bins before each window: a week of bins, at most 24.

    Daily bins: 7 (the last week; the study's sequences are past weeks' counts). Hourly
    bins: 24 (a day), because the LSTM runs over P + W bins in every training window and
    a week (168) would make each pass six times longer; the 7-day rolling-mean feature
    and the state carried through the window hold the longer memory.
    """
    return min(7 * bins_per_day, 24)


class CrimeNetLSTM(nn.Module):
    """LSTM over [features, previous count] per area (module docstring).

    Args:
        num_features: F.
        history_steps: P ≥ 1, count-only bins read before each window.
        hidden: H, LSTM units.

    Shapes: x (B, N, W, F), y_hist (B, N, P + W) counts → {"mu": (B, N, W)}.
    """

    def __init__(self, num_features: int, history_steps: int, hidden: int = 128) -> None:
        super().__init__()
        if history_steps < 1:
            raise ValueError(f"CrimeNet needs history_steps ≥ 1, got {history_steps}")
        self._history_steps = history_steps
        self.lstm = nn.LSTM(num_features + 2, hidden)
        self.head = nn.Linear(hidden, 1)

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
        raw = self.head(states[self.history_steps :]).squeeze(-1)  # (W, B·N)
        return {"mu": softplus_mean(raw.T.reshape(batch, nodes, steps))}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """Poisson(μ) around the predicted mean."""
        return poisson_around_mean(params)
