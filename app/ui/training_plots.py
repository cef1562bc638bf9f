"""Live plots of a fine-tuning run, drawn with pyqtgraph: the loss, the gate heatmap and the gate history.

Per-step values are noisy: each step trains on a few random images, and the gates depend on the image (one
image can close a gate that another opens). So each plot shows a trailing moving average over
`smoothing_window(steps)` steps, the loss and the gate history with a faint band of +-1 standard deviation of
the per-step values over the same window.

Steps can arrive faster than a screen refreshes (a GPU does dozens a second), so each plot keeps the data
and redraws at most every REDRAW_MS on a timer; the GUI thread never draws once per step.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer

from app.mopeft import KIND_REGISTRY, gate_matrix
from app.mopeft.kinds import PEFTModule
from app.training.finetune.events import StepEvent

REDRAW_MS = 150
BAND_ALPHA = 60
"""Opacity (0-255) of the spread bands: faint, so the lines stay in front."""

pg.setConfigOptions(antialias=False, background="w", foreground="#333")


class _LivePlot(pg.PlotWidget):
    """A plot that marks itself dirty on new data and redraws on a timer (its child: it dies with the plot)."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent, title=title)
        self._dirty = False
        """True while data arrived that the plot does not show yet (the next timer tick draws it)."""
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        if self._dirty:
            self._dirty = False
            self.redraw()
        need = math.ceil(self.getPlotItem().minimumWidth())  # axes, title, colour bar as laid out (lags a redraw)
        if need > self.minimumWidth():
            self.setMinimumWidth(need)  # narrower, the right of the plot would be cut off

    @property
    def pending(self) -> bool:
        """True while new data waits for the next redraw."""
        return self._dirty

    def redraw(self) -> None:
        raise NotImplementedError


def smoothing_window(steps: int) -> int:
    """Steps in the moving averages of a run of `steps` steps: a tenth of the run, at least 5 and at most 50."""
    return max(5, min(50, steps // 10))


def first_shown(window: int) -> int:
    """Index of the first value whose moving average is drawn: once the window is half full (an average of one
    or two steps at the start would swing as wildly as the steps and set the plot's height)."""
    return max(0, window // 2 - 1)


def moving_mean_std(values, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing moving average and standard deviation of `values` over `window` values (fewer at the start)."""
    v = np.asarray(values, dtype=float)
    ends = np.arange(1, len(v) + 1)
    starts = np.maximum(0, ends - window)
    total, squares = np.concatenate(([0.0], np.cumsum(v))), np.concatenate(([0.0], np.cumsum(v * v)))
    count = ends - starts
    mean = (total[ends] - total[starts]) / count
    return mean, np.sqrt(np.maximum(0.0, (squares[ends] - squares[starts]) / count - mean * mean))


class _Band:
    """A faint fill between a lower and an upper curve (themselves invisible), added to `plot`."""

    def __init__(self, plot: pg.PlotWidget, colour: str) -> None:
        self.low, self.high = pg.PlotCurveItem(pen=pg.mkPen(None)), pg.PlotCurveItem(pen=pg.mkPen(None))
        fill = pg.mkColor(colour)
        fill.setAlpha(BAND_ALPHA)
        self.fill = pg.FillBetweenItem(self.low, self.high, brush=pg.mkBrush(fill))
        plot.addItem(self.fill)

    def set(self, x: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        """Span the band from `low` to `high` over `x`."""
        self.low.setData(x, low)
        self.high.setData(x, high)


class LossPlot(_LivePlot):
    """The loss: its moving average (red) with a faint band of the per-step spread, and each step as a grey dot.

    The view fits the band, not the single steps, so the trend fills the plot; the title gives the moving
    average at the start (the first full window) and now. Titles stay short: a long one widens the plot
    beyond its place in the dock, and the right of it is cut off."""

    def __init__(self, parent=None) -> None:
        super().__init__("Loss", parent)
        self.setLabel("bottom", "step")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.raw = pg.PlotDataItem(pen=None, symbol="o", symbolSize=3, symbolPen=None, symbolBrush="#b0b0b0")
        self.addItem(self.raw, ignoreBounds=True)  # outlying steps must not squash the trend
        self.band = _Band(self, "#d32f2f")
        self.smooth = self.plot(pen=pg.mkPen("#d32f2f", width=2))
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.window = smoothing_window(0)
        self.getAxis("bottom").enableAutoSIPrefix(False)   # steps are counted, never "x0.001"
        self.redraw()

    def reset(self) -> None:
        """Forget the previous run."""
        self.steps, self.losses = [], []
        self.redraw()

    def add(self, event: StepEvent) -> None:
        """Take one step's loss."""
        self.window = smoothing_window(event.steps)
        self.steps.append(event.step)
        self.losses.append(event.loss)
        self._dirty = True

    def redraw(self) -> None:
        if not self.steps:  # before a run: a plain 0-1 frame, not pyqtgraph's empty range (-0.5 to 0.5, x0.001)
            self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        else:
            self.getViewBox().enableAutoRange()
        x = np.asarray(self.steps)
        self.raw.setData(x, np.asarray(self.losses))
        mean, std = moving_mean_std(self.losses, self.window)
        self.setLabel("bottom", f"step (average of {self.window})" if len(mean) else "step")
        self.setTitle(f"Loss {mean[self.window - 1]:.3f} → {mean[-1]:.3f}" if len(mean) > self.window else "Loss")
        start = first_shown(self.window)
        x, mean, std = x[start:], mean[start:], std[start:]
        self.smooth.setData(x, mean)
        self.band.set(x, mean - std, mean + std)


class GateHeatmap(_LivePlot):
    """The gate of every block (rows) and kind (columns), 0 to 1, averaged over the last steps, with a colour bar."""

    def __init__(self, parent=None) -> None:
        super().__init__("Gates", parent)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getViewBox().invertY(True)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.getPlotItem())
        axis = self.bar.getAxis("right")
        axis.setTicks([[(0, "0"), (0.5, ".5"), (1, "1")]])  # short labels fit a narrow dock
        axis.setWidth(26)  # room for the labels: the automatic width clipped them to "0." and "1."
        self.setMinimumWidth(220)  # narrower, pyqtgraph squeezes the colour bar's axis and drops its labels
        self.blocks: list[str] = []
        self.kinds: list[str] = []
        self.values = np.zeros((0, 0))
        self.recent: deque[np.ndarray] = deque(maxlen=smoothing_window(0))
        self.redraw()

    def reset(self) -> None:
        """Forget the previous run."""
        self.blocks, self.kinds, self.values = [], [], np.zeros((0, 0))
        self.recent.clear()
        self.redraw()

    def add(self, event: StepEvent) -> None:
        """Take one step's gates."""
        window = smoothing_window(event.steps)
        if self.recent.maxlen != window:
            self.recent = deque(self.recent, maxlen=window)
        blocks, kinds, values = gate_matrix(event.gates)
        if (blocks, kinds) != (self.blocks, self.kinds):
            self.recent.clear()
        self.blocks, self.kinds = blocks, kinds
        self.recent.append(values)
        self.values = np.mean(self.recent, axis=0)
        self._dirty = True

    def redraw(self) -> None:
        if self.values.size == 0:
            self.image.clear()
            self.setTitle("Gates")
            self._label_axes([], [])  # no blocks or kinds yet: no meaningless numbers on the axes
            return
        self.setTitle(f"Gates, last {len(self.recent)} steps")
        self.image.setImage(self.values, levels=(0, 1))
        self._label_axes([_short(b) for b in self.blocks], list(self.kinds))
        self.setRange(xRange=(0, len(self.kinds)), yRange=(0, len(self.blocks)), padding=0)


    def _label_axes(self, rows: list[str], columns: list[str]) -> None:
        self.axis_labels = (rows, columns)
        """What the left (blocks) and bottom (kinds) axes show, one label per row and column."""
        self.getAxis("left").setTicks([[(i + 0.5, label) for i, label in enumerate(rows)]])
        self.getAxis("bottom").setTicks([[(j + 0.5, label) for j, label in enumerate(columns)]])


class GateHistory(_LivePlot):
    """The mean gate of each kind over its blocks, per step: a moving average line per kind with a faint band
    of the per-step spread, and the legend below the plot, outside the data."""

    def __init__(self, parent=None) -> None:
        super().__init__("Gate mean per kind", parent)
        self.setLabel("bottom", "step")
        self.setYRange(0, 1, padding=0.02)
        self.setLimits(yMin=-0.05, yMax=1.05)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = pg.LegendItem(colCount=4, frame=False)
        self.getPlotItem().layout.addItem(self.legend, 4, 1)  # the row below the step axis
        self.steps: list[int] = []
        self.window = smoothing_window(0)
        self.kind_means: dict[str, list[float]] = {}
        self.curves: dict[str, tuple[pg.PlotDataItem, _Band]] = {}

    def reset(self) -> None:
        """Forget the previous run (its kinds too: the next run may train others)."""
        self.steps, self.kind_means = [], {}
        for line, band in self.curves.values():
            self.removeItem(line)
            self.removeItem(band.fill)
        self.curves = {}
        self.legend.clear()

    def add(self, event: StepEvent) -> None:
        """Take one step's gates: each kind's mean over its blocks."""
        self.window = smoothing_window(event.steps)
        self.steps.append(event.step)
        per_kind: dict[str, list[float]] = {}
        for kinds in event.gates.values():
            for kind, value in kinds.items():
                per_kind.setdefault(kind, []).append(value)
        for kind, values in per_kind.items():
            self.kind_means.setdefault(kind, []).append(float(np.mean(values)))
        self._dirty = True

    def redraw(self) -> None:
        for kind, values in self.kind_means.items():
            if kind not in self.curves:
                colour = KIND_REGISTRY[kind].colour if kind in KIND_REGISTRY else PEFTModule.colour
                band = _Band(self, colour)
                line = self.plot(pen=pg.mkPen(colour, width=2))
                self.legend.addItem(line, kind)
                self.curves[kind] = (line, band)
            line, band = self.curves[kind]
            start = first_shown(self.window)
            x = np.asarray(self.steps[-len(values):])[start:]
            mean, std = (a[start:] for a in moving_mean_std(values, self.window))
            line.setData(x, mean)
            band.set(x, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1))


def _short(block: str) -> str:
    return f"block {block.split('.')[1]}" if block.startswith("blocks.") else block.removeprefix("decoder.")
