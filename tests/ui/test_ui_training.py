"""Fine-tuning from the window: the dock's button trains in the background, the new adapter version is used at
once and survives reopening, the versions list rolls back, cancel keeps the adapter in use."""
import pytest
import threading

import cv2
import numpy as np
import torch
from PySide6.QtCore import Qt

from app.annotate.model_choice import ModelLoad
from app.sam.checkpoints import load_sam
from app.store.records import RunStatus
from app.training.finetune.settings import TrainSettings
from app.ui.adapter_list import BASE_ROW
from app.ui.heartbeat import Heartbeat
from window_helpers import tiny_model, version_rows, wait_ready
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



def _train(qtbot, window, steps, timeout=60000):
    dock = window.training_dock
    dock.form.steps.setValue(steps)
    with qtbot.waitSignal(window.training.ended, timeout=timeout) as ended:
        qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
    return ended.args[0]


@pytest.mark.slow
def test_fine_tune_button_trains_records_and_uses_the_new_adapter(qtbot, make_window, annotated, monkeypatch):
    import app.services.training_run as training_run

    threads = []

    def fine_tune(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_fine_tune(*args, **kwargs)

    real_fine_tune = training_run.fine_tune
    monkeypatch.setattr(training_run, "fine_tune", fine_tune)
    window = make_window(annotated, loader=tiny_model)
    assert [r.text(0) for r in version_rows(window)] == [f"{BASE_ROW}  (in use)"]
    assert window.training_dock.heatmap.axis_labels == ([], [])  # no run yet: no stray numbers
    heartbeat = Heartbeat()
    heartbeat.start()
    message = _train(qtbot, window, steps=40)
    heartbeat.stop()
    gaps = heartbeat.gaps
    assert message == "Done."
    project = window.session.project
    (version,) = project.adapters.list()
    assert version.active and version.metrics["after"]["miou_1click"] >= 0
    (run,) = project.training_runs.list()
    assert run.status is RunStatus.FINISHED
    qtbot.waitUntil(lambda: window.model.adapter == str(project.path_of(version.path)), timeout=10000)
    assert "adapter v1" in window.status.model.text()
    assert [r.text(0) for r in version_rows(window)] == [BASE_ROW, "v1  (in use)"]

    dock = window.training_dock
    assert dock.loss.steps == list(range(1, 41)) and all(np.isfinite(dock.loss.losses))
    # the default blocks "last:4" are all four blocks of the tiny SAM
    assert dock.heatmap.kinds == ["lora", "prefix", "adapter"] and dock.heatmap.blocks == [f"blocks.{i}" for i in range(4)]
    assert dock.heatmap.axis_labels[0] == [f"block {i}" for i in range(4)]
    assert ((dock.heatmap.values > 0) & (dock.heatmap.values < 1)).all()
    assert sorted(dock.gate_history.kind_means) == ["adapter", "lora", "prefix"]
    assert all(len(v) == 40 for v in dock.gate_history.kind_means.values())
    assert "1-click mIoU" in dock.summary.text() and dock.progress.value() == 40
    assert dock.start_button.isEnabled() and not dock.cancel_button.isEnabled()
    # the run trained off the GUI thread, which kept running meanwhile (stall times: mopeft bench ui-stall)
    assert threads == [False] and len(gaps) > 20
    print(f"heartbeat during training: {len(gaps)} beats, longest gap {max(gaps) * 1000:.0f} ms")


@pytest.mark.slow
def test_rollback_to_the_base_model_and_the_active_version_survives_reopening(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    _train(qtbot, window, steps=3)
    project = window.session.project
    adapter = str(project.path_of(project.adapters.active().path))
    qtbot.waitUntil(lambda: window.model.adapter == adapter, timeout=10000)

    base_row, v1 = version_rows(window)
    window.training_dock.versions.tree.setCurrentItem(base_row)
    qtbot.mouseClick(window.training_dock.versions.use_button, Qt.MouseButton.LeftButton)
    assert project.adapters.active() is None
    qtbot.waitUntil(lambda: window.model.adapter is None, timeout=10000)
    assert window.model.engine.sam is window.model.model.loaded.sam  # the plain base model again

    _, v1 = version_rows(window)
    window.training_dock.versions.tree.setCurrentItem(v1)
    qtbot.mouseClick(window.training_dock.versions.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.adapter == adapter, timeout=10000)
    window.close_project()
    assert window.open_project(annotated)
    wait_ready(qtbot, window)
    assert window.model.adapter == adapter and [r.text(0) for r in version_rows(window)] == [BASE_ROW, "v1  (in use)"]


@pytest.mark.slow
def test_cancel_stops_the_run_and_keeps_the_adapter_in_use(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    _train(qtbot, window, steps=3)
    project = window.session.project
    (kept,) = project.adapters.list()
    files = sorted(project.adapters_dir.iterdir())
    dock = window.training_dock
    dock.form.steps.setValue(100_000)
    with qtbot.waitSignal(window.training.ended, timeout=60000) as ended:
        qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dock.progress.value() >= 2, timeout=30000)
        assert not dock.start_button.isEnabled() and not dock.form.isEnabled()
        qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].startswith("Cancelled")
    assert [v.id for v in project.adapters.list()] == [kept.id] and project.adapters.active().id == kept.id
    assert sorted(project.adapters_dir.iterdir()) == files
    assert project.training_runs.list()[-1].status is RunStatus.CANCELLED
    assert window.model.adapter == str(project.path_of(kept.path))


@pytest.mark.slow
def test_fine_tune_without_accepted_instances_says_what_to_do(qtbot, make_window, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((64, 64, 3), np.uint8))
    window = make_window(folder, loader=tiny_model)
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "Accept at least one instance" in window.training_dock.phase.text()
    assert window.session.project.training_runs.list() == []


@pytest.mark.slow
def test_an_adapter_for_other_weights_is_reported_and_sam_runs_without_it(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    _train(qtbot, window, steps=3)
    window.close_project()
    other = load_sam(FIXTURE, device="cpu")
    with torch.no_grad():
        other.sam.mask_decoder.iou_token.weight.add_(1.0)  # other base weights: the adapter's fingerprint differs
    window.model.load_model(lambda: ModelLoad(other, "other", "tests"))
    assert window.open_project(annotated)
    qtbot.waitUntil(lambda: any("other base SAM weights" in text for _, text in window.notices.history),
                    timeout=10000)
    assert "Adapter not used" in window.notices.bar.text.text()
    wait_ready(qtbot, window)
    assert window.model.adapter is None and window.model.engine.sam is other.sam


@pytest.mark.slow
def test_a_damaged_adapter_file_is_named_and_sam_runs_without_it(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    _train(qtbot, window, steps=3)
    project = window.session.project
    path = project.path_of(project.adapters.active().path)
    qtbot.waitUntil(lambda: window.model.adapter == str(path), timeout=10000)
    window.shutdown()
    path.write_bytes(path.read_bytes()[:200])  # truncated, e.g. by a full disk or a broken copy
    window = make_window(annotated, loader=tiny_model, ready=False)  # the next start of the app
    qtbot.waitUntil(lambda: any(path.name in text for _, text in window.notices.history), timeout=10000)
    wait_ready(qtbot, window)
    assert window.model.adapter is None and window.model.engine.sam is window.model.model.loaded.sam
    assert window.training_dock.start_button.isEnabled()  # and fine-tuning still works from the base model


def test_the_summary_says_whether_the_new_version_is_used_and_why(tmp_path):
    from app.training.finetune.activation import decide_activation
    from app.training.finetune.run import TrainingOutcome
    from app.ui.training_controller import summary_text

    def outcome(before, after):
        settings = TrainSettings()
        return TrainingOutcome(tmp_path / "a.safetensors", settings.mopeft, settings,
                               {"miou_1click": before, "noc85": 3.0}, {"miou_1click": after, "noc85": 4.0},
                               steps=120, seconds=36, train_images=4, validation_images=1,
                               warnings=["image x.png was skipped"], validation_names=["images/cells/a.png"])

    def text(before, after):
        run = outcome(before, after)
        return summary_text(run, 2, decide_activation(run.before, run.after), "v1")

    better = text(0.5, 0.7)
    assert better.startswith("v2 is now in use: 1-click mIoU 0.50 → 0.70, NoC@85 3.00 → 4.00 (in use → v2) on "
                             "1 image: a.png.")
    assert "worse" not in better and better.endswith("image x.png was skipped")
    worse = text(0.88, 0.73)
    assert worse.startswith("v2 is not used, it scored worse than the model in use: 1-click mIoU 0.88 → 0.73")
    assert "v1 stays in use; to use v2 anyway, press \"Use this version\"." in worse


@pytest.mark.slow
def test_a_version_that_validated_worse_is_offered_not_used(qtbot, make_window, tmp_path):
    known = write_toy_project(tmp_path / "known", invert=False)  # the base model already scores well here
    window = make_window(known, loader=tiny_model)
    form = window.training_dock.form
    qtbot.mouseClick(form.toggle, Qt.MouseButton.LeftButton)
    form.lr.setValue(1.0)  # ten steps at learning rate 1 spoil what the base model knows
    assert _train(qtbot, window, steps=10) == "Done; v1 is offered, the base model stays in use."
    project = window.session.project
    (version,) = project.adapters.list()
    assert project.adapters.active() is None and window.model.adapter is None
    assert version.metrics["after"]["miou_1click"] < version.metrics["before"]["miou_1click"]
    summary = window.training_dock.summary.text()
    assert summary.startswith("v1 is not used, it scored worse than the model in use")
    assert "The base model stays in use" in summary
    versions = window.training_dock.versions
    assert versions.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == version.id
    qtbot.mouseClick(versions.use_button, Qt.MouseButton.LeftButton)  # the offer, taken up
    assert project.adapters.active().id == version.id
    qtbot.waitUntil(lambda: window.model.adapter == str(project.path_of(version.path)), timeout=10000)


@pytest.mark.slow
def test_keep_best_weights_and_adapter_dropout_from_the_advanced_panel(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    form = window.training_dock.form
    assert form.keep_best.text() == "off (keep the last)"
    dropout = form.kind_fields["adapter_dropout"].widget
    assert dropout.value() == TrainSettings().mopeft.kinds["adapter"].dropout > 0
    qtbot.mouseClick(form.toggle, Qt.MouseButton.LeftButton)
    assert form.keep_best.isVisible()
    form.keep_best.setFocus()
    form.keep_best.selectAll()
    qtbot.keyClicks(form.keep_best, "5")
    assert form.keep_best.value() == 5
    form.preset.setFocus()
    qtbot.keyClick(form.preset, Qt.Key.Key_Down)  # LoRA only: no adapter, nothing to drop out
    assert form.preset.currentData() == "lora" and not dropout.isEnabled()
    qtbot.keyClick(form.preset, Qt.Key.Key_Up)
    assert form.preset.currentData() == "mopeft" and dropout.isEnabled()
    dropout.setFocus()
    dropout.selectAll()
    qtbot.keyClicks(dropout, "0")
    qtbot.keyClick(dropout, Qt.Key.Key_Tab)
    assert dropout.value() == 0.0
    assert _train(qtbot, window, steps=10) == "Done."
    (version,) = window.session.project.adapters.list()
    assert version.config["select_every"] == 5 and version.config["adapter_dropout"] == 0.0
    summary = window.training_dock.summary.text()
    assert any(f"Kept the weights of step {s}, which scored best" in summary for s in (5, 10)), summary


@pytest.mark.slow
def test_fine_tune_leaves_out_images_changed_on_disk_and_names_them(qtbot, make_window, annotated):
    img1, img3 = annotated / "img1.png", annotated / "img3.png"
    swapped = img1.read_bytes()
    img1.write_bytes(img3.read_bytes())
    img3.write_bytes(swapped)  # same size, other pixels: only the content hash tells
    window = make_window(annotated, loader=tiny_model)
    assert _train(qtbot, window, steps=3) == "Done."
    summary = window.training_dock.summary.text()
    assert "skipped img1.png: its content changed on disk" in summary
    assert "skipped img3.png: its content changed on disk" in summary
    run = window.session.project.training_runs.list()[-1]
    assert run.summary["train_images"] + run.summary["validation_images"] == 3


@pytest.mark.slow
def test_versions_table_shows_scores_in_columns_and_the_result_names_its_validation_images(qtbot, make_window,
                                                                                           tmp_path):
    import re

    from app.ui.adapter_list import COLUMNS

    folder = write_toy_project(tmp_path / "ten", count=10)
    window = make_window(folder, loader=tiny_model)
    window.resize(1400, 900)  # the window's first-start size on a 1600x1000 screen
    assert _train(qtbot, window, steps=10) == "Done."
    project = window.session.project
    (version,) = project.adapters.list()
    names = version.metrics["validation_names"]
    assert len(names) == 2 and set(names) <= {f"img{i}.png" for i in range(10)}
    tree = window.training_dock.versions.tree
    _, row = version_rows(window)
    assert [tree.headerItem().text(c) for c in range(tree.columnCount())] == COLUMNS
    before, after = version.metrics["before"]["miou_1click"], version.metrics["after"]["miou_1click"]
    assert [row.text(c) for c in range(len(COLUMNS))] == ["v1  (in use)", "MoPEFT", "10",
                                                          f"{before:.2f} → {after:.2f}", "2"]
    # every column lies inside the table's width: nothing behind a horizontal scrollbar, nothing cut off
    header, width = tree.header(), tree.viewport().width()
    assert all(header.sectionViewportPosition(c) + header.sectionSize(c) <= width for c in range(len(COLUMNS)))
    for column in range(1, len(COLUMNS)):
        assert header.sectionSize(column) >= tree.fontMetrics().horizontalAdvance(row.text(column))
    tip = row.toolTip(3)
    assert f"validation images (2): {names[0]}, {names[1]}" in tip and "{" not in tip
    assert not re.search(r"\d\.\d{5,}", tip)  # no 16-digit floats
    summary = window.training_dock.summary
    assert f"on 2 images: {names[0]}, {names[1]}." in summary.text() and not window.training_dock.phase.isVisible()
    area = summary.parentWidget().parentWidget()  # the summary's scroll area
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() == 0, timeout=5000)  # readable without scrolling
