"""A fine-tuning run's life through the service the CLI and the window share: begin, run, finish, fail."""
import pytest

from app.mopeft import MoPEFTConfig
from app.services.training_run import FineTuneRun, cannot_train
from app.store.project import Project
from app.store.records import RunStatus
from app.training.finetune.events import StepEvent, TrainingCancelled, WarningEvent
from app.training.finetune.settings import TrainSettings
from toy_shapes import write_toy_project

SETTINGS = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=3, lr=3e-2)


@pytest.fixture
def project_dir(tmp_path):
    return write_toy_project(tmp_path / "proj")


@pytest.mark.slow
def test_a_run_is_begun_run_in_a_reader_and_finished_into_the_active_version(project_dir, tiny_sam):
    events = []
    with Project.open(project_dir) as project:
        run = FineTuneRun.begin(project, "tiny-fixture", SETTINGS)
        assert project.training_runs.get(run.run_id).status is RunStatus.RUNNING
        assert project.training_runs.get(run.run_id).settings["model"] == "tiny-fixture"
        assert run.start_adapter is None and len(run.held_out) == 1
        outcome = run.run(tiny_sam, on_event=events.append)  # reads through its own read-only handle
        finished = run.finish(project, outcome, "always")
        assert finished.number == 1 and finished.in_use == "v1" and finished.activation.activate
        assert project.adapters.active().id == finished.version.id
        assert project.training_runs.get(run.run_id).status is RunStatus.FINISHED
    assert len([e for e in events if isinstance(e, StepEvent)]) == 3


@pytest.mark.slow
def test_the_next_run_continues_only_from_a_version_of_the_same_base_model(project_dir, tiny_sam):
    with Project.open(project_dir) as project:
        first = FineTuneRun.begin(project, "tiny-fixture", SETTINGS)
        first.finish(project, first.run(tiny_sam, project=project), "always")
        active = project.path_of(project.adapters.active().path)
        assert FineTuneRun.begin(project, "tiny-fixture", SETTINGS).start_adapter == active
        assert FineTuneRun.begin(project, "another-model.pth", SETTINGS).start_adapter is None


@pytest.mark.slow
def test_a_failed_or_cancelled_run_is_recorded_and_the_version_in_use_stays(project_dir, tiny_sam):
    with Project.open(project_dir) as project:
        run = FineTuneRun.begin(project, "tiny-fixture", SETTINGS)
        with pytest.raises(TrainingCancelled):
            run.run(tiny_sam, cancel=lambda: True, project=project)
        run.fail(project, "cancelled at once", cancelled=True)
        assert project.training_runs.get(run.run_id).status is RunStatus.CANCELLED
        other = FineTuneRun.begin(project, "tiny-fixture", SETTINGS)
        other.fail(project, "the loss became nan")
        record = project.training_runs.get(other.run_id)
        assert record.status is RunStatus.FAILED and record.summary == {"error": "the loss became nan"}
        assert project.adapters.list() == [] and project.adapters.active() is None


@pytest.mark.slow
def test_images_left_out_are_told_as_warnings_while_the_run_goes_on(project_dir, tiny_sam):
    with Project.open(project_dir) as project:
        changed = project.images.list()[0].path
    (project_dir / changed).write_bytes((project_dir / changed).read_bytes() + b"\0")  # same pixels, other bytes
    events = []
    with Project.open(project_dir) as project:
        run = FineTuneRun.begin(project, "tiny-fixture", SETTINGS)
        outcome = run.run(tiny_sam, on_event=events.append, project=project)
    told = [e.message for e in events if isinstance(e, WarningEvent)]
    assert len(told) == 1 and told[0].startswith(f"skipped {changed}") and outcome.warnings[0] == told[0]


def test_nothing_to_learn_from_is_said_before_a_run_begins(tmp_path):
    folder = write_toy_project(tmp_path / "proj", count=2)
    with Project.open(folder) as project:
        assert cannot_train(project) is None
        for image in project.images.list():
            for instance in project.instances.for_image(image.id):
                project.instances.delete(instance.id)
        assert "Accept at least one instance first" in cannot_train(project)
