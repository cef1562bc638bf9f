"""SamEngine: embed an image once (or load its embedding from the cache), then prompts -> masks.

Preprocessing, prompt transforms and post-processing are segment_anything's own
(`ResizeLongestSide` to the encoder's input size, normalise, pad), so any architecture works,
and with `fast=False` the masks are exactly `SamPredictor`'s. The default fast path runs the
same decoder maths in a faster layout (`app.sam.fast_decoder`) and up-scales the masks with
OpenCV; it agrees with SamPredictor within float rounding (docs/engine.md).

Threads: `set_image`, `prefetch` and `embedding_for` may run in a worker thread while another
thread calls `predict`. `predict` works on the image that was current when it started;
`set_image` swaps the current image in one step once its embedding is ready. Encoder runs are
serialised (one at a time; a second request for the same image waits and then hits the cache).
Changing the model's weights is not safe while the engine is using them: change them between
calls, then call `refresh_model()`.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide

from app.decoder_layout import DecoderImage, bilinear, threshold_planes
from app.device import PrecisionChoice, choose_precision
from app.sam.embedding_cache import EmbeddingCache
from app.sam.fast_decoder import FastMaskDecoder
from app.sam.prompts import check_prompts
from app.sam.signature import embedding_key, image_signature, model_signature


@dataclass(frozen=True)
class Prediction:
    """Masks for one prompt set.

    masks: (N, H, W) bool at the original image size; N = 3 in multimask mode, else 1.
    scores: (N,) float32, the model's predicted IoU of each mask.
    low_res_logits: (N, S, S) float32 (S = 4 x embedding side, 256 for ViT models); pass a row
      back as `mask_input` to refine with more clicks.
    frame: the region (x0, y0, x1, y1) of a large image whose embedding the logits come from (the tile that
      answered, `app.tiles`); None: the whole image.
    """

    masks: np.ndarray
    scores: np.ndarray
    low_res_logits: np.ndarray
    frame: tuple[int, int, int, int] | None = None

    @property
    def best(self) -> int:
        """Index of the mask with the highest predicted IoU."""
        return int(np.argmax(self.scores))


@dataclass(frozen=True)
class PointLogits:
    """SAM's three candidate masks for each of B single positive points, before up-scaling.

    low_res: (B, 3, S, S) float32 logits and scores: (B, 3) float32 predicted IoUs, both on the model's device;
    input_size and original_size: those of the image they were computed on, for `full_size_logits`.
    """

    low_res: torch.Tensor
    scores: torch.Tensor
    input_size: tuple[int, int]
    original_size: tuple[int, int]


@dataclass
class PrefetchReport:
    """What `SamEngine.prefetch` did: embeddings computed, found cached, and items that failed."""

    total: int
    embedded: int = 0
    cached: int = 0
    failed: list[str] = field(default_factory=list)
    cancelled: bool = False


@dataclass(frozen=True)
class _Image:
    rgb: np.ndarray
    key: str
    embedding: torch.Tensor
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    decoder: DecoderImage | None


def full_size_masks(sam: Sam, low_res: torch.Tensor, input_size: tuple[int, int],
                    original_size: tuple[int, int]) -> np.ndarray:
    """(M, H, W) bool masks from (1, M, S, S) logits: `sam.postprocess_masks` then the threshold.

    Same two bilinear resizes (to the padded input square, crop, to the original size), run by
    OpenCV on CPU tensors: 10-20x faster than torch's interpolate for 3 masks, equal to it within
    float rounding (about 1e-6). The second resize is skipped when it is the identity. Logits on another device
    (a GPU) go to `postprocessed_masks` instead.
    """
    if low_res.device.type != "cpu":
        return postprocessed_masks(sam, low_res, input_size, original_size)
    side = sam.image_encoder.img_size
    return threshold_planes(low_res[0].numpy(), lambda plane: full_size_logits(plane, side, input_size, original_size),
                            original_size, sam.mask_threshold)


def full_size_logits(logits: np.ndarray, side: int, input_size: tuple[int, int],
                     original_size: tuple[int, int]) -> np.ndarray:
    """One (S, S) float32 low-res logit plane at the original image size, (H, W) float32, as
    `sam.postprocess_masks` makes it (bilinear to the `side` x `side` input square, crop to
    `input_size`, bilinear to `original_size`), by OpenCV; the second resize is skipped when it is the identity."""
    h, w = input_size
    return bilinear(bilinear(logits, (side, side))[:h, :w], original_size)


def postprocessed_masks(sam: Sam, low_res: torch.Tensor, input_size: tuple[int, int],
                        original_size: tuple[int, int]) -> np.ndarray:
    """(M, H, W) bool masks from (1, M, S, S) logits on any device, as SamPredictor makes them:
    `sam.postprocess_masks` (torch's interpolate), then the threshold."""
    return (sam.postprocess_masks(low_res, input_size, original_size) > sam.mask_threshold)[0].cpu().numpy()


def as_rgb(image) -> np.ndarray:
    """The H x W x 3 uint8 pixels of an array, an ImageData, or an image file path (loaded)."""
    if isinstance(image, (str, os.PathLike)):
        from app.sam.images import load_image

        image = load_image(image)
    rgb = getattr(image, "rgb", image)
    if not isinstance(rgb, np.ndarray):
        raise ValueError(f"image must be an H x W x 3 uint8 array, an ImageData or a path, got {type(image).__name__}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        raise ValueError(f"image must be H x W x 3 uint8 RGB, got shape {rgb.shape} dtype {rgb.dtype} "
                         "(app.sam.images.image_from_array converts grey, 16-bit and float arrays)")
    return rgb


def prefetch_images(images: Iterable, embed: Callable[[np.ndarray], bool],
                    progress: Callable[[int, int, str], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> PrefetchReport:
    """An engine's `prefetch`: `embed(rgb)` (True when the cache had it, read and checked: a damaged file is
    embedded again) on each of `images` (arrays, ImageData or paths).

    `progress(done, total, name)` is called after each item; `cancel()` is checked before each and stops the loop
    when true. Items that cannot be loaded are listed in the report's `failed`, each message naming the item; the
    others go on.
    """
    items = list(images)
    report = PrefetchReport(total=len(items))
    for i, item in enumerate(items):
        if cancel is not None and cancel():
            report.cancelled = True
            break
        name = str(item) if isinstance(item, (str, os.PathLike)) else f"image #{i}"
        try:
            rgb = as_rgb(item)
        except ValueError as exc:
            report.failed.append(str(exc) if name in str(exc) else f"{name}: {exc}")
        else:
            if embed(rgb):
                report.cached += 1
            else:
                report.embedded += 1
        if progress is not None:
            progress(i + 1, len(items), name)
    return report


class SamEngine:
    """Predictor for one SAM model (a MoPEFT-wrapped one included) with an embedding cache.

    `device` moves the model there; None leaves it where it is. `cache` defaults to a memory-only
    `EmbeddingCache`; pass `EmbeddingCache()` for the per-user disk cache. `fast=False` runs
    segment_anything's own decoder call, exactly as `SamPredictor.predict`. `precision` ("auto", "fp32",
    "bf16"; None: $MOPEFT_PRECISION, else auto; `app.device.choose_precision`) is the image encoder's autocast;
    the embedding is kept in float32 and the prompt decoder (a few ms, and where the masks' edges and the IoU
    scores are decided) runs in float32.
    """

    def __init__(self, sam: Sam, device: str | torch.device | None = None,
                 cache: EmbeddingCache | None = None, fast: bool = True, precision: str | None = None) -> None:
        if device is not None:
            sam.to(device)
        self.sam = sam.eval()
        self.precision_choice: PrecisionChoice = choose_precision(self.sam.device, precision)
        self.cache = cache if cache is not None else EmbeddingCache(disk=False)
        self.fast = fast
        self.transform = ResizeLongestSide(sam.image_encoder.img_size)
        self._decoder = FastMaskDecoder(sam)
        self._encode_lock = threading.Lock()
        self._image: _Image | None = None
        self.model_signature = model_signature(sam)

    @property
    def device(self) -> torch.device:
        """Where the model runs."""
        return self.sam.device

    @property
    def precision(self) -> str:
        """The encoder's precision ("fp32", "bf16", "fp16"), part of the embedding cache key."""
        return self.precision_choice.name

    @property
    def side(self) -> int:
        """The model's square input side in pixels (1024 for ViT models)."""
        return self.sam.image_encoder.img_size

    @property
    def mask_threshold(self) -> float:
        """The logit above which a pixel is in the mask."""
        return self.sam.mask_threshold

    @property
    def embedding_shape(self) -> tuple[int, int, int, int]:
        """Shape of one image embedding, (1, C, side, side)."""
        side = self.sam.prompt_encoder.image_embedding_size
        return (1, self.sam.prompt_encoder.embed_dim, side[0], side[1])

    @property
    def image_embedding(self) -> torch.Tensor:
        """Embedding of the current image, (1, C, side, side); shared with the cache, do not modify."""
        return self._current().embedding

    def cache_key(self, image) -> str:
        """The cache key of an image under the current model (see app.sam.signature)."""
        return self._key(as_rgb(image))

    def set_image(self, image) -> bool:
        """Make `image` (array, ImageData or path) the current image; True when its embedding was cached."""
        rgb = as_rgb(image)
        key = self._key(rgb)
        embedding, hit = self._embedding(rgb, key)
        h, w = rgb.shape[:2]
        input_size = self.transform.get_preprocess_shape(h, w, self.transform.target_length)
        decoder = self._decoder.prepare(embedding) if self.fast else None
        self._image = _Image(rgb, key, embedding, (h, w), input_size, decoder)
        return hit

    def embedding_for(self, image) -> torch.Tensor:
        """Embedding of any image (from the cache, or computed and cached); the current image is unchanged."""
        rgb = as_rgb(image)
        return self._embedding(rgb, self._key(rgb))[0]

    def refresh_model(self) -> None:
        """Re-read the model's weights after they changed in place (adapter loaded, training step).

        Recomputes the model signature, so no embedding of the old weights is reused, and
        re-embeds the current image (a cache hit when these weights were seen before).
        """
        self.model_signature = model_signature(self.sam)
        if self._image is not None:
            self.set_image(self._image.rgb)

    def prefetch(self, images: Iterable, progress: Callable[[int, int, str], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> PrefetchReport:
        """Compute the embeddings of `images` (arrays, ImageData or paths) into the cache (`prefetch_images`)."""
        return prefetch_images(images, lambda rgb: self._embedding(rgb, self._key(rgb))[1], progress, cancel)

    def sibling(self) -> SamEngine:
        """A new engine on the same model weights, cache and settings, with no current image."""
        return SamEngine(self.sam, cache=self.cache, fast=self.fast, precision=self.precision)

    @torch.no_grad()
    def predict(self, points=None, labels=None, box=None, mask_input=None, multimask: bool = True) -> Prediction:
        """Masks for prompts on the current image.

        points: (N, 2) x, y pixels; labels: (N,) 1 foreground / 0 background; box: x0, y0, x1, y1;
        mask_input: a row of a previous `Prediction.low_res_logits`. `multimask` returns SAM's
        three candidate masks (best for one ambiguous click), else its single mask.
        """
        image = self._current()
        side = self.embedding_shape[-1] * 4
        p = check_prompts(points, labels, box, mask_input, image.original_size, side)
        dev = self.device
        pts = boxes = masks_in = None
        if p.points is not None:
            coords = self.transform.apply_coords(p.points, image.original_size)
            pts = (torch.as_tensor(coords, dtype=torch.float, device=dev)[None],
                   torch.as_tensor(p.labels, dtype=torch.int, device=dev)[None])
        if p.box is not None:
            boxes = torch.as_tensor(self.transform.apply_boxes(p.box, image.original_size),
                                    dtype=torch.float, device=dev)[None]
        if p.mask_input is not None:
            masks_in = torch.as_tensor(p.mask_input, dtype=torch.float, device=dev)[None]
        sparse, dense = self.sam.prompt_encoder(points=pts, boxes=boxes, masks=masks_in)
        if self.fast:
            low, scores = self._decoder(image.decoder, sparse, dense if masks_in is not None else None, multimask)
        else:
            low, scores = self.sam.mask_decoder(
                image_embeddings=image.embedding, image_pe=self.sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=multimask)
        to_masks = full_size_masks if self.fast else postprocessed_masks
        masks = to_masks(self.sam, low, image.input_size, image.original_size)
        return Prediction(masks, scores[0].float().cpu().numpy(), low[0].float().cpu().numpy())

    @torch.no_grad()
    def point_logits(self, points) -> PointLogits:
        """SAM's three candidates for each of B single positive points on the current image, in one batch.

        points: (B, 2) x, y pixels. The decoder runs once for the batch (`FastMaskDecoder.decode_batch`;
        with `fast=False`, segment_anything's decoder on the batch, as SamPredictor.predict_torch).
        """
        image = self._current()
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        # float64 coordinates as SamAutomaticMaskGenerator gives them (the prompt encoder normalises, then casts);
        # MPS has no float64
        dtype = torch.float if self.device.type == "mps" else torch.float64
        coords = torch.as_tensor(self.transform.apply_coords(pts, image.original_size), dtype=dtype, device=self.device)
        labels = torch.ones(len(pts), 1, dtype=torch.int, device=self.device)
        sparse, dense = self.sam.prompt_encoder(points=(coords[:, None], labels), boxes=None, masks=None)
        if self.fast:
            low, scores = self._decoder.decode_batch(image.decoder, sparse, multimask=True)
        else:
            low, scores = self.sam.mask_decoder(
                image_embeddings=image.embedding, image_pe=self.sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=True)
        return PointLogits(low.float(), scores.float(), image.input_size, image.original_size)

    def logits_at_image_size(self, plane: np.ndarray, out: PointLogits) -> np.ndarray:
        """One (S, S) plane of `out.low_res` (as a CPU array) at its image's size, (H, W) float32."""
        return full_size_logits(plane, self.side, out.input_size, out.original_size)

    def _current(self) -> _Image:
        image = self._image
        if image is None:
            raise RuntimeError("no image set: call set_image(image) before predicting")
        return image

    def _key(self, rgb: np.ndarray) -> str:
        return embedding_key(image_signature(rgb), self.model_signature,
                             self.sam.image_encoder.img_size, self.precision)

    def _cached(self, key: str) -> torch.Tensor | None:
        """The cached embedding for `key` on the model's device, if one is there, readable, finite, of our shape."""
        embedding = self.cache.get(key)
        if embedding is None or tuple(embedding.shape) != self.embedding_shape:
            return None
        return embedding.to(self.device)

    def _embedding(self, rgb: np.ndarray, key: str) -> tuple[torch.Tensor, bool]:
        embedding = self._cached(key)
        if embedding is not None:
            return embedding, True
        with self._encode_lock:
            embedding = self._cached(key)
            if embedding is not None:
                return embedding, True
            embedding = self._encode(rgb)
            self.cache.put(key, embedding)
        return embedding, False

    @torch.no_grad()
    def _encode(self, rgb: np.ndarray) -> torch.Tensor:
        resized = self.transform.apply_image(rgb)
        x = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None]
        x = self.sam.preprocess(x)
        with self.precision_choice.autocast(self.device):
            return self.sam.image_encoder(x).float()
