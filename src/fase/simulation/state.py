"""What changes during a simulation: the recorded (observed) counts, the patrol
history and the detection random stream.

The model's weights change too, but they live in the forecaster (the "agent"), not
in the environment's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fase.simulation.params import Params, World


@dataclass(frozen=True)
class State:
    """The environment after ``cycle`` completed cycles.

    Attributes:
        cycle: completed cycles (0 at the start).
        observed: (N, T) float64 count record the police hold: the true counts before
            ``Params.start`` (the historical data), the observed counts of every deployed
            period, NaN for bins not yet deployed (unknown). Paper mode never updates it.
        patrol: (N, T) float64 patrol units allocated per bin (0 where none was deployed).
        deployed_end: bins [0, deployed_end) are recorded.
        rng: the generator that draws detection outcomes (binomial mode).
    """

    cycle: int
    observed: np.ndarray
    patrol: np.ndarray
    deployed_end: int
    rng: np.random.Generator

    def record(self, start: int, stop: int, observed: np.ndarray, patrol: np.ndarray) -> State:
        """A new state with period [start, stop) recorded: ``observed``, ``patrol`` (N, L)."""
        record = self.observed.copy()
        patrols = self.patrol.copy()
        record[:, start:stop] = observed
        patrols[:, start:stop] = patrol
        return State(self.cycle + 1, record, patrols, max(self.deployed_end, stop), self.rng)

    def advance(self) -> State:
        """A new state one cycle later with the same record (paper mode)."""
        return State(self.cycle + 1, self.observed, self.patrol, self.deployed_end, self.rng)


def initial_state(params: Params, world: World, rng: np.random.Generator) -> State:
    """The state before the first cycle: history up to ``params.start``, nothing deployed."""
    observed = np.full(world.true_counts.shape, np.nan)
    observed[:, : params.start] = world.true_counts[:, : params.start]
    patrol = np.zeros(world.true_counts.shape)
    return State(0, observed, patrol, params.start, rng)
