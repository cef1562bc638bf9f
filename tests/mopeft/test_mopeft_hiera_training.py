"""A short overfit run of MoPEFT in SAM 2.1's Hiera: a few dozen steps on toy shapes lift the one-click IoU."""
import pytest
import torch
import torch.nn.functional as F

from app.mopeft import MoPEFTConfig, encode_from, encode_until, frozen_prefix_length, wrap
from app.sam2 import build_sam2
from toy_shapes import scenes

MEAN, STD = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def _logits(model, image, click, cached=None, start=0):
    """Single-mask logits at image resolution for one image (3, S, S, 0..255) and one positive click."""
    if cached is None:
        cached = encode_until(model, ((image / 255 - MEAN) / STD)[None], start)
    features = encode_from(model, cached, start)
    out = model(image_embeddings=features, input_points=click[None], input_labels=torch.ones(1, 1, 1, dtype=torch.int),
                multimask_output=False)
    return F.interpolate(out.pred_masks[0], size=image.shape[1:], mode="bilinear", align_corners=False)[0, 0]


def _iou(model, data, cached, start):
    with torch.no_grad():
        ious = []
        for (image, mask, click), c in zip(data, cached):
            pred, true = _logits(model, image, click, c, start) > 0, mask > 0
            ious.append(((pred & true).sum() / (pred | true).sum().clamp(min=1)).item())
    return sum(ious) / len(ious)


@pytest.mark.parametrize("blocks, steps, gain", [("all", 40, 0.5), ("last:3", 80, 0.2)])
@pytest.mark.slow
def test_a_few_dozen_steps_lift_iou(blocks, steps, gain):
    """`last:3` trains through the cached path (`encode_until` once, `encode_from` each step); its frozen first
    two stages feed the decoder's high-resolution maps unchanged, so it learns more slowly (measured: one-click
    IoU 0.06 -> 0.95 in 40 steps with every block, 0.06 -> 0.32 in 80 with the last three)."""
    torch.manual_seed(0)
    base = build_sam2("sam2_tiny")
    with torch.no_grad():  # transformers' init (std 0.02) leaves a random decoder's logits near 0 everywhere
        for p in base.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model = wrap(base, MoPEFTConfig(blocks=blocks))
    model.train()
    data = scenes(2, seed=4)
    start = frozen_prefix_length(model)
    with torch.no_grad():  # the frozen first blocks, once per image (all of them run each step when start is 0)
        cached = [encode_until(model, ((image / 255 - MEAN) / STD)[None], start) if start else None
                  for image, _, _ in data]
    before = _iou(model, data, cached, start)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-1)
    for step in range(steps):
        (image, mask, click), c = data[step % len(data)], cached[step % len(data)]
        logits = _logits(model, image, click, c, start)
        prob = torch.sigmoid(logits)
        loss = F.binary_cross_entropy_with_logits(logits, mask) + 1 - (2 * (prob * mask).sum() + 1) / (
            prob.sum() + mask.sum() + 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = _iou(model, data, cached, start)
    assert after >= before + gain, (before, after)
