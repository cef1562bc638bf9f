"""AutoParams: the settings of automatic segmentation, with SamAutomaticMaskGenerator's names and defaults."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

_UNIT = ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh", "crop_nms_thresh", "accepted_overlap")
_COUNTS = {"points_per_side": 1, "points_per_batch": 1, "crop_n_layers": 0, "crop_n_points_downscale_factor": 1,
           "min_mask_region_area": 0}


@dataclass(frozen=True)
class AutoParams:
    """How `propose_instances` proposes: a grid of points_per_side² points (per crop layer n:
    points_per_side / crop_n_points_downscale_factor**n per side), decoded points_per_batch at a time;
    masks kept when their predicted IoU > pred_iou_thresh and stability score (IoU of the mask thresholded at
    ± stability_score_offset) >= stability_score_thresh, a threshold of 0 switching its filter off; duplicates
    removed by box NMS at box_nms_thresh (within a crop) and crop_nms_thresh (between crops, smaller crops
    preferred); crop_n_layers layers of 2**n x 2**n overlapping crops (crop_overlap_ratio of the short side in
    the first layer); holes and islands below min_mask_region_area pixels removed (0: not); a proposal is
    dropped when more than accepted_overlap of its area lies inside the accepted instances.
    """

    points_per_side: int = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0
    box_nms_thresh: float = 0.7
    crop_n_layers: int = 0
    crop_nms_thresh: float = 0.7
    crop_overlap_ratio: float = 512 / 1500
    crop_n_points_downscale_factor: int = 1
    min_mask_region_area: int = 0
    accepted_overlap: float = 0.5

    def __post_init__(self) -> None:
        for name, least in _COUNTS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be a whole number >= {least}, not {value!r}")
        for name in (*_UNIT, "stability_score_offset", "crop_overlap_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, not {value!r}")
        for name in _UNIT:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)!r}")
        if self.stability_score_offset < 0:
            raise ValueError(f"stability_score_offset must be >= 0, not {self.stability_score_offset!r}")
        if not 0 <= self.crop_overlap_ratio < 1:
            raise ValueError(f"crop_overlap_ratio must be >= 0 and < 1, not {self.crop_overlap_ratio!r}")
        if self.points_in_layer(self.crop_n_layers) < 1:
            raise ValueError(f"crop layer {self.crop_n_layers} would have no points: points_per_side "
                             f"{self.points_per_side} / crop_n_points_downscale_factor "
                             f"{self.crop_n_points_downscale_factor}**{self.crop_n_layers} < 1")

    def points_in_layer(self, layer: int) -> int:
        """Points per side of the grid in crop layer `layer` (0: the whole image)."""
        return int(self.points_per_side / self.crop_n_points_downscale_factor ** layer)

    def to_dict(self) -> dict:
        """The parameters as a plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AutoParams:
        """Parameters from a dict such as `to_dict` gives; missing keys take the defaults, unknown keys are refused."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown automatic segmentation parameter(s): {', '.join(unknown)}")
        return cls(**data)
