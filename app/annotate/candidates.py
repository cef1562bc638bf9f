"""SAM's answer to one prompt set as the session keeps it: each candidate mask a `MaskCrop`, so an answer on a tile
of a large image costs the tile's crop, never the whole image."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.sam.engine import Prediction
from app.tiles.mask_crop import MaskCrop
from app.tiles.predictor import TiledPrediction


@dataclass(frozen=True, eq=False)
class Candidates:
    """`masks` SAM's candidate masks, `scores` their predicted IoUs, `low_res_logits` to refine from (N, S, S;
    N x 0 x 0: none) and `frame` the region of a large image they belong to (None: the whole image)."""

    masks: tuple[MaskCrop, ...]
    scores: np.ndarray
    low_res_logits: np.ndarray
    frame: tuple[int, int, int, int] | None = None

    @classmethod
    def of(cls, prediction: Prediction | TiledPrediction) -> "Candidates":
        """The engine's answer (masks of the whole image, kept as they are) or a tiled one (crops of a tile)."""
        if isinstance(prediction, TiledPrediction):
            masks = tuple(prediction.crop(i) for i in range(len(prediction.masks)))
        else:
            masks = tuple(MaskCrop.whole(m) for m in prediction.masks)
        return cls(masks, prediction.scores, prediction.low_res_logits, prediction.frame)

    @property
    def best(self) -> int:
        """Index of the mask with the highest predicted IoU."""
        return int(np.argmax(self.scores))

    @property
    def nbytes(self) -> int:
        """Bytes the masks and logits take."""
        return sum(m.nbytes for m in self.masks) + self.low_res_logits.nbytes
