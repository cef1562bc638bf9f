"""SAM's training losses: focal and dice on mask logits (weighted 20:1), and the IoU the masks reach.

Every function reduces over the last two (pixel) axes only, so a (P, K, H, W) batch of K candidate
masks per prompt gives (P, K) losses and the caller can pick the best candidate per prompt.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

FOCAL_WEIGHT = 20.0
"""Weight of the focal loss in `segmentation_loss` (SAM's 20:1 focal:dice)."""
DICE_WEIGHT = 1.0
"""Weight of the dice loss in `segmentation_loss`."""


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float | None = None,
               gamma: float = 2.0) -> torch.Tensor:
    """Sigmoid focal loss (Lin et al.) averaged over pixels; targets in [0, 1], broadcastable to logits.

    `alpha` weighs foreground pixels by alpha and background ones by 1 - alpha; None weighs both
    alike (the detection default 0.25 starves small objects of gradient: see docs/demo-model.md).
    """
    targets = targets.to(logits.dtype).expand_as(logits)
    prob = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = (1 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean(dim=(-2, -1))


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft dice between sigmoid(logits) and targets, per mask."""
    targets = targets.to(logits.dtype).expand_as(logits)
    prob = torch.sigmoid(logits)
    overlap = (prob * targets).sum(dim=(-2, -1))
    total = prob.sum(dim=(-2, -1)) + targets.sum(dim=(-2, -1))
    return 1 - (2 * overlap + smooth) / (total + smooth)


def segmentation_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """SAM's mask loss: 20 x focal + 1 x dice, per mask."""
    return FOCAL_WEIGHT * focal_loss(logits, targets) + DICE_WEIGHT * dice_loss(logits, targets)


def mask_iou(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """IoU of bool masks with bool targets, per mask; 1 where both are empty."""
    inter = (predicted & targets).sum(dim=(-2, -1)).float()
    union = (predicted | targets).sum(dim=(-2, -1)).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
