"""Whole runs: before/after validation, adapter versions in the project, cancel, `mopeft train` headless."""
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from app.cli.main import main
from app.mopeft import MoPEFTConfig, load_adapter, read_adapter_header
from app.sam.variants import build_sam
from app.store.project import Project
from app.store.records import RunStatus
from app.training.finetune.events import MetricsEvent, PhaseEvent, StepEvent, TrainingCancelled
from app.training.finetune.examples import collect_examples
from app.training.finetune.run import fine_tune, record_outcome
from app.training.finetune.settings import TrainSettings
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



@pytest.fixture
def project_dir(tmp_path):
    """A project of 5 inverted toy images (a domain the tiny SAM fails on), one accepted instance each."""
    return write_toy_project(tmp_path / "proj")


@pytest.mark.slow
def test_a_short_run_improves_validation_and_becomes_the_active_adapter(project_dir, tiny_sam):
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=120, lr=3e-2)
    events = []
    with Project.open(project_dir) as project:
        examples, warnings = collect_examples(project)
        assert len(examples) == 5 and warnings == []
        run = project.training_runs.start(settings.to_dict())
        outcome = fine_tune(tiny_sam, examples, settings, project.adapters_dir, on_event=events.append)
        version = record_outcome(project, outcome, "tiny-fixture", run.id)
        assert project.adapters.active().id == version.id
        assert project.training_runs.get(run.id).status is RunStatus.FINISHED
    assert (outcome.train_images, outcome.validation_images) == (4, 1)
    assert outcome.after["miou_1click"] > outcome.before["miou_1click"] + 0.2
    assert [e.when for e in events if isinstance(e, MetricsEvent)] == ["before", "after"]
    assert len([e for e in events if isinstance(e, StepEvent)]) == 120
    assert outcome.adapter_path.is_file()
    assert read_adapter_header(outcome.adapter_path)[2]["after"] == outcome.after

    # the adapter changes predictions of a fresh base model once loaded
    fresh = build_sam("tiny")
    fresh.load_state_dict(torch.load(FIXTURE, weights_only=True))
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        plain = fresh.image_encoder(x)
        load_adapter(fresh, outcome.adapter_path)
        assert not torch.allclose(plain, fresh.image_encoder(x))


@pytest.mark.slow
def test_base_model_is_left_untouched(project_dir, tiny_sam):
    before = {k: v.clone() for k, v in tiny_sam.state_dict().items()}
    with Project.open(project_dir) as project:
        examples, _ = collect_examples(project)
        fine_tune(tiny_sam, examples, TrainSettings(steps=2), project.adapters_dir)
    assert all(torch.equal(v, before[k]) for k, v in tiny_sam.state_dict().items())
    assert not hasattr(tiny_sam, "_mopeft")


@pytest.mark.slow
def test_cancel_saves_nothing(project_dir, tiny_sam):
    with Project.open(project_dir) as project:
        examples, _ = collect_examples(project)
        steps = []
        with pytest.raises(TrainingCancelled):
            fine_tune(tiny_sam, examples, TrainSettings(steps=100), project.adapters_dir,
                      on_event=lambda e: isinstance(e, StepEvent) and steps.append(e), cancel=lambda: len(steps) >= 3)
        assert list(project.adapters_dir.iterdir()) == []
        assert project.adapters.list() == []


@pytest.mark.slow
def test_single_image_trains_without_validation(project_dir, tiny_sam):
    with Project.open(project_dir) as project:
        examples, _ = collect_examples(project)
        outcome = fine_tune(tiny_sam, examples[:1], TrainSettings(steps=2), project.adapters_dir)
    assert outcome.before is None and outcome.validation_images == 0
    assert any("no validation image" in w for w in outcome.warnings)


def test_unreadable_image_is_skipped_with_a_warning(project_dir):
    (project_dir / "img0.png").write_bytes(b"not a png any more")
    with Project.open(project_dir) as project:
        examples, warnings = collect_examples(project)
    assert len(examples) == 4 and len(warnings) == 1 and "img0.png" in warnings[0]


@pytest.mark.slow
def test_mopeft_train_runs_headless_and_continues_from_the_active_adapter(project_dir, tmp_path, capsys):
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    args = ["train", "--project", str(project_dir), "--model", str(model), "--steps", "3", "--blocks", "last:2",
            "--json", "--activate", "always"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(first) >= {"before", "after", "adapter", "steps", "seconds"}
    assert first["steps"] == 3 and Path(first["adapter"]).is_file()
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the second run started from the first adapter: its "before" is the first run's "after"
    assert second["before"] == pytest.approx(first["after"])
    with Project.open(project_dir, readonly=True) as project:
        versions = project.adapters.list()
        assert len(versions) == 2 and versions[1].active and versions[0].base_model == str(model)


def _train_args(project_dir, tmp_path, *extra):
    """`mopeft train` arguments for 2 quick steps of the tiny fixture model on the project, then `extra`."""
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    return ["train", "--project", str(project_dir), "--model", str(model), "--steps", "2", "--blocks", "last:2",
            *extra]


@pytest.mark.slow
def test_mopeft_train_kind_lr_is_used_and_stored_with_the_version(project_dir, tmp_path, capsys):
    args = _train_args(project_dir, tmp_path, "--kinds", "lora", "--restart", "--json", "--kind-lr", "lora=0")
    assert main(args) == 0
    run = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = load_file(run["adapter"])
    lora_b = [t for name, t in saved.items() if name.endswith(".B")]
    assert lora_b and all(not t.any() for t in lora_b)  # at rate 0 LoRA's B never leaves zero
    assert any(t.any() for name, t in saved.items() if ".gates." in name)  # the gates still train
    with Project.open(project_dir, readonly=True) as project:
        assert project.adapters.list()[-1].config["kind_lr"] == {"prefix": 10.0, "lora": 0.0, "gate": 1.0}
    assert main(args[:-1] + ["lora=slow"]) == 2
    assert "kind learning rate 'lora=slow'" in capsys.readouterr().err


@pytest.mark.slow
def test_mopeft_train_adapter_dropout_is_stored_and_checked(project_dir, tmp_path, capsys):
    args = _train_args(project_dir, tmp_path, "--restart", "--adapter-dropout")
    assert main(args + ["0.5"]) == 0
    with Project.open(project_dir, readonly=True) as project:
        assert project.adapters.list()[-1].config["adapter_dropout"] == 0.5
    capsys.readouterr()
    assert main(args + ["1"]) == 2
    assert "adapter_dropout must be at least 0 and below 1, not 1.0" in capsys.readouterr().err


def test_mopeft_train_reports_a_bad_project(tmp_path, capsys):
    assert main(["train", "--project", str(tmp_path)]) == 2
    assert "holds no MoPEFT project" in capsys.readouterr().err


@pytest.mark.slow
def test_select_every_keeps_the_best_validated_weights(project_dir, tiny_sam):
    with Project.open(project_dir) as project:
        examples, _ = collect_examples(project)
        events = []
        outcome = fine_tune(tiny_sam, examples, TrainSettings(MoPEFTConfig(blocks="last:2"), steps=4, select_every=2),
                            project.adapters_dir, on_event=events.append)
    scored = [e.message for e in events if isinstance(e, PhaseEvent) and "held-out" in e.message]
    assert [m.split(":")[0] for m in scored] == ["step 2", "step 4"]
    assert outcome.kept_step in (2, 4) and outcome.summary()["kept_step"] == outcome.kept_step
    assert f"at step {outcome.kept_step})" in scored[-1]


@pytest.mark.slow
def test_mopeft_train_select_every(project_dir, tmp_path, capsys):
    args = _train_args(project_dir, tmp_path, "--json", "--select-every")
    assert main(args + ["1"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1])["kept_step"] in (1, 2)
    assert "[train] step 2: held-out 1-click mIoU" in err
    assert main(args + ["-1"]) == 2
    assert "select_every must be 0" in capsys.readouterr().err


def _swap(a: Path, b: Path) -> None:
    """Exchange the contents of two image files (same size: only a content check notices)."""
    data_a = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(data_a)


def test_images_whose_content_changed_since_annotation_are_left_out_by_name(project_dir):
    _swap(project_dir / "img1.png", project_dir / "img3.png")
    with Project.open(project_dir) as project:
        examples, warnings = collect_examples(project)
    assert sorted(e.name for e in examples) == ["img0.png", "img2.png", "img4.png"]
    assert len(warnings) == 2
    assert all("content changed on disk since it was annotated" in w for w in warnings)
    assert "img1.png" in warnings[0] and "img3.png" in warnings[1]


@pytest.mark.slow
def test_mopeft_train_leaves_out_swapped_images_and_names_them(project_dir, tmp_path, capsys):
    _swap(project_dir / "img1.png", project_dir / "img3.png")
    assert main(_train_args(project_dir, tmp_path, "--json")) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["train_images"] + summary["validation_images"] == 3
    assert "[train] skipped img1.png: its content changed" in err and "[train] skipped img3.png" in err


@pytest.mark.slow
def test_a_seeded_run_is_repeatable_whatever_the_global_random_state(project_dir, tiny_sam, tmp_path):
    settings = TrainSettings.from_dict({"steps": 8, "blocks": "last:2", "adapter_dropout": 0.5, "seed": 3})
    with Project.open(project_dir) as project:
        examples, _ = collect_examples(project)
    runs = []
    for process_seed in (1, 2):  # two processes start with different global random states
        torch.manual_seed(process_seed)
        state = torch.get_rng_state()
        outcome = fine_tune(tiny_sam, examples, settings, tmp_path / f"run{process_seed}")
        assert torch.equal(torch.get_rng_state(), state)  # the run leaves the caller's random state alone
        runs.append((outcome.after, load_file(outcome.adapter_path)))
    (after1, weights1), (after2, weights2) = runs
    assert after1 == after2
    assert weights1.keys() == weights2.keys() and all(torch.equal(weights1[k], weights2[k]) for k in weights1)
