"""Fine-tuning on a large image: crops of the model's input side at full resolution around its accepted
instances, instead of the whole image shrunk until its objects are a few pixels (issue 23).

Crops are placed greedily: one centred on the first instance not yet inside a crop and on those nearest to it
that fit in one crop with it, holding every instance that lies whole inside it; an instance larger than a crop
goes into one crop centred on it, cut at its edges. Every crop
keeps the image's path as its name, so the split by image (validation) holds.
"""
from __future__ import annotations

import numpy as np

from app.metrics.dataset import EvalImage
from app.store.masks import mask_bounds
from app.tiles import needs_tiles


def _placed(centre: float, side: int, length: int) -> int:
    """The start of a `side` window centred on `centre` and kept inside [0, length)."""
    return int(min(max(0, round(centre - side / 2)), max(0, length - side)))


def _grouped(boxes: list, left: list[int], cw: int, ch: int) -> tuple[int, int, int, int]:
    """The joint box of instance `left[0]` and of the instances nearest to it that fit in one crop with it."""
    x0, y0, x1, y1 = boxes[left[0]]
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    for i in sorted(left[1:], key=lambda i: np.hypot(*(np.add(boxes[i][:2], boxes[i][2:]) / 2 - centre))):
        bx0, by0, bx1, by1 = boxes[i]
        joint = (min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1))
        if joint[2] - joint[0] <= cw and joint[3] - joint[1] <= ch:
            x0, y0, x1, y1 = joint
    return x0, y0, x1, y1


def crop_examples(example: EvalImage, side: int) -> list[EvalImage]:
    """`example` as crops of `side` x `side` pixels (the image's size where it is smaller) around its masks."""
    height, width = example.rgb.shape[:2]
    boxes = [mask_bounds(m) for m in example.masks]
    left = [i for i, b in enumerate(boxes) if b is not None]
    crops = []
    while left:
        x0, y0, x1, y1 = _grouped(boxes, left, min(side, width), min(side, height))
        cx, cy = _placed((x0 + x1) / 2, side, width), _placed((y0 + y1) / 2, side, height)
        cw, ch = min(side, width), min(side, height)
        inside = [i for i in left if boxes[i][0] >= cx and boxes[i][1] >= cy and boxes[i][2] <= cx + cw
                  and boxes[i][3] <= cy + ch] or [left[0]]
        crops.append(EvalImage(example.name, np.ascontiguousarray(example.rgb[cy:cy + ch, cx:cx + cw]),
                               [np.ascontiguousarray(example.masks[i][cy:cy + ch, cx:cx + cw]) for i in inside],
                               [example.instance_ids[i] for i in inside]))
        left = [i for i in left if i not in inside]
    return crops


def as_crops_if_large(example: EvalImage, side: int) -> list[EvalImage]:
    """Crops (`crop_examples`) for an image that is tiled at `side` (`tiles.needs_tiles`), else the example."""
    height, width = example.rgb.shape[:2]
    return crop_examples(example, side) if needs_tiles(height, width, side) else [example]
