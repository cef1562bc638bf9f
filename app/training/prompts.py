"""Simulated user prompts for training SAM: random first clicks, noisy boxes, random correction clicks.

All functions take a batch of masks (P, H, W) as torch bool tensors on any device and return
coordinates as (x, y) pixels of the masks' own frame (for SAM: the model's input frame), which is
what `PromptEncoder` expects. Random draws take an optional `torch.Generator` for reproducibility.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Prompts:
    """The prompts of N rows (objects) at one iteration of a simulated session, in the model's input frame.

    A row whose `use_box` is set is prompted with its box plus the correction clicks, any other row with its first
    point plus the clicks. first_points (N, 2) and clicks (N, k, 2) are xy; boxes (N, 4) x0 y0 x1 y1; click_labels
    (N, k) long, 1 positive, 0 negative.
    """

    first_points: torch.Tensor
    boxes: torch.Tensor
    use_box: torch.Tensor
    clicks: torch.Tensor
    click_labels: torch.Tensor

    def groups(self, mask_input: torch.Tensor | None):
        """(box rows?, their indices, their mask inputs or None): the box rows, then the point rows, an empty group
        left out. A model family embeds the two apart (their prompts differ in kind) and puts the rows back in
        place with `in_row_order`."""
        for box_rows in (True, False):
            idx = (self.use_box if box_rows else ~self.use_box).nonzero()[:, 0]
            if len(idx):
                yield box_rows, idx, None if mask_input is None else mask_input[idx]


def in_row_order(done: torch.Tensor | None, rows: int, idx: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """`done` ((rows, ...), zeros when None) with the `values` of rows `idx` put in their place."""
    if done is None:
        done = values.new_zeros((rows, *values.shape[1:]))
    return done.index_copy(0, idx, values)


def _uniform_pixel(where: torch.Tensor, width: int, generator: torch.Generator | None) -> torch.Tensor:
    """One pixel per row, uniformly among the row's True pixels; where (P, H*W) bool. Returns (P, 2) xy."""
    cumulative = where.cumsum(dim=1)
    draw = torch.rand(len(where), generator=generator).to(where.device)
    rank = (draw * cumulative[:, -1]).long().clamp(max=cumulative[:, -1] - 1)
    flat = torch.searchsorted(cumulative, (rank + 1)[:, None])[:, 0]
    return torch.stack([flat % width, flat // width], dim=1).float()


def sample_points(masks: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random pixel inside each mask, uniformly (SAM's first-click simulation); (P, 2) float xy.

    Every mask must hold at least one pixel.
    """
    if not masks.flatten(1).any(dim=1).all():
        raise ValueError("sample_points needs non-empty masks")
    return _uniform_pixel(masks.flatten(1), masks.shape[-1], generator)


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Tight boxes (x0, y0, x1, y1) of each non-empty mask, in pixel coordinates inclusive; (P, 4) float."""
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    h, w = masks.shape[-2:]
    ys = torch.arange(h, device=masks.device)
    xs = torch.arange(w, device=masks.device)
    big = max(h, w)
    y0 = torch.where(rows, ys, big).min(dim=1).values
    y1 = torch.where(rows, ys, -1).max(dim=1).values
    x0 = torch.where(cols, xs, big).min(dim=1).values
    x1 = torch.where(cols, xs, -1).max(dim=1).values
    return torch.stack([x0, y0, x1, y1], dim=1).float()


def jittered_boxes(masks: torch.Tensor, generator: torch.Generator | None = None, noise: float = 0.1,
                   max_shift: float = 20.0) -> torch.Tensor:
    """Each mask's tight box with every corner moved by Gaussian noise (SAM's box prompt simulation).

    The noise has a standard deviation of `noise` times the box side along that axis, capped at
    `max_shift` pixels; corners stay inside the image and in order. Returns (P, 4) x0 y0 x1 y1.
    """
    boxes = mask_boxes(masks)
    side = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], dim=1).repeat(1, 2) + 1
    step = torch.randn(boxes.shape, generator=generator).to(boxes.device) * noise * side
    moved = boxes + step.clamp(-max_shift, max_shift)
    h, w = masks.shape[-2:]
    limit = torch.tensor([w - 1, h - 1, w - 1, h - 1], dtype=moved.dtype, device=moved.device)
    moved = torch.minimum(moved.clamp(min=0), limit)
    x0, x1 = torch.minimum(moved[:, 0], moved[:, 2]), torch.maximum(moved[:, 0], moved[:, 2])
    y0, y1 = torch.minimum(moved[:, 1], moved[:, 3]), torch.maximum(moved[:, 1], moved[:, 3])
    return torch.stack([x0, y0, x1, y1], dim=1)


def correction_clicks(predicted: torch.Tensor, target: torch.Tensor,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A click drawn uniformly from each prediction's error region, labelled as a user would.

    predicted, target: (P, H, W) bool. A click on missed foreground (target and not predicted) is
    positive (label 1), one on a false positive is negative (label 0). Where the prediction is
    already exact the click is a positive one inside the target. Returns points (P, 2) float xy and
    labels (P,) long. Every target must hold at least one pixel.
    """
    error = predicted ^ target
    exact = ~error.flatten(1).any(dim=1)
    where = torch.where(exact[:, None, None], target, error)
    if not where.flatten(1).any(dim=1).all():
        raise ValueError("correction_clicks needs non-empty targets")
    points = _uniform_pixel(where.flatten(1), target.shape[-1], generator)
    rows = torch.arange(len(points), device=target.device)
    labels = target[rows, points[:, 1].long(), points[:, 0].long()].long()
    return points, labels
