"""A freshly wrapped SAM computes exactly what the plain one does, for each kind and the mix."""
import copy

import pytest
import torch

from app.mopeft import MoPEFTConfig, wrap
from app.sam.variants import build_sam
from peft_copies import trained_copy

KIND_SETS = [["lora"], ["prefix"], ["adapter"], ["lora", "prefix", "adapter"]]


def _masks(sam, image, point):
    """Low-res mask logits and IoU predictions for one image and one positive click."""
    with torch.no_grad():
        out = sam([{"image": image, "original_size": image.shape[1:],
                    "point_coords": point, "point_labels": torch.ones(1, 1)}], multimask_output=True)
    return out[0]["low_res_logits"], out[0]["iou_predictions"]


@pytest.mark.parametrize("kinds", KIND_SETS, ids=["+".join(k) for k in KIND_SETS])
@pytest.mark.parametrize("decoder_lora", [False, True], ids=["encoder", "encoder+decoder"])
@pytest.mark.slow
def test_wrapped_model_equals_plain_model(kinds, decoder_lora):
    plain = build_sam("tiny")
    wrapped = wrap(copy.deepcopy(plain), MoPEFTConfig(kinds + ["decoder_lora"] * decoder_lora))
    # tiny has windowed blocks 0 and 2 (8x8 tokens padded to 9x9 windows of 3) and global blocks 1 and 3
    assert plain.image_encoder.blocks[0].window_size == 3 and plain.image_encoder.blocks[1].window_size == 0
    images = torch.rand(2, 3, 128, 128) * 255
    with torch.no_grad():
        x = plain.preprocess(images)
        diff = (plain.image_encoder(x) - wrapped.image_encoder(x)).abs().max().item()
    assert diff <= 1e-5

    point = torch.tensor([[[40.0, 70.0]]])
    logits_a, iou_a = _masks(plain, images[0], point)
    logits_b, iou_b = _masks(wrapped, images[0], point)
    assert (logits_a - logits_b).abs().max().item() <= 1e-5
    assert (iou_a - iou_b).abs().max().item() <= 1e-5


@pytest.mark.slow
def test_trained_parameters_change_the_output():
    """The identity above is not vacuous: moving the PEFT parameters does change the embedding."""
    plain = build_sam("tiny")
    wrapped = trained_copy(plain)
    with torch.no_grad():
        x = torch.randn(1, 3, 128, 128)
        diff = (plain.image_encoder(x) - wrapped.image_encoder(x)).abs().max().item()
    assert diff > 1e-3


def test_state_dict_keys_of_base_weights_are_unchanged():
    """A SAM checkpoint loads into a wrapped model: base keys keep their names."""
    plain = build_sam("tiny")
    wrapped = wrap(copy.deepcopy(plain), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"]))
    missing, unexpected = wrapped.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == []
    assert missing and all(".peft." in k for k in missing)


def test_wrapping_twice_is_refused():
    sam = wrap(build_sam("tiny"), MoPEFTConfig())
    with pytest.raises(ValueError, match="already wrapped"):
        wrap(sam, MoPEFTConfig())
