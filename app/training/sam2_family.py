"""SAM 2.1's part of training (`app.training.family`), transformers' Sam2Model: the image stretched to the square
input as `Sam2Engine` does it, the decoder's three maps [s0, s1, embedding], and `Sam2Model.forward`'s prompt
encoding and mask decoding run for the prompts of several images at once, all four mask outputs kept."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Sam2Model

from app.metrics.dataset import EvalImage
from app.mopeft import encode_from, encode_until
from app.sam2.encoder import image_features
from app.sam2.engine import pixel_values
from app.training.prompts import Prompts, in_row_order


def input_side(model: Sam2Model) -> int:
    """Side of the square the encoder reads."""
    return model.config.prompt_encoder_config.image_size


def input_frame(model: Sam2Model, example: EvalImage) -> tuple[torch.Tensor, torch.Tensor]:
    """The preprocessed image (1, 3, S, S) on the model's device, as `Sam2Engine.pixel_values` makes it, and the
    masks (P, S, S) bool, stretched to the same square as the image (antialiased bilinear) and cut at one half."""
    side = input_side(model)
    image = pixel_values(example.rgb, side, model.device)
    masks = torch.as_tensor(np.stack(example.masks))
    stretched = F.interpolate(masks[:, None].float(), size=(side, side), mode="bilinear", align_corners=False,
                              antialias=True)
    return image, stretched[:, 0] > 0.5


def cache(model: Sam2Model, image: torch.Tensor, start: int):
    """The output of the frozen blocks [0, start) in float32 (tokens, outputs of the stages ended), or the image
    itself when every block trains."""
    if not start:
        return image
    tokens, stages = encode_until(model, image, start)
    return tokens.float(), tuple(s.float() for s in stages)


def features(model: Sam2Model, cached: list, start: int) -> list[torch.Tensor]:
    """[s0, s1, image embedding] of a batch of `cache` results (`app.sam2.encoder.decoder_features`)."""
    if not start:
        return image_features(model, torch.cat(cached))
    tokens = torch.cat([c[0] for c in cached])
    stages = tuple(torch.cat(parts) for parts in zip(*(c[1] for c in cached)))
    return encode_from(model, (tokens, stages), start)


def _decode(model: Sam2Model, features: list[torch.Tensor], owners: torch.Tensor, sparse: torch.Tensor,
            dense: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`Sam2MaskDecoder.forward` for rows of one prompt each, row n on image `owners[n]`, without its choice of
    outputs: (N, 4, 4h, 4w) logits, (N, 4) IoU. sparse (N, 1, T, C), dense (N, C, h, w)."""
    decoder = model.mask_decoder
    s0, s1, embedding = (f[owners] for f in features)
    n, c, h, w = embedding.shape
    output_tokens = torch.cat([decoder.obj_score_token.weight, decoder.iou_token.weight, decoder.mask_tokens.weight])
    tokens = torch.cat((output_tokens.expand(n, 1, -1, -1), sparse), dim=2).to(decoder.iou_token.weight.dtype)
    pos = model.get_image_wide_positional_embeddings().expand(n, -1, -1, -1)
    tokens_out, src = decoder.transformer(tokens, embedding + dense, pos, None)
    src = src.transpose(2, 3).reshape(n, c, h, w)
    upscaled = decoder.activation(decoder.upscale_layer_norm(decoder.upscale_conv1(src) + s1))
    upscaled = decoder.activation(decoder.upscale_conv2(upscaled) + s0)
    mask_tokens = tokens_out[:, 0, 2:2 + decoder.num_mask_tokens]
    hyper_in = torch.stack([mlp(mask_tokens[:, i]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)], dim=1)
    masks = (hyper_in @ upscaled.flatten(2)).view(n, -1, *upscaled.shape[-2:])
    return masks, decoder.iou_prediction_head(tokens_out[:, 0, 1])


def decode_prompts(model: Sam2Model, features: list[torch.Tensor], owners: torch.Tensor, prompts: Prompts,
                   mask_input: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4, h, w) low-res logits and (N, 4) IoU predictions of every row's prompts, with `mask_input` (N, 1, h,
    w) the previous logits (None at the first prompt); row n prompts image `owners[n]`.

    Box rows are the clicks followed by the box, as `Sam2Model.forward` embeds points and a box together; point
    rows end with the padding point it adds when there is no box. The two give different token counts, so each
    group goes through the decoder on its own and the rows are put back in place.
    """
    p, encoder, n = prompts, model.prompt_encoder, len(prompts.use_box)
    low = iou = None
    for box_rows, idx, masks in p.groups(mask_input):
        if box_rows:
            points = p.clicks[idx, None] if p.clicks.shape[1] else None
            labels = p.click_labels[idx, None] if points is not None else None
            sparse, dense = encoder(points, labels, p.boxes[idx, None], masks)
        else:
            coords = torch.cat([p.first_points[idx, None], p.clicks[idx]], dim=1)[:, None]
            labels = torch.cat([p.click_labels.new_ones(len(idx), 1), p.click_labels[idx]], dim=1)[:, None]
            sparse, dense = encoder(coords, labels, None, masks)
        m, i = _decode(model, features, owners[idx], sparse, dense)
        low, iou = in_row_order(low, n, idx, m), in_row_order(iou, n, idx, i)
    return low, iou
