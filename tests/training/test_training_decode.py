"""The batched decoder call of the training loop equals segment_anything's one-image-at-a-time decoder."""
import torch

from app.sam.variants import build_sam
from app.training.interactive import decode


def test_batched_decode_equals_predict_masks_per_image():
    sam = build_sam("tiny")
    embeddings = torch.randn(3, 32, 8, 8)
    owners = torch.tensor([0, 0, 2, 1, 2, 2])
    points = torch.rand(len(owners), 2, 2) * 128
    with torch.no_grad():
        sparse, dense = sam.prompt_encoder(points=(points, torch.tensor([[1, 0]] * len(owners))), boxes=None,
                                           masks=None)
        masks, ious = decode(sam, embeddings, owners, sparse, dense)
        pe = sam.prompt_encoder.get_dense_pe()
        for n, b in enumerate(owners.tolist()):
            m, i = sam.mask_decoder.predict_masks(embeddings[b:b + 1], pe, sparse[n:n + 1], dense[n:n + 1])
            assert torch.allclose(masks[n], m[0], atol=1e-5) and torch.allclose(ious[n], i[0], atol=1e-5)
    assert masks.shape == (6, 4, 32, 32) and ious.shape == (6, 4)
