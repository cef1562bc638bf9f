"""The fixed validation split: which annotated images fine-tuning holds out, kept in the project across runs.

Versions are compared on the same images only if the split stays put, so an image keeps the side it got the
first time a run saw it. New images join deterministically: in the order of a hash of their path, each one is
held out while fewer than `VALIDATION_FRACTION` of the annotated images (at least one, once there are two)
are; the same project state always gives the same split.
"""
from __future__ import annotations

import hashlib

from app.store.project import Project

VALIDATION_FRACTION = 0.2


def _wanted(annotated: int) -> int:
    """How many of `annotated` images the split holds out."""
    return 0 if annotated < 2 else max(1, round(annotated * VALIDATION_FRACTION))


def update_split(project: Project) -> frozenset[str]:
    """Assign the annotated images not in the split yet (this writes the project) and return the paths of
    the held-out annotated images."""
    paths = {image.id: image.path for image in project.images.list()}
    annotated = [image_id for image_id, count in project.instances.counts_per_image().items() if count]
    split = project.training_runs.validation_split()
    held = sum(split[i] for i in annotated if i in split)
    count = sum(i in split for i in annotated)
    new = sorted((i for i in annotated if i not in split),
                 key=lambda i: hashlib.sha256(paths[i].encode()).hexdigest())
    added = {}
    for image_id in new:
        count += 1
        added[image_id] = held < _wanted(count)
        held += added[image_id]
    if added:
        project.training_runs.assign_split(added)
        split.update(added)
    return frozenset(paths[i] for i in annotated if split[i])
