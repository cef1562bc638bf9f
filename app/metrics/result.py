"""Per-dataset summary of an evaluation: mean 1-click IoU, mean NoC@85 and NoC@90, number of instances."""
from __future__ import annotations

import math
from dataclasses import dataclass

from app.metrics.interactive import InstanceResult


@dataclass(frozen=True)
class EvalResult:
    """The instances evaluated, in order, and how the run went.

    Means over no instances are NaN. `cancelled` is true when `cancel()` stopped the run early: the means
    then cover the instances done so far only.
    """

    instances: tuple[InstanceResult, ...]
    max_clicks: int
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def count(self) -> int:
        """Number of instances evaluated."""
        return len(self.instances)

    @property
    def miou_1click(self) -> float:
        """Mean over instances of the IoU after one click (the "1-click mIoU")."""
        return self._mean([r.iou_1click for r in self.instances])

    @property
    def noc85(self) -> float:
        """Mean number of clicks to reach IoU 0.85 (an instance that never does counts `max_clicks`)."""
        return self._mean([r.noc85 for r in self.instances])

    @property
    def noc90(self) -> float:
        """Mean number of clicks to reach IoU 0.90 (an instance that never does counts `max_clicks`)."""
        return self._mean([r.noc90 for r in self.instances])

    def failures(self, threshold: float) -> int:
        """Instances whose IoU never reached `threshold` within `max_clicks` clicks."""
        return sum(max(r.ious) < threshold for r in self.instances)

    def miou_per_click(self) -> list[float]:
        """Mean IoU after 1, 2, ..., `max_clicks` clicks."""
        return [self._mean([r.ious[k] for r in self.instances]) for k in range(self.max_clicks)]

    def summary(self) -> dict:
        """{"miou_1click", "noc85", "noc90", "instances"} as plain floats and an int (JSON-ready)."""
        return {"miou_1click": float(self.miou_1click), "noc85": float(self.noc85),
                "noc90": float(self.noc90), "instances": self.count}

    @staticmethod
    def _mean(values: list) -> float:
        return math.fsum(values) / len(values) if values else math.nan
