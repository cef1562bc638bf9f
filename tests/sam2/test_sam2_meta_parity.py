"""transformers' Sam2Model with Meta's weights computes what Meta's own SAM 2.1 does (ADR 0005). Runs only where
Meta's `sam2` package is importable (it is not a dependency: build it with `SAM2_BUILD_CUDA=0 pip install
--no-build-isolation sam2 hydra-core iopath`); skipped elsewhere, CI included."""
import numpy as np
import pytest
import torch

from app.sam2 import Sam2Engine, build_sam2, convert_official

build_meta = pytest.importorskip("sam2.build_sam").build_sam2
SAM2ImagePredictor = pytest.importorskip("sam2.sam2_image_predictor").SAM2ImagePredictor


@pytest.mark.slow
def test_hiera_t_matches_meta_bit_for_bit_and_its_predictor_within_resizing():
    meta = build_meta("configs/sam2.1/sam2.1_hiera_t.yaml", None, device="cpu", mode="eval")
    with torch.no_grad():  # no zero-initialised part may hide a difference
        for p in meta.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    ours = build_sam2("sam2.1_hiera_t")
    ours.load_state_dict(convert_official(meta.state_dict()), strict=True)
    rng = np.random.default_rng(0)
    rgb = (rng.random((300, 420, 3)) * 255).astype(np.uint8)
    predictor = SAM2ImagePredictor(meta)
    predictor.set_image(rgb)
    x = predictor._transforms(rgb)[None]
    with torch.no_grad():
        features = ours.get_image_embeddings(x)
    meta_features = predictor._features["high_res_feats"] + [predictor._features["image_embed"]]
    diffs = [(a - b).abs().max().item() for a, b in zip(features, meta_features)]
    assert max(diffs) <= 1e-4  # eager softmax here, Meta's scaled_dot_product_attention there
    engine = Sam2Engine(ours)
    engine.set_image(rgb)
    for _ in range(6):
        points = rng.random((2, 2)) * [420, 300]
        labels = np.array([1, 0])
        want, _, _ = predictor.predict(point_coords=points, point_labels=labels, multimask_output=True)
        got = engine.predict(points, labels)
        for a, b in zip(got.masks, want.astype(bool)):
            assert (a & b).sum() / max(1, (a | b).sum()) >= 0.99
