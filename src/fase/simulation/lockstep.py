"""The questions a cycle asks, answered for one simulation or for many together.

A cycle is a generator (:data:`CycleWork`): it yields what it needs from outside the
environment — a forecast (:class:`~fase.forecasters.ForecastRequest`) or an allocation
(:class:`Allocation`) — receives the answer, and returns the deployed cycle
(:class:`~fase.simulation.deployment.PendingCycle`). The rolling fixed point asks for a
forecast and an allocation per pass, up to one pass per bin of the period.

:func:`work_alone` answers one simulation's questions as they come.
:func:`work_together` advances the lanes of a lockstep run (policies × replicates) one
question each per round, and answers a round at once: the forecasts of copies of one
network as one vectorised forward pass (:class:`fase.forecasters.neural.StackedForecasts`;
on a GPU, the kernel launches of one pass instead of one pass per lane), and the
allocations of lanes with equal policies as one call on their stacked rows where the
policy allocates every row on its own (``rows_apart``,
:class:`~fase.allocation.policies.Policy`). A lane
whose period settles in fewer passes leaves the rounds early. Answered together, a
lane's numbers equal its own run's up to float rounding of the batched forward pass;
with ``batched`` off every question is answered alone and the numbers are exactly its
own run's.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from fase.allocation.groups import Groups
from fase.allocation.policies import Policy
from fase.forecasters.base import Forecaster, ForecastRequest
from fase.forecasters.neural import StackedForecasts
from fase.simulation.deployment import PendingCycle
from fase.training.forecast import SpanForecast


@dataclass(frozen=True)
class Allocation:
    """A question of a cycle: allocate ``risk`` (T, N) with ``policy``; the answer is the
    (T, N) patrol."""

    policy: Policy
    risk: np.ndarray


Question = ForecastRequest | Allocation
Answer = SpanForecast | np.ndarray
CycleWork = Generator[Question, Answer, PendingCycle]
"""One cycle of one simulation: yields questions, receives answers, returns the cycle."""
Result = TypeVar("Result")


def work_alone(
    work: Generator[Question, Answer, Result], forecaster: Forecaster, groups: Groups
) -> Result:
    """Run one cycle (or a part of one), answering each question as it comes."""
    answer: Answer | None = None
    while True:
        try:
            question = work.send(answer)  # type: ignore[arg-type]  # None starts the generator
        except StopIteration as done:
            return done.value
        if isinstance(question, Allocation):
            answer = question.policy.allocate(question.risk, groups)
        else:
            answer = forecaster.forecast(question)


def work_together(
    works: Sequence[CycleWork],
    forecasters: Sequence[Forecaster],
    groups: Groups,
    batched: bool = True,
) -> list[PendingCycle]:
    """Run one cycle of every lane in rounds (module docstring); ``forecasters[k]``
    answers lane k's forecasts. Returns every lane's cycle."""
    if not batched:
        return [work_alone(w, f, groups) for w, f in zip(works, forecasters, strict=True)]
    stacked = StackedForecasts(forecasters)  # the weights stay fixed until the retraining
    done: dict[int, PendingCycle] = {}
    answers: dict[int, Answer | None] = dict.fromkeys(range(len(works)))
    while answers:
        questions: dict[int, Question] = {}
        for lane, answer in answers.items():
            try:
                questions[lane] = works[lane].send(answer)  # type: ignore[arg-type]
            except StopIteration as finished:
                done[lane] = finished.value
        answers = _answer(questions, stacked, groups)
    return [done[lane] for lane in range(len(works))]


def _answer(
    questions: dict[int, Question], stacked: StackedForecasts, groups: Groups
) -> dict[int, Answer | None]:
    """One round's answers: forecasts batched, allocations stacked per policy."""
    answers: dict[int, Answer | None] = {}
    forecasts = [lane for lane, q in questions.items() if isinstance(q, ForecastRequest)]
    if forecasts:
        asked = [questions[lane] for lane in forecasts]
        spans = stacked.forecast(forecasts, asked)  # type: ignore[arg-type]
        answers.update(zip(forecasts, spans, strict=True))
    by_policy: dict[tuple, list[int]] = {}
    for lane, question in questions.items():
        if isinstance(question, Allocation):
            policy = question.policy
            key = (policy,) if policy.rows_apart else (policy, lane)
            by_policy.setdefault(key, []).append(lane)
    for (policy, *_), lanes in by_policy.items():
        risks = [questions[lane].risk for lane in lanes]  # type: ignore[union-attr]
        patrol = policy.allocate(np.concatenate(risks), groups)
        edges = np.cumsum([0, *(len(r) for r in risks)])
        for lane, lo, hi in zip(lanes, edges[:-1], edges[1:], strict=True):
            answers[lane] = patrol[lo:hi]
    return answers
