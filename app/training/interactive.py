"""One simulated interactive session per object, and its loss: SAM's training recipe for any SAM model.

For every target mask: a first prompt (a random point inside, or a jittered box), then correction
clicks drawn from the error region, each iteration also given the previous low-res logits as mask
input. Single-click predictions use the three multimask outputs and keep the loss of the best one;
the IoU head learns the real IoU by MSE. Works on a plain or a MoPEFT-wrapped SAM 1 or SAM 2.1: the
prompt encoding and mask decoding are its family's (`app.training.family`), on features the caller computed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from app.training.family import training_family
from app.training.losses import mask_iou, segmentation_loss
from app.training.prompts import Prompts, correction_clicks, jittered_boxes, sample_points
from app.training.sam_family import decode  # SAM 1's batched decoder, which lived here first

__all__ = ["InteractiveConfig", "InteractiveLoss", "decode", "interactive_loss"]


@dataclass(frozen=True)
class InteractiveConfig:
    """How one training step simulates a user.

    max_clicks: correction clicks after the first prompt; each step draws 1..max_clicks (0: none).
    box_probability: chance that an object's first prompt is a box rather than a point.
    iou_weight: weight of the IoU-prediction MSE next to the mask loss.
    loss_side: side of the square the losses are computed at: the decoder's low-res logits are
      resized to it and the targets area-averaged to it (soft at the edges); None keeps the
      low-res side (64 for the demo model, 256 for ViT-B/L/H).
    Only the first and the last iteration carry gradient (the mask loss is their mean); the
    iterations in between run without it, which keeps a step's cost near two decoder passes.
    """

    max_clicks: int = 2
    box_probability: float = 0.5
    iou_weight: float = 1.0
    loss_side: int | None = None


@dataclass
class InteractiveLoss:
    """The loss of one step (call `.loss.backward()`) and its parts as plain numbers for logging."""

    loss: torch.Tensor
    mask_loss: float
    iou_mse: float
    first_iou: float  # mean IoU of the masks chosen after the first prompt
    last_iou: float  # mean IoU after the last correction click


def _graded_terms(low: torch.Tensor, iou_pred: torch.Tensor, targets: torch.Tensor,
                  multi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row mask loss of the best allowed candidate, and the summed IoU-head squared errors.

    Rows in `multi` compete their three multimask outputs (loss of the best one), the others use the
    single-mask output 0. low: (N, 4, s, s) logits at the loss side; targets (N, s, s) in [0, 1].
    """
    seg_rows = torch.zeros(len(low), device=low.device)
    squared = low.new_zeros(())
    for rows, candidates in ((multi, [1, 2, 3]), (~multi, [0])):
        idx = rows.nonzero()[:, 0]
        if not len(idx):
            continue
        logits, target = low[idx][:, candidates], targets[idx, None]
        seg = segmentation_loss(logits, target)
        real = mask_iou(logits.detach() > 0, target > 0.5)
        seg_rows = seg_rows.index_put((idx,), seg.min(dim=1).values)
        squared = squared + ((iou_pred[idx][:, candidates] - real) ** 2).sum()
    return seg_rows, squared


def interactive_loss(sam: nn.Module, embeddings, targets: list[torch.Tensor],
                     config: InteractiveConfig = InteractiveConfig(),
                     generator: torch.Generator | None = None) -> InteractiveLoss:
    """Simulate prompting every target of every image and return SAM's loss over the session.

    embeddings: the B images' features as the family's decoder reads them (SAM 1: (B, C, h, w) image embeddings;
    SAM 2.1: [s0, s1, embedding]), with gradient if the encoder trains.
    targets: B bool tensors (P_b, H, W) of non-empty object masks in the model's input frame, on the model's
    device (H = W = the encoder's input size). `generator` makes the prompts reproducible.
    """
    family = training_family(sam)
    gt = torch.cat(targets).bool()
    n, device = len(gt), gt.device
    owners = torch.cat([torch.full((len(t),), b, device=device) for b, t in enumerate(targets)])
    use_box = (torch.rand(n, generator=generator) < config.box_probability).to(device)
    first_points = sample_points(gt, generator)
    boxes = jittered_boxes(gt, generator)
    clicks = torch.zeros(n, 0, 2, device=device)
    click_labels = torch.zeros(n, 0, dtype=torch.long, device=device)
    extra = int(torch.randint(1, config.max_clicks + 1, (1,), generator=generator)) if config.max_clicks else 0
    single = torch.tensor([True, False, False, False], device=device)
    rows = torch.arange(n, device=device)
    soft_targets = None
    mask_input, terms, seg_parts, mse_parts, ious = None, [], [], [], []
    for step in range(extra + 1):
        graded = step in (0, extra)
        with torch.set_grad_enabled(graded and torch.is_grad_enabled()):
            prompts = Prompts(first_points, boxes, use_box, clicks, click_labels)
            low, iou_pred = family.decode_prompts(sam, embeddings, owners, prompts, mask_input)
            low, iou_pred = low.float(), iou_pred.float()
            multi = ~use_box if step == 0 else torch.zeros_like(use_box)
            allowed = torch.where(multi[:, None], ~single, single)
            pick = iou_pred.detach().masked_fill(~allowed, -torch.inf).argmax(dim=1)
            picked = low[rows, pick][:, None].detach()
            chosen = F.interpolate(picked, size=gt.shape[-2:], mode="bilinear", align_corners=False)[:, 0] > 0
            ious.append(float(mask_iou(chosen, gt).mean()))
            if graded:
                side = config.loss_side or low.shape[-1]
                if soft_targets is None:
                    soft_targets = F.interpolate(gt[:, None].float(), size=(side, side), mode="area")[:, 0]
                if side != low.shape[-1]:
                    low = F.interpolate(low, size=(side, side), mode="bilinear", align_corners=False)
                seg, squared = _graded_terms(low, iou_pred, soft_targets, multi)
                mse = squared / allowed.sum()
                terms.append(seg.mean() + config.iou_weight * mse)
                seg_parts.append(float(seg.detach().mean()))
                mse_parts.append(float(mse.detach()))
        if step < extra:
            mask_input = picked
            points, labels = correction_clicks(chosen, gt, generator)
            clicks = torch.cat([clicks, points[:, None]], dim=1)
            click_labels = torch.cat([click_labels, labels[:, None]], dim=1)
    loss = torch.stack(terms).mean()
    return InteractiveLoss(loss, sum(seg_parts) / len(seg_parts), sum(mse_parts) / len(mse_parts), ious[0], ious[-1])
