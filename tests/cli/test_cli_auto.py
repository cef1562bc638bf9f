"""`mopeft auto` and `mopeft eval --auto` with the generator replaced (app.services.proposing.propose_image):
which images, what is stored, unreadable images, Ctrl+C, the JSON lines; AP and mSA of perfect and empty
proposals."""
import json

import cv2
import numpy as np
import pytest
import torch

from app.cli.main import main
from app.coco.writer import write_coco
from app.services import proposing
from app.store import Project
from fixture_paths import TINY_SAM
from proposal_records import Proposed

H, W = 40, 48


def bright_parts(rgb):
    """The generator's stand-in: one proposal per bright connected part of the image."""
    count, parts = cv2.connectedComponents((rgb[..., 0] > 100).astype(np.uint8))
    found = []
    for k in range(1, count):
        ys, xs = np.nonzero(parts == k)
        found.append(Proposed.of_mask(parts == k, 0.9 - k / 100, 0.95, (float(xs[0]), float(ys[0]))))
    return found


def write_image(path, squares):
    rgb = np.zeros((H, W, 3), np.uint8)
    for top, left in squares:
        rgb[top:top + 10, left:left + 10] = 200
    cv2.imwrite(str(path), rgb)
    return rgb


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def propose(engine, rgb, accepted=(), params=None, progress=None, cancel=None):
        seen.append((len(accepted), params and params.points_per_side))
        return bright_parts(rgb)

    monkeypatch.setattr(proposing, "propose_image", propose)
    return seen


@pytest.fixture
def project_dir(tmp_path):
    write_image(tmp_path / "a.png", [(2, 2), (20, 30)])
    write_image(tmp_path / "b.png", [(5, 5)])
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        mask = np.zeros((H, W), bool)
        mask[5:15, 5:15] = True
        project.instances.add(project.images.find("b.png").id, label.id, mask)
    return tmp_path


def auto(capsys, *args):
    code = main(["auto", "--model", str(TINY_SAM), "--device", "cpu", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_unlabelled_images_get_pending_proposals_and_a_json_line(project_dir, calls, capsys):
    code, out, err = auto(capsys, "--project", str(project_dir), "--points-per-side", "4", "--json")
    assert code == 0 and calls == [(0, 4)] and "1/1 a.png: 2 proposals" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (summary["images"], summary["proposals"]) == (1, 2) and summary["seconds"] >= 0
    with Project.open(project_dir) as project:
        stored = project.proposals.for_image(project.images.find("a.png").id)
        assert [(p.state.value, p.model, p.adapter_version_id) for p in stored] == \
            [("pending", str(TINY_SAM), None)] * 2
    code, out, _ = auto(capsys, "--project", str(project_dir), "--images", "all")   # replaces, passes accepted
    assert code == 0 and calls[1:] == [(0, None), (1, None)]
    with Project.open(project_dir) as project:
        assert project.proposals.pending_counts() == {project.images.find("a.png").id: 2,
                                                      project.images.find("b.png").id: 1}


@pytest.mark.slow
def test_an_unreadable_image_is_named_and_skipped(project_dir, calls, capsys):
    (project_dir / "b.png").write_bytes(b"not a png")
    code, out, err = auto(capsys, "--project", str(project_dir), "--images", "all")
    assert code == 0 and "b.png: skipped" in err and "1 skipped: b.png" in out and len(calls) == 1


@pytest.mark.slow
def test_ctrl_c_keeps_the_images_done_and_leaves_the_rest(project_dir, monkeypatch, capsys):
    done = []

    def propose(engine, rgb, accepted=(), params=None, progress=None, cancel=None):
        if done:
            raise KeyboardInterrupt
        done.append(1)
        return bright_parts(rgb)

    monkeypatch.setattr(proposing, "propose_image", propose)
    code, _, err = auto(capsys, "--project", str(project_dir), "--images", "all")
    assert code == 130 and "1 image(s) have new proposals" in err
    with Project.open(project_dir) as project:
        assert project.proposals.pending_counts() == {project.images.find("a.png").id: 2,
                                                      project.images.find("b.png").id: 0}


def test_a_missing_project_exits_2(tmp_path, calls, capsys):
    code, _, err = auto(capsys, "--project", str(tmp_path))
    assert code == 2 and "no MoPEFT project" in err and calls == []


@pytest.mark.slow
def test_a_sam2_model_proposes_on_its_own_engine(project_dir, monkeypatch, capsys, tmp_path, tiny_sam2):
    from app.sam2 import Sam2Engine

    torch.save(tiny_sam2.state_dict(), tmp_path / "sam2.pt")
    engines, real = [], proposing.propose_image
    monkeypatch.setattr(proposing, "propose_image",
                        lambda engine, *a, **k: engines.append(engine) or real(engine, *a, **k))
    code = main(["auto", "--model", str(tmp_path / "sam2.pt"), "--device", "cpu", "--project", str(project_dir),
                 "--points-per-side", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"model {tmp_path / 'sam2.pt'}" in err and "1/1 a.png:" in err
    assert len(engines) == 1 and isinstance(engines[0], Sam2Engine)


@pytest.fixture
def coco_file(tmp_path):
    images, annotations = [], []
    for image_id, squares in enumerate([[(2, 2), (20, 30)], [(5, 25)]], start=1):
        rgb = write_image(tmp_path / f"{image_id}.png", squares)
        for part in bright_parts(rgb):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": image_id,
                                "segmentation": part.rle, "iscrowd": 0})
        images.append({"id": image_id, "file_name": f"{image_id}.png", "width": W, "height": H})
    write_coco(images, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], annotations, tmp_path / "gt.json")
    return tmp_path / "gt.json"


def eval_auto(capsys, coco_file):
    code = main(["eval", "--auto", "--model", str(TINY_SAM), "--device", "cpu", "--data", str(coco_file), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_eval_auto_scores_perfect_proposals_one(coco_file, calls, capsys):
    result = eval_auto(capsys, coco_file)
    assert result == {"ap": pytest.approx(1.0), "ap50": pytest.approx(1.0), "msa": 1.0, "images": 2, "instances": 3}


@pytest.mark.slow
def test_eval_auto_scores_no_proposals_zero(coco_file, monkeypatch, capsys):
    monkeypatch.setattr(proposing, "propose_image", lambda *args, **kwargs: [])
    assert eval_auto(capsys, coco_file) == {"ap": 0.0, "ap50": 0.0, "msa": 0.0, "images": 2, "instances": 3}
