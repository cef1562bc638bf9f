"""kill -9 in the middle of annotating and in the middle of training: nothing accepted is lost, the project opens,
the run is marked interrupted and the adapter version in use stays the one that was."""
import shutil
import subprocess
import sys
import textwrap

import pytest

from app.cli.main import main
from app.store import Project
from app.store.records import RunStatus
from child_processes import kill_after, start
from fixture_paths import REPO, TINY_SAM as FIXTURE
from toy_shapes import write_toy_project


ANNOTATE = textwrap.dedent("""
    import sys
    from app.annotate import AnnotationSession
    from app.annotate.draft import Stroke
    from app.store import Project
    session = AnnotationSession(Project.open(sys.argv[1]))
    images = session.images()
    n = 0
    while True:
        session.open_image(images[n % len(images)].id)
        session.paint(Stroke(((n % 100 + 5, 10), (n % 100 + 5, 40)), 3))
        instance = session.accept()
        print(instance.id, instance.image_id, instance.area, flush=True)
        n += 1
""")


@pytest.mark.slow
def test_kill_9_while_annotating_loses_no_accepted_instance(tmp_path):
    folder = write_toy_project(tmp_path / "p", count=4)
    printed = kill_after(start(ANNOTATE, folder), 40)
    with Project.open(folder) as project:  # opens for writing: the dead process's lock is gone
        for instance_id, image_id, area in printed:
            instance = project.instances.get(instance_id)
            assert (instance.image_id, instance.area) == (image_id, area)


@pytest.mark.slow
def test_kill_9_while_training_keeps_the_adapter_in_use_and_marks_the_run(tmp_path, capsys):
    folder = write_toy_project(tmp_path / "p", count=4)
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    assert main(["train", "--project", str(folder), "--model", str(model), "--steps", "2", "--blocks", "last:2"]) == 0
    capsys.readouterr()
    with Project.open(folder, readonly=True) as project:
        (kept,) = project.adapters.list()
        instances = {i.id for image in project.images.list() for i in project.instances.for_image(image.id)}
    files = sorted(p.name for p in (folder / ".mopeft" / "adapters").iterdir())
    child = subprocess.Popen([sys.executable, "-m", "app.cli.main", "train", "--project", str(folder), "--model",
                              str(model), "--steps", "100000", "--blocks", "last:2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        for line in child.stderr:  # the CLI reports every 10th step on stderr
            if "[train] step 20/" in line:
                break
        else:
            raise AssertionError(f"training never got going: {child.stdout.read()}")
    finally:
        child.kill()
        child.communicate(timeout=30)
    with Project.open(folder) as project:
        assert project.adapters.active().id == kept.id and len(project.adapters.list()) == 1
        runs = project.training_runs.list()
        assert [r.status for r in runs] == [RunStatus.FINISHED, RunStatus.INTERRUPTED]
        assert {i.id for image in project.images.list() for i in project.instances.for_image(image.id)} == instances
    assert sorted(p.name for p in (folder / ".mopeft" / "adapters").iterdir()) == files  # no partial file
