"""Training examples from a project: each annotated image with its accepted masks, split by image.

An example is the evaluation code's `EvalImage` (name = the image's project path, instance_ids = instance ids),
so the same objects feed the training loop and the before/after validation.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from app.metrics.dataset import EvalImage
from app.training.family import training_family
from app.training.finetune.crops import as_crops_if_large
from app.sam.images import ImageLoadError, load_image
from app.store.hashing import FileCheck, check_file
from app.store.project import Project


@dataclass(frozen=True)
class Split:
    """Examples for training and for validation (validation may be empty: then say so)."""

    train: list[EvalImage]
    validation: list[EvalImage]


def collect_examples(project: Project, skip_unedited: bool = False,
                     crop_side: int | None = None) -> tuple[list[EvalImage], list[str]]:
    """Every image with at least one accepted instance, and a warning for each image left out: one that could
    not be read, whose file is no longer the one annotated (other size or content, `check_file`), or with a
    mask that does not decode to its recorded area.

    `skip_unedited` leaves out the instances accepted unedited (`Instance.unedited` is True: SAM's mask as it
    came; unknown ones are kept), and says how many in a warning. `crop_side` (the model's input side): an image
    large enough to be tiled gives crops of that side around its instances at full resolution (`crops`).
    """
    examples, warnings, left_out = [], [], 0
    for image in project.images.list():
        instances = project.instances.for_image(image.id)
        if skip_unedited:
            kept = [i for i in instances if i.unedited is not True]
            left_out += len(instances) - len(kept)
            instances = kept
        if not instances:
            continue
        path = project.path_of(image.path)
        try:
            rgb = load_image(path).rgb
            check = check_file(path, (rgb.shape[1], rgb.shape[0]), image)
        except (ImageLoadError, OSError) as exc:
            warnings.append(f"skipped {image.path}: {exc}")
            continue
        if check is not FileCheck.SAME:
            what = "size" if check is FileCheck.RESIZED else "content"
            warnings.append(f"skipped {image.path}: its {what} changed on disk since it was annotated, so its "
                            "masks may not fit it (if they still do: in the window, Image > Keep the instances on "
                            "the changed file)")
            continue
        try:
            masks = [_checked_mask(instance) for instance in instances]
        except ValueError as exc:
            warnings.append(f"skipped {image.path}: {exc}")
            continue
        example = EvalImage(image.path, rgb, masks, [i.id for i in instances])
        examples += [example] if crop_side is None else as_crops_if_large(example, crop_side)
    if left_out:
        warnings.append(f"left out {left_out} instance(s) accepted unedited (SAM's mask as it came)")
    return examples, warnings


def _checked_mask(instance) -> np.ndarray:
    """The instance's mask, or ValueError when its stored RLE does not decode to the area recorded with it."""
    try:
        mask = instance.mask
    except ValueError as exc:
        raise ValueError(f"the mask of instance {instance.id} is damaged in the project database ({exc})") from None
    if int(mask.sum()) != instance.area:
        raise ValueError(f"the mask of instance {instance.id} is damaged in the project database (it covers "
                         f"{int(mask.sum())} pixels where {instance.area} were recorded)")
    return mask


def split_by_names(examples: list[EvalImage], held_out) -> Split:
    """Split by image: the examples named in `held_out` (image paths, see `update_split`) for validation."""
    return Split([e for e in examples if e.name not in held_out], [e for e in examples if e.name in held_out])


def split_examples(examples: list[EvalImage], validation_fraction: float = 0.2, seed: int = 0) -> Split:
    """Split by image: about `validation_fraction` for validation, at least one once there are two images."""
    order = sorted(examples, key=lambda e: e.name)
    random.Random(seed).shuffle(order)
    if len(order) < 2:
        return Split(order, [])
    n_val = max(1, round(len(order) * validation_fraction))
    return Split(order[n_val:], order[:n_val])


def model_inputs(model: nn.Module, example: EvalImage) -> tuple[torch.Tensor, torch.Tensor]:
    """The example in the model's input frame: the preprocessed image (1, 3, S, S) and masks (P, S, S) bool.

    The preprocessing of annotation (the family's `input_frame`: SAM 1 resizes the longest side and pads, SAM 2.1
    stretches to the square), so training sees what annotation sees.
    """
    image, targets = training_family(model).input_frame(model, example)
    keep = targets.flatten(1).any(dim=1)  # an object smaller than a pixel at model scale cannot be trained on
    return image, targets[keep].to(image.device)
