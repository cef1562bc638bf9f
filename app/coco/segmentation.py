"""The `segmentation` field of a COCO annotation, both ways: from a stored RLE, and to a checked RLE."""
from __future__ import annotations

from app.coco.polygons import mask_to_polygons, polygons_to_rle
from app.coco.rle import checked_rle
from app.store.masks import rle_to_mask

HOLES = "has holes, which COCO polygons cannot express"


def segmentation_from_rle(rle: dict, polygons: bool) -> tuple[dict | list, str | None]:
    """The segmentation to write for a mask kept as compressed RLE, and why it is RLE when polygons were asked.

    With `polygons`, a mask with holes stays RLE (a polygon would fill them): the second value then says so.
    """
    as_rle = {"size": [int(v) for v in rle["size"]], "counts": str(rle["counts"])}
    if not polygons:
        return as_rle, None
    outline = mask_to_polygons(rle_to_mask(rle))
    if outline.has_holes:
        return as_rle, HOLES
    return outline.polygons, None


def segmentation_to_rle(segmentation, height: int, width: int) -> dict:
    """Compressed RLE of a COCO segmentation (compressed or uncompressed RLE, or polygons) for an image of
    this size. Raises ValueError saying what is wrong with it.
    """
    if isinstance(segmentation, dict):
        return checked_rle(segmentation, height, width)
    if isinstance(segmentation, list):
        return polygons_to_rle(segmentation, height, width)
    raise ValueError(f"'segmentation' must be an RLE object or a list of polygons, not {type(segmentation).__name__}")
