"""The UniPELT gate: sigmoid(Linear(x)) per token, averaged over tokens -> one value per sample."""
from __future__ import annotations

import torch
from torch import nn


class Gate(nn.Module):
    """Learned input-dependent gate in (0, 1).

    forward(x) takes tokens (B, ..., C) and returns (B,): the mean over tokens of sigmoid(w.x + b).
    The last values (detached, batch-averaged, left on the device so that no forward waits for a
    device-to-host copy) are kept for reporting through `last_value`.
    """

    def __init__(self, dim: int, bias: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1)
        if bias:
            with torch.no_grad():
                self.linear.bias.fill_(bias)  # sigmoid(bias) is where the gate starts (about; the weights add noise)
        self._last: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.linear(x)).flatten(1).mean(dim=1)
        self._last = g.detach().mean()
        return g

    @property
    def last_value(self) -> float | None:
        """Batch mean of the gate in the last forward pass; None before any."""
        return None if self._last is None else float(self._last)
