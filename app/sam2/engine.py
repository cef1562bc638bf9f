"""Sam2Engine: SAM 2.1's image predictor with the embedding cache: embed once, then prompts -> masks.

The pipeline is transformers' own (docs/decisions/0005-sam2-through-transformers.md): `Sam2ImageProcessor` resizes
the image to the model's square input (no padding: SAM 2 stretches), prompts are scaled to that square, the model
decodes from the cached features, and the low-res logits are resized to the image with `post_process_masks`'
bilinear interpolation. So its masks are those of `Sam2Processor` + `Sam2Model` + `post_process_masks`: exactly
with `fast=False`, within float rounding on the default fast path, which runs the same decoder maths in SAM 1's
fast layout (`app.sam2.fast_decoder`) and resizes the logits with OpenCV (docs/engine.md).

The decoder reads three maps per image: two high-resolution ones (stride 4 and 8, after the decoder's conv_s0 and
conv_s1) and the image embedding (stride 16). The cache holds them as one float32 tensor (1, 4·C, h, w): the
high-resolution maps folded into channels by `pixel_unshuffle`, which `pixel_shuffle` undoes exactly.
Threads: as SamEngine (app/sam/engine.py): encoder runs are serialised, `set_image` swaps in one assignment.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from transformers import Sam2ImageProcessor, Sam2Model

from app.decoder_layout import bilinear, threshold_planes
from app.device import PrecisionChoice, choose_precision
from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import PointLogits, Prediction, PrefetchReport, as_rgb, prefetch_images
from app.sam.prompts import check_prompts
from app.sam.signature import embedding_key, image_signature, model_signature
from app.sam2.encoder import image_features
from app.sam2.fast_decoder import Sam2DecoderImage, Sam2FastDecoder


@lru_cache(maxsize=4)
def _processor(side: int) -> Sam2ImageProcessor:
    return Sam2ImageProcessor(size={"height": side, "width": side})


def pixel_values(rgb: np.ndarray, side: int, device: torch.device) -> torch.Tensor:
    """An H x W x 3 uint8 image preprocessed for a SAM 2.1 model of input `side` (1, 3, side, side) on `device`:
    Sam2ImageProcessor's resize and normalisation, from a writable copy of a read-only array (torch warns)."""
    rgb = np.require(rgb, requirements="W")
    return _processor(side)(images=rgb, return_tensors="pt")["pixel_values"].to(device)


def pack_features(features: list[torch.Tensor]) -> torch.Tensor:
    """[s0 (1, C/8, 4h, 4w), s1 (1, C/4, 2h, 2w), embedding (1, C, h, w)] as one (1, 4·C, h, w) tensor."""
    s0, s1, embedding = features
    return torch.cat([F.pixel_unshuffle(s0, 4), F.pixel_unshuffle(s1, 2), embedding], dim=1)


def unpack_features(packed: torch.Tensor) -> list[torch.Tensor]:
    """The inverse of `pack_features`."""
    c = packed.shape[1] // 4
    s0, s1, embedding = packed.split([2 * c, c, c], dim=1)
    return [F.pixel_shuffle(s0, 4), F.pixel_shuffle(s1, 2), embedding]


@dataclass(frozen=True)
class _Image:
    rgb: np.ndarray
    features: list[torch.Tensor]
    original_size: tuple[int, int]
    decoder: Sam2DecoderImage | None


class Sam2Engine:
    """Predictor for one SAM 2.1 model (a MoPEFT-wrapped one included) with an embedding cache.

    `device` moves the model there; None leaves it where it is. `cache` defaults to a memory-only
    `EmbeddingCache`. `precision` is the image encoder's autocast, as for SamEngine; the features are kept in
    float32 and the decoder runs in float32. `fast=False` decodes with transformers' own Sam2Model call and
    `post_process_masks`' resize (the reference path). It answers what the window, the proposals and the CLI ask of
    SamEngine (set_image, predict, point_logits, prefetch, sibling, ...).
    """

    mask_threshold = 0.0
    """The logit above which a pixel is in the mask."""

    def __init__(self, model: Sam2Model, device: str | torch.device | None = None,
                 cache: EmbeddingCache | None = None, precision: str | None = None, fast: bool = True) -> None:
        if device is not None:
            model.to(device)
        self.model = model.eval()
        self.side = model.config.prompt_encoder_config.image_size
        self.precision_choice: PrecisionChoice = choose_precision(self.device, precision)
        self.cache = cache if cache is not None else EmbeddingCache(disk=False)
        self.fast = fast
        self._decoder = Sam2FastDecoder(model)
        self._encode_lock = threading.Lock()
        self._image: _Image | None = None
        self.model_signature = model_signature(model)

    @property
    def device(self) -> torch.device:
        """Where the model runs."""
        return self.model.device

    @property
    def precision(self) -> str:
        """The encoder's precision ("fp32", "bf16", "fp16"), part of the embedding cache key."""
        return self.precision_choice.name

    @property
    def packed_shape(self) -> tuple[int, int, int, int]:
        """Shape of one cached entry, (1, 4·C, side/16, side/16): the embedding grid is at stride 16."""
        c, h = self.model.config.prompt_encoder_config.hidden_size, self.side // 16
        return (1, 4 * c, h, h)

    @property
    def features(self) -> list[torch.Tensor]:
        """[s0, s1, image embedding] of the current image (app.sam2.encoder.decoder_features); do not modify."""
        return self._current().features

    def set_image(self, image) -> bool:
        """Make `image` (array, ImageData or path) the current image; True when its features were cached."""
        rgb = as_rgb(image)
        features, hit = self._features(rgb)
        decoder = self._decoder.prepare(features) if self.fast else None
        self._image = _Image(rgb, features, rgb.shape[:2], decoder)
        return hit

    def features_for(self, image) -> list[torch.Tensor]:
        """Features of any image (from the cache, or computed and cached); the current image is unchanged."""
        return self._features(as_rgb(image))[0]

    def cache_key(self, image) -> str:
        """The cache key of an image under the current model (see app.sam.signature)."""
        return self._key(as_rgb(image))

    def prefetch(self, images: Iterable, progress: Callable[[int, int, str], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> PrefetchReport:
        """Compute the features of `images` (arrays, ImageData or paths) into the cache (`prefetch_images`)."""
        return prefetch_images(images, lambda rgb: self._packed(rgb)[1], progress, cancel)

    def sibling(self) -> Sam2Engine:
        """A new engine on the same model weights, cache and settings, with no current image."""
        return Sam2Engine(self.model, cache=self.cache, precision=self.precision, fast=self.fast)

    def refresh_model(self) -> None:
        """Re-read the model's weights after they changed in place (an adapter loaded, a training step)."""
        self.model_signature = model_signature(self.model)
        if self._image is not None:
            self.set_image(self._image.rgb)

    def pixel_values(self, rgb: np.ndarray) -> torch.Tensor:
        """The preprocessed image (1, 3, side, side), as Sam2ImageProcessor makes it (from a writable copy of a
        read-only array, which torch warns about)."""
        return pixel_values(rgb, self.side, self.device)

    @torch.no_grad()
    def predict(self, points=None, labels=None, box=None, mask_input=None, multimask: bool = True) -> Prediction:
        """Masks for prompts on the current image; arguments and result as `SamEngine.predict`.

        With `multimask=False`, SAM 2's decoder falls back to the best of its three candidates when its single mask
        is unstable (transformers' and Meta's `dynamic_multimask_via_stability`).
        """
        image = self._current()
        h, w = image.original_size
        p = check_prompts(points, labels, box, mask_input, image.original_size, 4 * (self.side // 16))
        scale = np.array([self.side / w, self.side / h])
        dev, kwargs = self.device, {}
        if p.points is not None:
            kwargs["input_points"] = torch.as_tensor(p.points * scale, dtype=torch.float, device=dev)[None, None]
            kwargs["input_labels"] = torch.as_tensor(p.labels, dtype=torch.int, device=dev)[None, None]
        if p.box is not None:
            box = p.box * np.tile(scale, 2)
            kwargs["input_boxes"] = torch.as_tensor(box, dtype=torch.float, device=dev)[None, None]
        if p.mask_input is not None:
            kwargs["input_masks"] = torch.as_tensor(p.mask_input, dtype=torch.float, device=dev)[None]
        if self.fast:
            low, scores = self._fast_decode(image.decoder, kwargs, multimask)
        else:
            out = self.model(image_embeddings=image.features, multimask_output=multimask, **kwargs)
            low, scores = out.pred_masks[0, 0].float(), out.iou_scores[0, 0].float()
        return Prediction(self._masks(low, image.original_size), scores.cpu().numpy(), low.cpu().numpy())

    @torch.no_grad()
    def point_logits(self, points) -> PointLogits:
        """SAM 2's three candidates for each of B single positive points on the current image, in one batch
        (B prompts of the decoder's point batch). points: (B, 2) x, y pixels."""
        image = self._current()
        h, w = image.original_size
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) * [self.side / w, self.side / h]
        coords = torch.as_tensor(pts, dtype=torch.float, device=self.device)[None, :, None]
        labels = torch.ones(1, len(pts), 1, dtype=torch.int, device=self.device)
        if self.fast:
            sparse, _ = self.model.prompt_encoder(coords, labels, None, None)
            low, scores = self._decoder.decode_batch(image.decoder, sparse[0])
            return PointLogits(low, scores, (self.side, self.side), image.original_size)
        out = self.model(image_embeddings=image.features, input_points=coords, input_labels=labels,
                         multimask_output=True)
        return PointLogits(out.pred_masks[0].float(), out.iou_scores[0].float(), (self.side, self.side),
                           image.original_size)

    def logits_at_image_size(self, plane: np.ndarray, out: PointLogits) -> np.ndarray:
        """One (S, S) plane of `out.low_res` (as a CPU array) at its image's size, (H, W) float32, as `predict`
        resizes it."""
        if self.fast:
            return bilinear(plane, out.original_size)
        return _upscaled(torch.from_numpy(plane)[None], out.original_size)[0].numpy()

    def _fast_decode(self, image: Sam2DecoderImage, prompts: dict, multimask: bool):
        """The fast decoder on Sam2Model.forward's prompt tensors: transformers' prompt encoder (with forward's
        padding point when there is neither a point nor a box), then `Sam2FastDecoder`."""
        if "input_points" not in prompts and "input_boxes" not in prompts:
            prompts["input_points"] = torch.zeros(1, 1, 1, 2, device=self.device)
            prompts["input_labels"] = -torch.ones(1, 1, 1, dtype=torch.int, device=self.device)
        sparse, dense = self.model.prompt_encoder(prompts.get("input_points"), prompts.get("input_labels"),
                                                  prompts.get("input_boxes"), prompts.get("input_masks"))
        return self._decoder(image, sparse[0, 0], dense[0] if "input_masks" in prompts else None, multimask)

    def _masks(self, low: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """(M, H, W) bool masks of (M, S, S) logits at the image's size: by OpenCV on the fast path on a CPU,
        else by `post_process_masks`' interpolate."""
        if self.fast and low.device.type == "cpu":
            return threshold_planes(low.numpy(), lambda plane: bilinear(plane, size), size, self.mask_threshold)
        return (_upscaled(low, size) > self.mask_threshold).cpu().numpy()

    def _current(self) -> _Image:
        image = self._image
        if image is None:
            raise RuntimeError("no image set: call set_image(image) before predicting")
        return image

    def _key(self, rgb: np.ndarray) -> str:
        return embedding_key(image_signature(rgb), self.model_signature, self.side, self.precision)

    def _features(self, rgb: np.ndarray) -> tuple[list[torch.Tensor], bool]:
        packed, hit = self._packed(rgb)
        return unpack_features(packed), hit

    def _packed(self, rgb: np.ndarray) -> tuple[torch.Tensor, bool]:
        """The packed features of `rgb`, from the cache or computed and cached; True when they were cached."""
        key = self._key(rgb)
        packed = self._cached(key)
        if packed is None:
            with self._encode_lock:
                packed = self._cached(key)
                if packed is None:
                    packed = self._encode(rgb)
                    self.cache.put(key, packed)
                    return packed, False
        return packed, True

    def _cached(self, key: str) -> torch.Tensor | None:
        packed = self.cache.get(key)
        if packed is None or tuple(packed.shape) != self.packed_shape:
            return None
        return packed.to(self.device)

    @torch.no_grad()
    def _encode(self, rgb: np.ndarray) -> torch.Tensor:
        with self.precision_choice.autocast(self.device):
            features = image_features(self.model, self.pixel_values(rgb))
        return pack_features([f.float() for f in features])


def _upscaled(low: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, S, S) low-res logits at the image's size (H, W): `post_process_masks`' bilinear resize."""
    return F.interpolate(low[None], size, mode="bilinear", align_corners=False)[0]
