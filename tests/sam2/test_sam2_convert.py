"""Meta's SAM 2.1 key layout converts to transformers' Sam2Model, checked against Meta's real Hiera-T layout."""
import pytest
import torch

from app.sam2 import build_sam2, convert_official
from app.sam2.convert import VIDEO_ONLY, is_official_layout
from sam2_layout import VIDEO_EXTRAS, official_shapes, random_official, to_official


@pytest.mark.slow
def test_meta_hiera_t_layout_converts_to_every_tensor_of_the_model_and_nothing_else():
    official = random_official(official_shapes())
    assert is_official_layout(official)
    converted = convert_official(official)
    with torch.device("meta"):
        expected = build_sam2("sam2.1_hiera_t").state_dict()
    assert set(converted) == set(expected)
    assert {k: tuple(v.shape) for k, v in converted.items()} == {k: tuple(v.shape) for k, v in expected.items()}
    assert not any(k.startswith(VIDEO_ONLY) for k in converted)


@pytest.mark.slow
def test_tensors_land_where_meta_had_them():
    official = random_official(official_shapes())
    c = convert_official(official)
    for i in range(4):
        meta = official[f"sam_prompt_encoder.point_embeddings.{i}.weight"]
        assert torch.equal(c["prompt_encoder.point_embed.weight"][i], meta[0])
    gaussian = official["sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"]
    assert c["shared_image_embedding.positional_embedding"] is gaussian
    assert c["prompt_encoder.shared_embedding.positional_embedding"] is gaussian
    pairs = {
        "image_encoder.trunk.blocks.3.mlp.layers.1.weight": "vision_encoder.backbone.blocks.3.mlp.proj_out.weight",
        "image_encoder.trunk.blocks.1.norm2.bias": "vision_encoder.backbone.blocks.1.layer_norm2.bias",
        "image_encoder.neck.convs.2.conv.weight": "vision_encoder.neck.convs.2.weight",
        "sam_mask_decoder.iou_prediction_head.layers.1.weight": "mask_decoder.iou_prediction_head.layers.0.weight",
        "sam_mask_decoder.output_hypernetworks_mlps.2.layers.2.bias":
            "mask_decoder.output_hypernetworks_mlps.2.proj_out.bias",
        "sam_mask_decoder.transformer.layers.1.norm4.weight": "mask_decoder.transformer.layers.1.layer_norm4.weight",
        "sam_mask_decoder.transformer.final_attn_token_to_image.out_proj.weight":
            "mask_decoder.transformer.final_attn_token_to_image.o_proj.weight",
        "sam_prompt_encoder.mask_downscaling.4.weight": "prompt_encoder.mask_embed.layer_norm2.weight",
        "sam_mask_decoder.output_upscaling.1.bias": "mask_decoder.upscale_layer_norm.bias",
        "no_mem_embed": "no_memory_embedding",
    }
    for meta, ours in pairs.items():
        assert c[ours] is official[meta], meta


@pytest.mark.slow
def test_the_tests_own_layout_writer_is_meta_layout():
    """tests/sam2_layout.to_official (used for the small test model's fake checkpoints) writes Meta's names."""
    with torch.device("meta"):
        written = to_official(build_sam2("sam2.1_hiera_t").state_dict())
    assert {k: tuple(v.shape) for k, v in written.items() if k not in VIDEO_EXTRAS} == \
        {k: v for k, v in official_shapes().items() if not k.startswith(VIDEO_ONLY)}


def test_conversion_round_trips_the_small_test_model():
    state = build_sam2("sam2_tiny").state_dict()
    back = convert_official(to_official(state))
    assert set(back) == set(state) and all(torch.equal(back[k], state[k]) for k in state)
