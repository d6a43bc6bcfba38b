"""Shared model fixtures: a random 25-node area graph and the paper's model settings."""

from __future__ import annotations

import pytest
import torch

from fase.config.model import ModelConfig


def random_graph(num_nodes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A_combined, A_geo): a symmetric binary contiguity with zero diagonal, and
    0.6·D⁻¹A_geo + 0.4·(random similarity ≥ 0.5) + I as in the paper's graph phase."""
    gen = torch.Generator().manual_seed(seed)
    upper = torch.triu((torch.rand(num_nodes, num_nodes, generator=gen) < 0.2).float(), diagonal=1)
    a_geo = upper + upper.T
    similarity = torch.rand(num_nodes, num_nodes, generator=gen)
    similarity = (similarity + similarity.T) / 2
    a_feat = torch.where(similarity >= 0.5, similarity, 0.0).fill_diagonal_(0.0)
    degree = a_geo.sum(1, keepdim=True).clamp(min=1)
    combined = (0.6 * a_geo / degree + 0.4 * a_feat).fill_diagonal_(1.0)
    return combined, a_geo


@pytest.fixture
def graph() -> tuple[torch.Tensor, torch.Tensor]:
    return random_graph(25, seed=3)


@pytest.fixture
def paper_config() -> ModelConfig:
    """The paper preset's model block (everything else at its default)."""
    return ModelConfig(hawkes_self_excitation=False, hawkes_history="restart", likelihood_eps=1e-6)
