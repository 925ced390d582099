"""The hardware generation network: architecture parameters -> an accelerator choice.

DANCE (as recalled, ASSUMPTIONS ``hardware_generator``) maps the architecture parameters to an
accelerator with a small network and samples each design dimension with a Gumbel softmax, so
the search can move the accelerator by backpropagation.  Here the input is the per-layer softmax
of alpha, concatenated; an MLP gives one logit per value of every design dimension; a sample is
a *hard* one-hot per dimension whose gradient is the soft Gumbel-softmax's (straight-through).

The last layer starts at zero, so the first designs are drawn uniformly.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def gumbel_noise(shape, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=generator).clamp_(1e-10, 1 - 1e-10)
    return -torch.log(-torch.log(u))


def straight_through_sample(logits: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """A hard one-hot sample of ``softmax((logits + g) / tau)`` with the soft sample's gradient."""
    soft = F.softmax((logits + gumbel_noise(logits.shape, generator).to(logits.device)) / tau, dim=-1)
    hard = F.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


class HardwareGenerator(nn.Module):
    """MLP from the architecture parameters to logits per design dimension."""

    def __init__(self, arch_dim: int, cardinalities: list, hidden: int = 64):
        super().__init__()
        if hidden < 1 or arch_dim < 1 or not cardinalities or min(cardinalities) < 1:
            raise ValueError(f"generator: hidden={hidden}, arch_dim={arch_dim} and cardinalities={cardinalities} "
                             f"must be positive")
        self.cards = list(cardinalities)
        self.body = nn.Sequential(nn.Linear(arch_dim, hidden), nn.SiLU())
        self.head = nn.Linear(hidden, sum(self.cards))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, arch_params: torch.Tensor) -> list:
        """Logits per design dimension (a list of tensors of each dimension's size)."""
        return list(torch.split(self.head(self.body(arch_params)), self.cards, dim=-1))

    def sample(self, arch_params: torch.Tensor, tau: float, generator: torch.Generator) -> list:
        """A straight-through one-hot per design dimension."""
        return [straight_through_sample(lg, tau, generator) for lg in self(arch_params)]

    @torch.no_grad()
    def derive(self, arch_params: torch.Tensor) -> list[int]:
        """The most likely value index of every design dimension."""
        return [int(lg.argmax(-1)) for lg in self(arch_params)]

    @torch.no_grad()
    def probabilities(self, arch_params: torch.Tensor) -> list[list[float]]:
        return [F.softmax(lg, -1).tolist() for lg in self(arch_params)]
