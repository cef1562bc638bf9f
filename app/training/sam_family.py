"""SAM 1's part of training (`app.training.family`): its padded input frame, its one image embedding, and its
prompt encoder and mask decoder run for the prompts of several images at once."""
from __future__ import annotations

import numpy as np
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide

from app.metrics.dataset import EvalImage
from app.mopeft import encode_from, encode_until
from app.training.prompts import Prompts, in_row_order


def input_side(sam: Sam) -> int:
    """Side of the square the encoder reads."""
    return sam.image_encoder.img_size


def input_frame(sam: Sam, example: EvalImage) -> tuple[torch.Tensor, torch.Tensor]:
    """The preprocessed image (1, 3, S, S) on the model's device and the masks (P, S, S) bool, resized like the
    image: SAM's predictor's resize of the longest side, then padding to the square."""
    side = input_side(sam)
    resize = ResizeLongestSide(side)
    pixels = torch.as_tensor(resize.apply_image(example.rgb)).permute(2, 0, 1).float()
    image = sam.preprocess(pixels[None].to(sam.device))
    h, w = pixels.shape[-2:]
    masks = []
    for mask in example.masks:
        small = resize.apply_image(np.repeat(mask[:, :, None].astype(np.uint8) * 255, 3, axis=2))[:, :, 0] > 127
        padded = np.zeros((side, side), bool)
        padded[:h, :w] = small
        masks.append(padded)
    return image, torch.as_tensor(np.stack(masks))


def cache(sam: Sam, image: torch.Tensor, start: int) -> torch.Tensor:
    """The output of the frozen blocks [0, start) in float32, or the image itself when every block trains."""
    return encode_until(sam, image, start).float() if start else image


def features(sam: Sam, cached: list[torch.Tensor], start: int) -> torch.Tensor:
    """The image embeddings (B, C, h, w) of a batch of `cache` results."""
    x = torch.cat(cached)
    return encode_from(sam, x, start) if start else sam.image_encoder(x)


def decode(sam: Sam, embeddings: torch.Tensor, owners: torch.Tensor, sparse: torch.Tensor,
           dense: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All four mask outputs for prompts of several images: (N, 4, h, w) low-res logits, (N, 4) IoU.

    embeddings (B, C, h, w); row n of `sparse`/`dense` prompts image `owners[n]`. This is
    `MaskDecoder.predict_masks` with the image embedding picked per row instead of repeated for one
    image, so the prompts of every image go through the decoder in one call (a loop over images
    costs about a sixth more per training step on a 2-core CPU, in dispatch overhead).
    """
    decoder = sam.mask_decoder
    n = len(owners)
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    tokens = torch.cat((output_tokens.unsqueeze(0).expand(n, -1, -1), sparse), dim=1)
    src = embeddings[owners] + dense
    pos = sam.prompt_encoder.get_dense_pe().expand(n, -1, -1, -1)
    b, c, h, w = src.shape
    hs, src = decoder.transformer(src, pos, tokens)
    mask_tokens_out = hs[:, 1:1 + decoder.num_mask_tokens, :]
    upscaled = decoder.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
    hyper_in = torch.stack([mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)],
                           dim=1)
    b, c, h, w = upscaled.shape
    masks = (hyper_in @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
    return masks, decoder.iou_prediction_head(hs[:, 0, :])


def _embed(sam: Sam, prompts: Prompts, mask_input: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse and dense embeddings of every row's prompts, in row order.

    Box rows get their box plus the correction clicks, point rows their first point plus the clicks
    (both give the same token count); the two groups are embedded apart and put back in place.
    """
    p, n = prompts, len(prompts.use_box)
    sparse = dense = None
    for box_rows, idx, masks in p.groups(mask_input):
        if box_rows:
            points = (p.clicks[idx], p.click_labels[idx]) if p.clicks.shape[1] else None
            s, d = sam.prompt_encoder(points=points, boxes=p.boxes[idx], masks=masks)
        else:
            coords = torch.cat([p.first_points[idx, None], p.clicks[idx]], dim=1)
            labels = torch.cat([p.click_labels.new_ones(len(idx), 1), p.click_labels[idx]], dim=1)
            s, d = sam.prompt_encoder(points=(coords, labels), boxes=None, masks=masks)
        sparse, dense = in_row_order(sparse, n, idx, s), in_row_order(dense, n, idx, d)
    return sparse, dense


def decode_prompts(sam: Sam, embeddings: torch.Tensor, owners: torch.Tensor, prompts: Prompts,
                   mask_input: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4, h, w) low-res logits and (N, 4) IoU predictions of every row's prompts, with `mask_input` (N, 1, h,
    w) the previous logits (None at the first prompt); row n prompts image `owners[n]`."""
    return decode(sam, embeddings, owners, *_embed(sam, prompts, mask_input))
