"""`mopeft eval` end to end on a tiny random-weights model saved to a file."""
import copy
import json

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from app.cli.main import main
from app.coco.writer import write_coco
from app.mopeft import MoPEFTConfig, save_adapter, wrap
from app.sam.variants import build_sam

KEYS = {"miou_1click", "noc85", "noc90", "instances"}


def rle(mask):
    counts = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode("ascii")
    return {"size": list(mask.shape), "counts": counts}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    torch.manual_seed(3)
    base = build_sam("tiny")
    torch.save(base.state_dict(), root / "tiny.pth")
    wrapped = wrap(copy.deepcopy(base), MoPEFTConfig(kinds=["lora", "adapter"], blocks="last:2"))
    with torch.no_grad():  # a trained-looking adapter: non-zero everywhere, so it changes the masks
        for p in wrapped.parameters():
            if p.requires_grad:
                p.normal_(0, 0.5)
    save_adapter(wrapped, root / "adapter.safetensors")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for image_id, (h, w) in enumerate([(48, 64), (40, 40)], start=1):
        rgb = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        for k, (top, left) in enumerate([(5, 5), (22, 20)][:image_id]):
            mask = np.zeros((h, w), bool)
            mask[top:top + 14, left:left + 16] = True
            rgb[mask] = (200, 180, 40 * k)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "segmentation": rle(mask), "iscrowd": 0})
        cv2.imwrite(str(root / "images" / f"{image_id}.png"), rgb[..., ::-1])
        images.append({"id": image_id, "file_name": f"images/{image_id}.png", "width": w, "height": h})
    write_coco(images, [{"id": 1, "name": "box"}], annotations, root / "val.json")
    return root


def run_eval(capsys, *args):
    code = main(["eval", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_eval_json_last_line(files, capsys):
    code, out, err = run_eval(capsys, "--model", str(files / "tiny.pth"), "--data", str(files / "val.json"),
                              "--max-clicks", "3", "--json", "--device", "cpu")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary) == KEYS
    assert summary["instances"] == 3 and type(summary["instances"]) is int
    assert all(type(summary[k]) is float for k in ("miou_1click", "noc85", "noc90"))
    assert 0.0 <= summary["miou_1click"] <= 1.0
    assert 1.0 <= summary["noc85"] <= summary["noc90"] <= 3.0
    assert f"1-click mIoU  {summary['miou_1click']:.4f}" in out and "instances     3" in out
    assert "evaluating 3/3 instances" in err


@pytest.mark.slow
def test_eval_without_json_prints_no_json(files, capsys):
    code, out, _ = run_eval(capsys, "--model", str(files / "tiny.pth"), "--data", str(files / "val.json"),
                            "--max-clicks", "2")
    assert code == 0 and "NoC@90" in out and "{" not in out


@pytest.mark.slow
def test_adapter_is_loaded(files, capsys):
    common = ["--model", str(files / "tiny.pth"), "--data", str(files / "val.json"), "--max-clicks", "2", "--json"]
    _, plain, _ = run_eval(capsys, *common)
    code, adapted, err = run_eval(capsys, *common, "--adapter", str(files / "adapter.safetensors"))
    assert code == 0, err
    assert "with adapter" in adapted
    assert json.loads(adapted.splitlines()[-1]) != json.loads(plain.splitlines()[-1])


@pytest.mark.slow
def test_errors_name_the_file(files, capsys, tmp_path):
    code, _, err = run_eval(capsys, "--model", str(files / "tiny.pth"), "--data", str(tmp_path / "none.json"))
    assert code == 1 and "none.json: no such file" in err
    code, _, err = run_eval(capsys, "--model", str(files / "tiny.pth"), "--data", str(files / "val.json"),
                            "--adapter", str(files / "val.json"))
    assert code == 1 and "val.json: not a readable MoPEFT adapter file" in err
    with pytest.raises(SystemExit):
        main(["eval", "--model", "x", "--data", "y", "--max-clicks", "0"])


@pytest.mark.slow
def test_eval_a_sam2_model_with_its_adapter(files, capsys, tmp_path, tiny_sam2):
    torch.save(tiny_sam2.state_dict(), tmp_path / "sam2.pt")
    wrapped = wrap(copy.deepcopy(tiny_sam2), MoPEFTConfig(kinds=["lora", "adapter"], blocks="last:2"))
    with torch.no_grad():
        for p in wrapped.parameters():
            if p.requires_grad:
                p.normal_(0, 0.5)
    save_adapter(wrapped, tmp_path / "adapter.safetensors")
    common = ["--model", str(tmp_path / "sam2.pt"), "--data", str(files / "val.json"), "--max-clicks", "2",
              "--json", "--device", "cpu"]
    code, plain, err = run_eval(capsys, *common)
    assert code == 0, err
    assert f"model: sam2_tiny from {tmp_path / 'sam2.pt'}" in plain
    assert json.loads(plain.splitlines()[-1])["instances"] == 3
    code, adapted, err = run_eval(capsys, *common, "--adapter", str(tmp_path / "adapter.safetensors"))
    assert code == 0, err
    assert json.loads(adapted.splitlines()[-1]) != json.loads(plain.splitlines()[-1])
