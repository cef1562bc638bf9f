"""Live plots of a fine-tuning run, drawn with pyqtgraph: the loss, the gate heatmap and the gate history.

Steps can arrive faster than a screen refreshes (a GPU does dozens a second), so each plot keeps the data
and redraws at most every REDRAW_MS on a timer; the GUI thread never draws once per step.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer

from app.mopeft import gate_matrix
from app.trainer.events import StepEvent

REDRAW_MS = 150
KIND_COLOURS = {"lora": "#1e88e5", "prefix": "#fb8c00", "adapter": "#43a047"}
"""One colour per PEFT kind, shared by the gate history and the docs."""
_FALLBACK = "#8e24aa"

pg.setConfigOptions(antialias=False, background="w", foreground="#333")


class _LivePlot(pg.PlotWidget):
    """A plot that marks itself dirty on new data and redraws on a timer (its child: it dies with the plot)."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent, title=title)
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        if self._dirty:
            self._dirty = False
            self.redraw()

    def redraw(self) -> None:
        raise NotImplementedError


class LossPlot(_LivePlot):
    """The training loss per step, and its moving average."""

    def __init__(self, parent=None) -> None:
        super().__init__("Loss", parent)
        self.setLabel("bottom", "step")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.raw = self.plot(pen=pg.mkPen("#bbbbbb"))
        self.smooth = self.plot(pen=pg.mkPen("#d32f2f", width=2))
        self.steps: list[int] = []
        self.losses: list[float] = []

    def reset(self) -> None:
        """Forget the previous run."""
        self.steps, self.losses = [], []
        self.redraw()

    def add(self, event: StepEvent) -> None:
        """Take one step's loss."""
        self.steps.append(event.step)
        self.losses.append(event.loss)
        self._dirty = True

    def redraw(self) -> None:
        x, y = np.asarray(self.steps), np.asarray(self.losses)
        self.raw.setData(x, y)
        if len(y) >= 2:
            window = max(1, min(len(y) // 5, 20))
            kernel = np.ones(window) / window
            self.smooth.setData(x[window - 1:], np.convolve(y, kernel, mode="valid"))
        else:
            self.smooth.setData([], [])


class GateHeatmap(_LivePlot):
    """The latest gate value of every block (rows) and kind (columns), 0 to 1, with a colour bar."""

    def __init__(self, parent=None) -> None:
        super().__init__("Gates (latest step)", parent)
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
        self.redraw()

    def reset(self) -> None:
        """Forget the previous run."""
        self.blocks, self.kinds, self.values = [], [], np.zeros((0, 0))
        self.redraw()

    def add(self, event: StepEvent) -> None:
        """Take one step's gates."""
        self.blocks, self.kinds, self.values = gate_matrix(event.gates)
        self._dirty = True

    def redraw(self) -> None:
        if self.values.size == 0:
            self.image.clear()
            for axis in ("left", "bottom"):  # no blocks or kinds yet: no meaningless numbers on the axes
                self.getAxis(axis).setTicks([[]])
            return
        self.image.setImage(self.values, levels=(0, 1))
        self.getAxis("left").setTicks([[(i + 0.5, _short(b)) for i, b in enumerate(self.blocks)]])
        self.getAxis("bottom").setTicks([[(j + 0.5, k) for j, k in enumerate(self.kinds)]])
        self.setRange(xRange=(0, len(self.kinds)), yRange=(0, len(self.blocks)), padding=0)


class GateHistory(_LivePlot):
    """Every gate over the steps: one line per block and kind, coloured by kind (later blocks darker)."""

    def __init__(self, parent=None) -> None:
        super().__init__("Gate history", parent)
        self.setLabel("bottom", "step")
        self.setYRange(0, 1)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.addLegend(offset=(-5, -5))  # bottom right: gates rise from 0.5, the top fills up
        self.steps: list[int] = []
        self.history: dict[tuple[str, str], list[float]] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}

    def reset(self) -> None:
        """Forget the previous run."""
        self.steps, self.history = [], {}
        for curve in self.curves.values():
            self.removeItem(curve)
        self.curves = {}
        self.legend.clear()

    def add(self, event: StepEvent) -> None:
        """Take one step's gates."""
        self.steps.append(event.step)
        for block, kinds in event.gates.items():
            for kind, value in kinds.items():
                self.history.setdefault((block, kind), []).append(value)
        self._dirty = True

    def redraw(self) -> None:
        blocks = gate_matrix({b: {} for b, _ in self.history})[0]
        for (block, kind), values in self.history.items():
            curve = self.curves.get((block, kind))
            if curve is None:
                depth = blocks.index(block) / max(1, len(blocks) - 1)
                colour = pg.mkColor(KIND_COLOURS.get(kind, _FALLBACK)).darker(int(80 + 70 * depth))
                if not any(k == kind for _, k in self.curves):
                    self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(KIND_COLOURS.get(kind, _FALLBACK), width=3)),
                                        kind)
                curve = self.curves[(block, kind)] = self.plot(pen=pg.mkPen(colour, width=1.5))
            curve.setData(self.steps[-len(values):], values)


def _short(block: str) -> str:
    return f"block {block.split('.')[1]}" if block.startswith("blocks.") else block.removeprefix("decoder.")
