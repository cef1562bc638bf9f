"""The fixed validation split: kept in the project across runs, new images join it deterministically, and
runs (CLI) validate on it and name its images."""
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli.main import main
from app.store.project import Project
from app.training.finetune.validation import update_split
from toy_shapes import scenes, write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



def _annotate_more(folder: Path, count: int, seed: int) -> None:
    """Add `count` new annotated toy images (named more<i>.png) to the project in `folder`."""
    data = scenes(count, seed=seed, invert=True)
    for i, (image, _, _) in enumerate(data):
        cv2.imwrite(str(folder / f"more{i}.png"), image.permute(1, 2, 0).numpy().astype(np.uint8)[:, :, ::-1])
    with Project.open(folder) as project:
        project.images.scan()
        label = project.labels.list()[0]
        for i, (_, mask, _) in enumerate(data):
            project.instances.add(project.images.find(folder / f"more{i}.png").id, label.id, mask.numpy() > 0)


@pytest.mark.slow
def test_the_split_is_kept_across_runs_and_new_images_join_it(tmp_path):
    folder = write_toy_project(tmp_path / "proj", count=5)
    with Project.open(folder) as project:
        first = update_split(project)
        assert len(first) == 1 and update_split(project) == first  # a fifth, at least one; asked again: the same
    _annotate_more(folder, 10, seed=5)
    with Project.open(folder) as project:
        grown = update_split(project)
    assert first <= grown and len(grown) == 3  # 15 annotated images: a fifth held out, the first one kept
    with Project.open(folder, readonly=True) as project:
        assert sum(project.training_runs.validation_split().values()) == 3
    # the same history gives the same split
    again = write_toy_project(tmp_path / "again", count=5)
    with Project.open(again) as project:
        assert update_split(project) == first
    _annotate_more(again, 10, seed=5)
    with Project.open(again) as project:
        assert update_split(project) == grown


def test_an_image_trained_on_stays_a_training_image(tmp_path):
    folder = write_toy_project(tmp_path / "proj", count=1)
    with Project.open(folder) as project:
        assert update_split(project) == frozenset()  # one image: it is trained on, nothing held out
    _annotate_more(folder, 1, seed=5)
    with Project.open(folder) as project:
        assert update_split(project) == {"more0.png"}


@pytest.mark.slow
def test_mopeft_train_validates_every_run_on_the_same_named_images(tmp_path, capsys):
    folder = write_toy_project(tmp_path / "proj", count=10)
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    args = ["train", "--project", str(folder), "--model", str(model), "--steps", "2", "--blocks", "last:2",
            "--json", "--activate", "always"]
    runs = []
    for seed in ("1", "2"):  # the seed no longer moves the split
        assert main(args + ["--seed", seed]) == 0
        out, err = capsys.readouterr()
        runs.append(json.loads(out.strip().splitlines()[-1]))
    names = runs[0]["validation_names"]
    assert len(names) == 2 and runs[1]["validation_names"] == names
    assert runs[1]["validation_images"] == 2 and runs[1]["train_images"] == 8
    assert f"validating (before) on 2 images: {names[0]}, {names[1]}" in err
    with Project.open(folder, readonly=True) as project:
        assert [v.metrics["validation_names"] for v in project.adapters.list()] == [names, names]
