"""Writing scenes as an image folder plus a COCO instances file (compressed RLE, via pycocotools)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2

from app.coco.writer import write_coco
from app.store.masks import mask_to_rle, rle_area, rle_bbox
from app.synth.scenes import DOMAINS, OBJECT_NAMES, Scene

CATEGORY_IDS = {domain: n for n, domain in enumerate(DOMAINS, start=1)}
"""COCO category id of each domain's objects: the same in every file the generator writes."""


@dataclass(frozen=True)
class WrittenDataset:
    """What `write_dataset` wrote: the COCO file and how many images and annotations it holds."""

    path: Path
    images: int
    annotations: int


def scene_file_name(scene: Scene) -> str:
    """The PNG name of a scene: domain, seed and index, so folders of several seeds never collide."""
    return f"{scene.domain}_s{scene.seed}_{scene.index:05d}.png"


def write_dataset(scenes: Iterable[Scene], out_dir: str | Path, json_name: str = "annotations.json",
                  image_dir: str = "images") -> WrittenDataset:
    """Write each scene as `out_dir/image_dir/<name>.png` and all masks into `out_dir/json_name`.

    `file_name` in the JSON is relative to the JSON's folder; one category per domain present
    (`CATEGORY_IDS`); segmentations are compressed RLE with pycocotools' area and tight bbox.
    """
    out_dir = Path(out_dir)
    (out_dir / image_dir).mkdir(parents=True, exist_ok=True)
    images, annotations, domains = [], [], []
    for image_id, scene in enumerate(scenes, start=1):
        name = f"{image_dir}/{scene_file_name(scene)}" if image_dir else scene_file_name(scene)
        if not cv2.imwrite(str(out_dir / name), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{out_dir / name}: could not write the image")
        h, w = scene.image.shape[:2]
        images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        if scene.domain not in domains:
            domains.append(scene.domain)
        for mask in scene.masks:
            rle = mask_to_rle(mask)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": CATEGORY_IDS[scene.domain], "segmentation": rle,
                                "area": rle_area(rle), "bbox": list(rle_bbox(rle)), "iscrowd": 0})
    categories = [{"id": CATEGORY_IDS[d], "name": OBJECT_NAMES[d], "supercategory": d} for d in domains]
    path = out_dir / json_name
    count = write_coco(images, categories, annotations, path,
                       info={"description": "synthetic scenes from MoPEFT Annotator (mopeft synth)"})
    return WrittenDataset(path, len(images), count)
