"""A shared project (PostgreSQL) in the real window: opened by its URL with the images' folder, the image shown is
claimed by this annotator, another annotator's claim shows in the image list, opening their image says who works
there, closing the project releases this annotator's claim; an instance another client accepts on the image shown
appears in the window by itself; fine-tuning is queued for a worker and followed; a version another client makes
active is used here."""
import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.sam.checkpoints import load_sam
from app.mopeft import MoPEFTConfig
from app.services.jobs import fine_tune_request, run_job, work
from app.training.finetune.settings import TrainSettings
from app.store import Project
from fixture_paths import TINY_SAM
from window_helpers import tiny_model, wait_ready


@pytest.fixture
def shared(pg_server, tmp_path, monkeypatch):
    """A new database URL and a folder of three images; this client is ana@lab."""
    monkeypatch.setenv("MOPEFT_ANNOTATOR", "ana@lab")
    folder = tmp_path / "images"
    folder.mkdir()
    for n in range(3):
        cv2.imwrite(str(folder / f"img{n}.png"), np.full((60, 80, 3), 40 * n, np.uint8))
    return pg_server.new_database(), folder


def status_of(window, row):
    return window.image_dock.tree.topLevelItem(row).text(1)


@pytest.mark.slow
def test_claims_in_the_window(qtbot, make_window, shared):
    url, folder = shared
    window = make_window(ready=False)
    assert window.open_project(url, folder)
    wait_ready(qtbot, window)
    session = window.session
    assert session.claims.used and window.claim_timer.isActive()
    first, second, _ = session.images()
    assert session.project.claims.of_image(first.id).annotator == "ana@lab"

    with Project.open(url) as other:   # ben, at another machine
        other.claims.claim(second.id, "ben@lab")
        window._renew_claims()   # what the window's minute timer does
        assert status_of(window, 1) == "ben" and "ben@lab is working" in window.image_dock.tree.topLevelItem(1).toolTip(1)
        session.open_image(second.id)
        assert session.claims.by_other.annotator == "ben@lab"
        assert "ben@lab is working on this image" in window.statusBar().currentMessage()
        assert other.claims.of_image(first.id) is None   # ana left her first image: released
        session.open_image(first.id)
        window.close_project()
        assert other.claims.live().keys() == {second.id}   # ana's claim went with her project


@pytest.mark.slow
def test_another_clients_instance_appears_live(qtbot, make_window, shared):
    url, folder = shared
    window = make_window(ready=False)
    assert window.open_project(url, folder)
    wait_ready(qtbot, window)
    shown = window.session.image
    mask = np.zeros((60, 80), bool)
    mask[10:30, 10:30] = True
    with Project.open(url) as other:
        label = other.labels.add("cell")
        added = other.instances.add(shown.id, label.id, mask)
        qtbot.waitUntil(lambda: [i.id for i in window.session.instances()] == [added.id]
                        and window.instance_dock.list.count() == 1, timeout=5000)
        assert window.image_dock.tree.topLevelItem(0).text(2) == "1"


@pytest.mark.slow
def test_fine_tune_on_a_shared_project_is_queued_for_a_worker_and_followed(qtbot, make_window, shared):
    """The dock's button queues a job; a worker (here a thread with its own connection) runs it; the dock shows
    the worker's steps and gates as they come and SAM switches to the version the worker made active."""
    url, folder = shared
    window = make_window(ready=False, loader=tiny_model)
    assert window.open_project(url, folder)
    wait_ready(qtbot, window)
    mask = np.zeros((60, 80), bool)
    mask[10:40, 20:50] = True
    project = window.session.project
    label = project.labels.add("object")
    for image in window.session.images():
        project.instances.add(image.id, label.id, mask)
    dock = window.training_dock
    dock.form.steps.setValue(10)   # the form's least
    qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
    assert window.training.running and "Queued as job" in dock.phase.text()
    assert project.training_runs.list() == []   # nothing trains in the window
    (job,) = project.jobs.list()
    worker = threading.Thread(target=lambda: _serve(url, folder))
    with qtbot.waitSignal(window.training.ended, timeout=60000) as ended:
        worker.start()
    worker.join()
    assert ended.args[0] == f"Job {job.id} done on gpu-box: v1 is now in use."
    version = project.adapters.active()
    qtbot.waitUntil(lambda: window.model.adapter == str(project.path_of(version.path)), timeout=10000)
    assert dock.loss.steps and dock.loss.steps[-1] == 10 and sorted(dock.gate_history.kind_means) == \
        ["adapter", "lora", "prefix"]
    assert not window.training.running and dock.start_button.isEnabled()


def _serve(url, folder):
    """`mopeft worker --once` in a thread: the jobs queued now, on the tiny model."""
    with Project.open(url, images_root=folder) as project:
        work(project, "gpu-box", lambda model: load_sam(TINY_SAM, device="cpu").sam, once=True)


@pytest.mark.slow
def test_a_version_another_client_activates_is_used_here(qtbot, make_window, shared, tiny_sam):
    """Ben's worker (here: a fine-tune run in this process on his connection) makes a new version active: Ana's
    window shows it in its versions list and SAM switches to it by itself."""
    url, folder = shared
    window = make_window(ready=False, loader=tiny_model)
    assert window.open_project(url, folder)
    wait_ready(qtbot, window)
    assert window.model.wanted_adapter is None
    mask = np.zeros((60, 80), bool)
    mask[10:40, 20:50] = True
    with Project.open(url) as ben:
        label = ben.labels.add("object")
        for image in ben.images.list():
            ben.instances.add(image.id, label.id, mask)
        job = ben.jobs.queue(fine_tune_request("tiny-fixture", TrainSettings(MoPEFTConfig(blocks="last:2"), steps=2),
                                               activate="always"), "ben@lab")
        run_job(ben, ben.jobs.take("ben-box"), lambda model: tiny_sam)
        version = ben.adapters.active()
        assert ben.jobs.get(job.id).state == "finished"
    expected = str(window.session.project.path_of(version.path))
    qtbot.waitUntil(lambda: window.model.wanted_adapter == expected, timeout=10000)
    assert "Another annotator's fine-tuning" in window.statusBar().currentMessage()
    assert window.training_dock.versions.tree.topLevelItemCount() == 2   # the base model and v1
