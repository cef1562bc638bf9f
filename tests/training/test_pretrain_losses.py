"""SAM's losses and the interactive session loss, on plain and MoPEFT-wrapped models."""
import pytest
import torch

from app.mopeft.config import MoPEFTConfig
from app.mopeft.wrap import wrap
from app.sam.variants import build_sam
from app.synth import make_scene
from app.training.pretrain.batches import scene_batch
from app.training.interactive import InteractiveConfig, interactive_loss
from app.training.losses import dice_loss, focal_loss, mask_iou, segmentation_loss


def test_losses_prefer_the_right_mask_per_candidate():
    target = torch.zeros(1, 1, 32, 32)
    target[..., 8:24, 8:24] = 1
    right, wrong, unsure = 8 * (2 * target - 1), -8 * (2 * target - 1), torch.zeros_like(target)
    logits = torch.cat([wrong, unsure, right], dim=1)  # three candidates for one prompt
    for loss in (focal_loss, dice_loss, segmentation_loss):
        values = loss(logits, target)
        assert values.shape == (1, 3)
        assert values[0, 2] < values[0, 1] < values[0, 0]
    assert mask_iou(logits > 0, target > 0).tolist() == [[0.0, 0.0, 1.0]]
    assert torch.allclose(segmentation_loss(unsure, target), 20 * focal_loss(unsure, target) + dice_loss(unsure, target))


def test_focal_alpha_weighs_foreground_and_background():
    target = torch.zeros(1, 8, 8)
    target[0, :2] = 1
    logits = torch.zeros(1, 8, 8)
    plain = focal_loss(logits, target)
    assert focal_loss(logits, target, alpha=0.5) * 2 == plain
    # foreground pixels are weighed by alpha, background ones by 1 - alpha
    foreground, background = torch.ones(1, 8, 8), torch.zeros(1, 8, 8)
    assert focal_loss(logits, foreground, alpha=0.25) < focal_loss(logits, foreground, alpha=0.75)
    assert focal_loss(logits, background, alpha=0.25) > focal_loss(logits, background, alpha=0.75)


def _batch(size, count=2):
    scenes = [make_scene("shapes", 5, i, size=size) for i in range(count)]
    return scene_batch(scenes, max_objects=3, generator=torch.Generator().manual_seed(0))


@pytest.mark.slow
def test_session_loss_is_reproducible_and_reaches_encoder_and_decoder():
    sam = build_sam("tiny").train()
    images, targets = _batch(128)
    config = InteractiveConfig(max_clicks=2, loss_side=64)
    embeddings = sam.image_encoder(sam.preprocess(images))
    first = interactive_loss(sam, embeddings, targets, config, torch.Generator().manual_seed(3))
    again = interactive_loss(sam, embeddings, targets, config, torch.Generator().manual_seed(3))
    assert torch.isfinite(first.loss) and first.loss.item() == again.loss.item()
    assert 0 <= first.first_iou <= 1 and 0 <= first.last_iou <= 1
    first.loss.backward()
    for name in ("image_encoder.patch_embed.proj.weight", "prompt_encoder.point_embeddings.1.weight",
                 "mask_decoder.iou_prediction_head.layers.0.weight", "mask_decoder.mask_tokens.weight"):
        grad = dict(sam.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.slow
def test_session_loss_trains_only_the_peft_parameters_of_a_wrapped_model():
    sam = wrap(build_sam("tiny"), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"])).train()
    images, targets = _batch(128)
    embeddings = sam.image_encoder(sam.preprocess(images))
    out = interactive_loss(sam, embeddings, targets, InteractiveConfig(box_probability=1.0),
                           torch.Generator().manual_seed(0))
    out.loss.backward()
    trainable = {n for n, p in sam.named_parameters() if p.requires_grad}
    assert trainable and all(p.grad is None for n, p in sam.named_parameters() if n not in trainable)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in sam.named_parameters() if n in trainable)
