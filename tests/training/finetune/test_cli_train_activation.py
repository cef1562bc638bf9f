"""`mopeft train` switches the new version on only when it validated at least as well as the model in use,
says what it did, and `--activate always` switches it on regardless."""
import json
import shutil

import pytest

from app.cli.main import main
from app.store.project import Project
from app.training.finetune.activation import decide_activation
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



@pytest.fixture
def known_domain(tmp_path):
    """Toy images of the kind the tiny SAM was trained on: the base model already scores well on them."""
    return write_toy_project(tmp_path / "known", invert=False)


def _harmful_run(project_dir, tmp_path, *extra):
    """Two steps at learning rate 1 from base SAM: validates worse than the base model."""
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    return ["train", "--project", str(project_dir), "--model", str(model), "--steps", "2", "--lr", "1",
            "--blocks", "last:2", "--restart", "--json", *extra]


@pytest.mark.slow
def test_a_version_that_validated_worse_is_kept_but_not_used(known_domain, tmp_path, capsys):
    assert main(_harmful_run(known_domain, tmp_path)) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["after"]["miou_1click"] < summary["before"]["miou_1click"] and summary["activated"] is False
    assert "v1 is not used: it validated worse than the model in use (1-click mIoU" in out
    assert "the base model stays in use" in out and "--activate always" in out
    with Project.open(known_domain, readonly=True) as project:
        (version,) = project.adapters.list()
        assert project.adapters.active() is None and not version.active
        assert project.training_runs.list()[-1].summary["activated"] is False


@pytest.mark.slow
def test_activate_always_switches_the_new_version_on_regardless(known_domain, tmp_path, capsys):
    assert main(_harmful_run(known_domain, tmp_path, "--activate", "always")) == 0
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1])["activated"] is True
    assert "v1 is used as asked, whatever its validation; it is now the active adapter" in out
    with Project.open(known_domain, readonly=True) as project:
        assert project.adapters.active().id == project.adapters.list()[-1].id


def test_the_rule_compares_the_new_version_with_the_model_in_use():
    in_use, better, worse = {"miou_1click": 0.5}, {"miou_1click": 0.6}, {"miou_1click": 0.4}
    assert decide_activation(in_use, better).activate and decide_activation(in_use, in_use).activate
    assert not decide_activation(in_use, worse).activate
    assert decide_activation(None, None).activate  # nothing to validate on: the new version is used
    assert decide_activation(in_use, worse, "always").activate
    assert not decide_activation(in_use, better, "never").activate
