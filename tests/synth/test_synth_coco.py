"""`mopeft synth`: an image folder and a COCO file that pycocotools reads back into the generated masks."""
import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from app.cli.main import main
from app.synth import generate
from fixture_paths import REPO


def _read(folder):
    coco = COCO(str(folder / "annotations.json"))
    out = []
    for image_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(image_id)[0]
        rgb = cv2.cvtColor(cv2.imread(str(folder / info["file_name"])), cv2.COLOR_BGR2RGB)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        out.append((info, rgb, [coco.annToMask(a).astype(bool) for a in anns], anns))
    return coco, out


@pytest.mark.slow
def test_cli_writes_images_and_coco_that_decode_to_the_scenes(tmp_path):
    assert main(["synth", "--domain", "camouflage", "--count", "3", "--seed", "4", "--out", str(tmp_path)]) == 0
    coco, written = _read(tmp_path)
    scenes = list(generate("camouflage", 3, 4))
    assert len(written) == 3
    for scene, (info, rgb, masks, anns) in zip(scenes, written):
        assert not info["file_name"].startswith("/") and (tmp_path / info["file_name"]).is_file()
        assert (info["width"], info["height"]) == (256, 256)
        assert np.array_equal(rgb, scene.image)
        assert len(masks) == len(scene.masks)
        for mask, truth, ann in zip(masks, scene.masks, anns):
            assert np.array_equal(mask, truth)
            assert ann["area"] == int(truth.sum()) and ann["iscrowd"] == 0
            ys, xs = np.nonzero(truth)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["camouflaged object"]


@pytest.mark.slow
def test_cli_same_seed_same_files_and_several_domains(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["synth", "--domain", "cells,texture", "--count", "2", "--seed", "9", "--out", str(out)]) == 0
    names = sorted(p.name for p in (a / "images").iterdir())
    assert len(names) == 4 and names == sorted(p.name for p in (b / "images").iterdir())
    for name in names:
        assert (a / "images" / name).read_bytes() == (b / "images" / name).read_bytes()
    data = json.loads((a / "annotations.json").read_text())
    assert {c["supercategory"] for c in data["categories"]} == {"cells", "texture"}
    assert {data["annotations"][i]["category_id"] for i in range(len(data["annotations"]))} == \
        {c["id"] for c in data["categories"]}


def test_cli_refuses_an_unknown_domain(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--domain", "cells,leaves", "--count", "1", "--out", str(tmp_path)])
    assert "leaves" in capsys.readouterr().err


@pytest.mark.slow
def test_shipped_samples_are_the_generators_scenes():
    from pathlib import Path

    from app.synth import make_scene

    folder = REPO / "resources" / "samples"
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 2_000_000
    _, written = _read(folder)
    domains = set()
    for info, rgb, masks, _ in written:
        domain, seed, index = Path(info["file_name"]).stem.split("_")
        scene = make_scene(domain, int(seed[1:]), int(index))
        domains.add(domain)
        assert np.array_equal(rgb, scene.image)
        assert all(np.array_equal(a, b) for a, b in zip(masks, scene.masks)) and len(masks) == len(scene.masks)
    assert domains == {"cells", "texture", "camouflage"}
