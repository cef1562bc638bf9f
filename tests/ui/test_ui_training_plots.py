"""The fine-tuning plots tell the run's story: moving averages with faint spread bands, one gate line per kind,
the legend outside the data, and a heatmap of the recent steps rather than the last one."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.mopeft import KIND_REGISTRY, gate_matrix, mixture
from app.training.finetune.events import StepEvent
from app.ui.training_plots import BAND_ALPHA, moving_mean_std
from toy_shapes import write_toy_project
from window_helpers import tiny_model

STEPS = 60
WINDOW = 6  # a tenth of the run
SHOWN = 2  # the averages are drawn from the step where the window is half full


def trailing_mean(values, window):
    """The reference: mean of the last `window` values (fewer at the start), one by one."""
    return np.array([np.mean(values[max(0, i - window + 1):i + 1]) for i in range(len(values))])


@pytest.mark.slow
def test_moving_mean_std_matches_the_definition():
    values = np.random.default_rng(0).normal(size=37)
    mean, std = moving_mean_std(values, 5)
    assert mean == pytest.approx(trailing_mean(values, 5))
    assert std == pytest.approx([np.std(values[max(0, i - 4):i + 1]) for i in range(37)], abs=1e-9)


def _train_in_the_window(qtbot, window):
    """A real run of STEPS steps from the dock; the StepEvents it reported, once the plots have drawn them."""
    events = []
    window.training.worker.event.connect(events.append)
    dock = window.training_dock
    dock.form.steps.setValue(STEPS)
    with qtbot.waitSignal(window.training.ended, timeout=90000) as ended:
        qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] == "Done."
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(steps) == STEPS
    qtbot.waitUntil(lambda: not any(p.pending for p in (dock.loss, dock.heatmap, dock.gate_history)))
    return steps


@pytest.mark.slow
def test_a_run_in_the_window_draws_smoothed_trends_with_bands_and_the_legend_outside(qtbot, make_window, tmp_path):
    window = make_window(write_toy_project(tmp_path / "annotated"), loader=tiny_model)
    steps = _train_in_the_window(qtbot, window)
    _check_loss(window.training_dock.loss, steps)
    _check_gate_history(window.training_dock.gate_history, steps)
    _check_heatmap(window.training_dock.heatmap, steps)
    dock = window.training_dock
    for plot in (dock.loss, dock.heatmap, dock.gate_history):  # none wider than its place: its right not cut off
        qtbot.waitUntil(lambda: plot.getPlotItem().sceneBoundingRect().width() <= plot.viewport().width() + 1,
                        timeout=3000)


def _check_loss(loss, steps):
    """A moving average with a faint band, and the trend in the title."""
    losses = [e.loss for e in steps]
    reference = trailing_mean(losses, WINDOW)
    x, y = loss.smooth.getData()
    assert list(x) == list(range(SHOWN + 1, STEPS + 1)) and y == pytest.approx(reference[SHOWN:])
    low, high = loss.band.low.getData()[1], loss.band.high.getData()[1]
    assert (low <= y + 1e-9).all() and (high >= y - 1e-9).all() and (high > low).any()
    assert loss.band.fill.brush().color().alpha() == BAND_ALPHA < 128
    assert loss.band.fill.path().boundingRect().height() > 0  # drawn, not just computed
    assert loss.getPlotItem().titleLabel.text == f"Loss {reference[WINDOW - 1]:.3f} → {reference[-1]:.3f}"
    assert loss.getAxis("bottom").labelText == f"step (average of {WINDOW})"


def _check_gate_history(history, steps):
    """One smoothed line per kind, each with its band; the legend outside the data."""
    assert sorted(history.curves) == sorted(mixture())
    for kind, (line, band) in history.curves.items():
        per_step = [np.mean([g[kind] for g in e.gates.values() if kind in g]) for e in steps]
        assert line.getData()[1] == pytest.approx(trailing_mean(per_step, WINDOW)[SHOWN:])
        assert line.opts["pen"].color().name() == KIND_REGISTRY[kind].colour
        assert band.fill.brush().color().alpha() == BAND_ALPHA and not band.fill.path().isEmpty()
        assert (band.low.getData()[1] >= 0).all() and (band.high.getData()[1] <= 1).all()
    data_area = history.getViewBox().sceneBoundingRect()
    legend = history.legend.sceneBoundingRect()
    assert legend.height() > 0 and not legend.intersects(data_area)
    assert {label.text for _, label in history.legend.items} == set(mixture())


def _check_heatmap(heatmap, steps):
    """The mean of the recent steps, not the last one alone."""
    recent = np.mean([gate_matrix(e.gates)[2] for e in steps[-WINDOW:]], axis=0)
    assert heatmap.values == pytest.approx(recent)
    assert heatmap.getPlotItem().titleLabel.text == f"Gates, last {WINDOW} steps"


def test_the_loss_plot_frames_0_to_1_before_a_run_and_fits_the_run_after(qtbot):
    from app.ui.training_plots import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.reset()   # as the window does: an empty run drawn
    qtbot.wait(100)
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert (x0, x1, y0, y1) == (0, 1, 0, 1) and plot.getAxis("bottom").labelString().count("x0.") == 0
    for step in range(1, 41):
        plot.add(StepEvent(step, 40, 2.0 / step, 1e-3, {}, 0.0, 0.5, 0.6, 2))
    plot.redraw()
    qtbot.waitUntil(lambda: plot.getViewBox().viewRange()[0][1] >= 40, timeout=3000)   # pyqtgraph fits lazily
    assert plot.getViewBox().viewRange()[0][0] < 5
