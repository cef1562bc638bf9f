"""Whether a new adapter version replaces the one in use: the one rule the CLI and the window share.

A new version is switched on only when it validated at least as well as the model in use on the same
validation images (or when there was nothing to validate on); otherwise the model in use stays and the new
version is offered with its scores. `ALWAYS` and `NEVER` let the user decide regardless.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ActivationPolicy(str, Enum):
    """When a new version becomes the active one."""

    IF_BETTER = "if-better"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class Activation:
    """The decision and its reason, in words that finish "the new version ..." ."""

    activate: bool
    reason: str


def decide_activation(before: dict | None, after: dict | None,
                      policy: ActivationPolicy | str = ActivationPolicy.IF_BETTER) -> Activation:
    """Decide from the validation summaries of the model in use (`before`) and of the new version (`after`)."""
    policy = ActivationPolicy(policy)
    if policy is ActivationPolicy.ALWAYS:
        return Activation(True, "is used as asked, whatever its validation")
    if policy is ActivationPolicy.NEVER:
        return Activation(False, "is not used, as asked")
    if before is None or after is None:
        return Activation(True, "is used: there were no validation images to compare it on")
    scores = f"1-click mIoU {before['miou_1click']:.2f} → {after['miou_1click']:.2f}"
    if after["miou_1click"] >= before["miou_1click"]:
        return Activation(True, f"is used: it validated at least as well as the model in use ({scores})")
    return Activation(False, f"is not used: it validated worse than the model in use ({scores})")
