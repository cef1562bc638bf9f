"""The image encoder's neck in float32 whatever the autocast.

The blocks' matrix products run under the caller's autocast; the neck does not: its LayerNorm2d computes mean and
variance by hand, and in bfloat16 that rounding moved the demo model's masks (`mopeft bench precision`). The
attention's softmax stays in float32 too (`app.sam.attention`).
"""
from __future__ import annotations

import torch
from segment_anything.modeling import Sam


AUTOCAST_DEVICES = ("cpu", "cuda", "mps", "xpu")


class Float32Neck(torch.nn.Sequential):
    """segment_anything's neck (convolutions and LayerNorm2d), same modules and weights, run in float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type not in AUTOCAST_DEVICES:  # e.g. "meta", where no autocast can be on
            return super().forward(x.float())
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


def use_float32_neck(sam: Sam) -> Sam:
    """Make the encoder's neck a `Float32Neck` (a class change: parameters, state-dict keys and checkpoints stay
    as they are); returns `sam`."""
    neck = sam.image_encoder.neck
    if type(neck) is torch.nn.Sequential:
        neck.__class__ = Float32Neck
    return sam
