"""`mopeft bench adapt` end to end on the tiny SAM: a table and a JSON covering every configuration and dataset."""
import json
import shutil

import cv2
import torch
import pytest

from app.bench._adapt_report import gate_heatmap_png, kind_means
from app.bench.adapt import dataset_name
from app.cli.main import main
from app.mopeft.kinds.bottleneck import BottleneckConfig
from fixture_paths import TINY_SAM as FIXTURE

CONFIGS = ["mopeft", "lora", "prefix", "adapter"]


def _synth(folder, domain, seed):
    assert main(["synth", "--domain", domain, "--count", "2", "--seed", str(seed), "--size", "128",
                 "--out", str(folder)]) == 0
    return str(folder / "annotations.json")


@pytest.mark.slow
def test_tiny_run_writes_a_table_json_and_heatmaps_for_every_config_and_dataset(tmp_path, capsys):
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    train = [_synth(tmp_path / f"{d}_train", d, 1) for d in ("cells", "texture")]
    test = [_synth(tmp_path / f"{d}_test", d, 2) for d in ("cells", "texture")]
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["bench", "adapt", "--model", str(model), "--train", ",".join(train), "--test", ",".join(test),
                 "--steps", "2", "--seeds", "1", "--blocks", "last:2", "--max-clicks", "3", "--out", str(out)]) == 0
    report = json.loads((out / "adapt.json").read_text())
    assert set(report["datasets"]) == {"cells_train", "texture_train"}
    for name, result in report["datasets"].items():
        assert 0 <= result["zero_shot"]["miou_1click"] <= 1 and result["zero_shot"]["instances"] > 0
        assert list(result["configs"]) == CONFIGS
        for config, r in result["configs"].items():
            assert 0 <= r["miou_1click"]["mean"] <= 1 and 1 <= r["noc85"]["mean"] <= 3
            assert len(r["runs"]) == 1 and r["trainable"] > 0 and r["seconds"]["mean"] > 0
            kinds = {k for block in r["gates"].values() for k in block}
            assert kinds == ({"lora", "prefix", "adapter"} if config == "mopeft" else {config})
        assert list(result["gates"]) == ["blocks.2", "blocks.3"]
        assert all(0 < v < 1 for block in result["gates"].values() for v in block.values())
        heatmap = cv2.imread(str(out / f"gates-{name}.png"))
        assert heatmap is not None and heatmap.shape[0] > 60
    table = (out / "adapt.md").read_text()
    assert table == capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| ") and ("zero-shot" in line or "±" in line)]
    assert len(rows) == 2 * 5 and sum("**(best)**" in row for row in rows) == 2
    gate_rows = [line for line in table.splitlines() if line.startswith("| cells_train | 0.")]
    assert len(gate_rows) == 1 and "favoured" in table


def test_mismatched_train_and_test_lists_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["bench", "adapt", "--train", "a.json,b.json", "--test", "a_test.json", "--out", str(tmp_path)])
    assert "same number" in capsys.readouterr().err


def test_heatmap_and_kind_means_follow_the_gates(tmp_path):
    gates = {"blocks.10": {"lora": 0.9, "adapter": 0.1}, "blocks.2": {"lora": 0.5, "adapter": 0.3}}
    assert kind_means(gates) == pytest.approx({"lora": 0.7, "adapter": 0.2})
    image = cv2.imread(str(gate_heatmap_png(gates, "t", tmp_path / "g.png")))
    top, left, cw, ch = 60, 110, 90, 30
    bright = image[top + ch + 5, left + 5]   # blocks.10 (second row, model order), lora: 0.9 -> yellow
    dark = image[top + ch + 5, left + cw + 5]  # blocks.10, adapter: 0.1 -> dark purple
    assert int(bright.sum()) > int(dark.sum()) + 200


@pytest.mark.slow
def test_kind_lr_reaches_the_trainer_lora_at_zero_stays_zero_shot(tmp_path):
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    train, test = _synth(tmp_path / "cells" / "train", "cells", 1), _synth(tmp_path / "cells" / "test", "cells", 2)
    out = tmp_path / "out"
    assert main(["bench", "adapt", "--model", str(model), "--train", train, "--test", test, "--configs", "lora,adapter",
                 "--steps", "3", "--seeds", "1", "--blocks", "last:2", "--max-clicks", "2", "--kind-lr", "lora=0",
                 "--out", str(out)]) == 0
    report = json.loads((out / "adapt.json").read_text())
    assert report["kind_lr"] == {"prefix": 10.0, "lora": 0.0, "gate": 1.0}
    result = report["datasets"]["cells"]  # cells/train/annotations.json: the nearest folder not generic
    # LoRA's B starts at zero and never moves at rate 0 (its gates do, but they scale a zero update)
    assert result["configs"]["lora"]["miou_1click"]["mean"] == result["zero_shot"]["miou_1click"]
    assert result["configs"]["adapter"]["miou_1click"]["mean"] != result["zero_shot"]["miou_1click"]
    assert "lora 0x" in (out / "adapt.md").read_text()
    assert report["adapter_dropout"] == BottleneckConfig.dropout
    assert f"adapter dropout {BottleneckConfig.dropout:g} after the first 25% of the steps" in (
        out / "adapt.md").read_text()


@pytest.mark.parametrize("text", ["lora", "lora=fast", "lora=-1", "dora=0.3", "lora=nan", "lora=inf"])
def test_bad_kind_lr_is_refused_naming_the_part(tmp_path, capsys, text):
    with pytest.raises(SystemExit):
        main(["bench", "adapt", "--train", "a.json", "--test", "b.json", "--kind-lr", f"prefix=5,{text}",
              "--out", str(tmp_path)])
    assert f"--kind-lr: kind learning rate {text!r}" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1", "-0.5", "x"])
def test_bad_adapter_dropout_is_refused(tmp_path, capsys, value):
    with pytest.raises(SystemExit):
        main(["bench", "adapt", "--train", "a.json", "--test", "b.json", "--adapter-dropout", value,
              "--out", str(tmp_path)])
    assert "--adapter-dropout" in capsys.readouterr().err


@pytest.mark.slow
def test_holdout_chooses_the_kept_step_on_held_out_training_images(tmp_path, capsys):
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    train = _synth(tmp_path / "cells" / "train", "cells", 1)
    test = _synth(tmp_path / "cells" / "test", "cells", 2)
    out = tmp_path / "out"
    common = ["bench", "adapt", "--model", str(model), "--train", train, "--test", test, "--configs", "mopeft",
              "--steps", "4", "--seeds", "1", "--blocks", "last:2", "--max-clicks", "2", "--out", str(out)]
    assert main(common + ["--holdout", "1", "--select-every", "2"]) == 0
    report = json.loads((out / "adapt.json").read_text())
    assert report["holdout"] == 1 and report["select_every"] == 2
    assert report["datasets"]["cells"]["configs"]["mopeft"]["runs"][0]["kept_step"] in (2, 4)
    assert "best on the last 1 training images, held out" in (out / "adapt.md").read_text()
    assert "held-out 1-click mIoU" not in capsys.readouterr().err  # the bench logs runs, not steps

    assert main(common + ["--holdout", "2"]) == 1  # the file holds 2 images: none would be left to train on
    assert "--holdout 2 leaves no training image in cells (2)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(common + ["--holdout", "1", "--select-every", "0"])
    assert "--select-every at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("train, name", [
    ("data/cells/train.json", "cells"),
    ("data/texture/Train.json", "texture"),
    ("cells/train/annotations.json", "cells"),
    ("lvis/annotations/instances_train2017.json", "lvis"),
    ("coco/annotations/instances_train2017.json", "instances_train2017"),   # every part generic: the stem
    ("bench/cells_train.json", "cells_train"),
    ("train.json", "train"),
])
def test_a_dataset_is_named_after_its_file_or_the_nearest_folder_that_is_not_generic(train, name):
    assert dataset_name(train) == name


@pytest.mark.parametrize("names", [None, "a,a"])
def test_two_datasets_with_one_name_are_refused_naming_both_files(tmp_path, capsys, names):
    trains = [str(tmp_path / folder / "cells" / "train.json") for folder in ("one", "two")]
    tests = [str(tmp_path / folder / "cells" / "test.json") for folder in ("one", "two")]
    argv = ["bench", "adapt", "--train", ",".join(trains), "--test", ",".join(tests)]
    with pytest.raises(SystemExit):
        main(argv + (["--names", names] if names else []))
    err = capsys.readouterr().err
    clash = "'a'" if names else "'cells'"
    assert f"dataset names must be unique, but these share one: {clash} for {trains[0]} and {trains[1]}" in err
    assert ("--names:" if names else "--train:") in err


@pytest.mark.slow
def test_a_sam2_model_is_adapted_scored_and_its_gates_mapped(tmp_path, capsys, tiny_sam2):
    model = tmp_path / "sam2.pt"
    torch.save(tiny_sam2.state_dict(), model)
    train, test = _synth(tmp_path / "cells_train", "cells", 1), _synth(tmp_path / "cells_test", "cells", 2)
    out = tmp_path / "out"
    assert main(["bench", "adapt", "--model", str(model), "--train", train, "--test", test, "--configs",
                 "mopeft,lora", "--steps", "2", "--seeds", "1", "--blocks", "last:2", "--max-clicks", "2",
                 "--out", str(out)]) == 0
    result = json.loads((out / "adapt.json").read_text())["datasets"]["cells_train"]
    assert list(result["configs"]) == ["mopeft", "lora"] and result["zero_shot"]["instances"] > 0
    gates = result["gates"]
    assert len(gates) == 2 and {k for block in gates.values() for k in block} == {"lora", "prefix", "adapter"}
    assert all(0 < v < 1 for block in gates.values() for v in block.values())
    assert (out / "gates-cells_train.png").is_file()
