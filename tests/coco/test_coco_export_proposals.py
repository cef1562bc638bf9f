"""COCO export holds the instances only: an accepted proposal is exported as its instance, pending and rejected
proposals never are."""
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage

from app.coco.export import export_coco
from app.store import Project
from app.store.masks import mask_to_rle


@dataclass(frozen=True)
class Proposed:
    rle: dict
    predicted_iou: float
    stability: float
    point: tuple[float, float]


def test_export_holds_accepted_proposals_only(tmp_path):
    PILImage.new("RGB", (32, 24)).save(tmp_path / "a.png")
    masks = []
    for left in (0, 10, 20):
        mask = np.zeros((24, 32), dtype=bool)
        mask[2:8, left:left + 6] = True
        masks.append(mask)
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        accepted, rejected, _pending = project.proposals.replace_pending(
            1, [Proposed(mask_to_rle(m), 0.9 - k / 10, 0.95, (left + 3, 5)) for k, (m, left) in
                enumerate(zip(masks, (0, 10, 20)))], "demo")
        instance = project.instances.add(1, label.id, accepted.mask.copy(), unedited=True, proposal_id=accepted.id)
        project.proposals.set_state([rejected.id], "rejected")
        export_coco(project, tmp_path / "out.json")
    annotations = json.loads((tmp_path / "out.json").read_text())["annotations"]
    assert [(a["id"], a["bbox"]) for a in annotations] == [(instance.id, [0, 2, 6, 6])]
