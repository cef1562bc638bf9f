"""COCO export holds the instances only: an accepted proposal is exported as its instance, pending and rejected
proposals never are."""
import json
from PIL import Image as PILImage

from app.coco.export import export_coco
from app.store import Project
from proposal_records import Proposed, square_mask


def test_export_holds_accepted_proposals_only(tmp_path):
    PILImage.new("RGB", (32, 24)).save(tmp_path / "a.png")
    masks = [square_mask((24, 32), 2, left, 6) for left in (0, 10, 20)]
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        accepted, rejected, _pending = project.proposals.replace_pending(
            1, [Proposed.of_mask(m, 0.9 - k / 10, 0.95, (left + 3, 5)) for k, (m, left) in
                enumerate(zip(masks, (0, 10, 20)))], "demo")
        instance = project.instances.add(1, label.id, accepted.mask.copy(), unedited=True, proposal_id=accepted.id)
        project.proposals.set_state([rejected.id], "rejected")
        export_coco(project, tmp_path / "out.json")
    annotations = json.loads((tmp_path / "out.json").read_text())["annotations"]
    assert [(a["id"], a["bbox"]) for a in annotations] == [(instance.id, [0, 2, 6, 6])]
