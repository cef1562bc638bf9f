"""Keeps the canvas showing the session (image, instances, draft, prompts) and turns gestures into edits."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.annotate import AnnotationSession
from app.annotate.overlay import FILL_ALPHA, OverlayMask, compose
from app.annotate.image_state import candidate_order
from app.store import Image, Instance
from app.tiles import rle_crop
from app.ui.candidate_chooser import CandidateChooser
from app.ui.canvas_view import PROMPT, CanvasView
from app.ui.tiled_image import LargePixels

DRAFT_COLOUR = "#ffeb3b"
"""Draft fill colour before the project has any label."""
FILL_STEPS = (0, 45, FILL_ALPHA, 135, 180, 225)
"""Alphas of the masks' fill, from outlines only to nearly opaque, that "more opaque/transparent" step through."""


def _around_bbox(instance: Instance, image: Image) -> tuple[np.ndarray, tuple[int, int]]:
    """An instance's mask decoded over its bbox and a pixel around it (all compose draws), and the crop's origin."""
    x, y, w, h = instance.bbox
    x0, y0 = max(0, x - 1), max(0, y - 1)
    return rle_crop(instance.rle, (x0, y0, min(image.width, x + w + 1), min(image.height, y + h + 1))), (x0, y0)


class CanvasController(QObject):
    """Binds a CanvasView to the session. `tool_changed(text)` describes the tool for the status bar,
    `view_changed(text)` a change of how masks are shown (fill opacity, instances hidden), `pixels_shown(image id)`
    says the canvas shows that image now (what is drawn over it follows)."""

    tool_changed = Signal(str)
    view_changed = Signal(str)
    pixels_shown = Signal(int)

    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        self.view = view
        self._session: AnnotationSession | None = None
        self._shown: int | None = None
        self._masks: dict[tuple[int, str], tuple[np.ndarray, tuple[int, int]]] = {}
        """Decoded masks of the image shown (`_around_bbox`), by (id, updated_at)."""
        self.fill_alpha, self.instances_shown = FILL_ALPHA, True
        self.chooser = CandidateChooser(view)
        self.chooser.chosen.connect(self._choose)
        view.point_clicked.connect(lambda x, y, positive: self._edit(lambda s: s.add_point(x, y, positive)))
        view.box_dragged.connect(lambda *box: self._edit(lambda s: s.set_box(*box)))
        view.stroke_drawn.connect(lambda stroke: self._edit(lambda s: s.paint(stroke)))
        view.brush_changed.connect(lambda _radius: self._describe_tool())

    def bind(self, session: AnnotationSession | None) -> None:
        """Show this session (None: an empty canvas)."""
        self._session, self._shown = session, None
        self.chooser.clear()
        self.view.show_image(None)
        self.view.set_hud("")
        if session is not None:
            session.image_opened.connect(self._image_opened)
            session.draft_changed.connect(self.draw_draft)
            session.instances_changed.connect(self.draw_instances)
            session.labels.changed.connect(self.draw_instances)
            session.labels.changed.connect(self.draw_draft)

    def show_pixels(self, image_id: int, image: QImage | LargePixels) -> None:
        """Show an image's pixels once loaded (ignored if the annotator has moved on)."""
        if self._session is None or self._session.image is None or self._session.image.id != image_id:
            return
        self.view.show_image(image)
        self._shown = image_id
        self.draw_instances()
        self.draw_draft()
        self.pixels_shown.emit(image_id)

    def show_unreadable(self, image_id: int, message: str) -> None:
        """Say on the canvas that the current image cannot be shown."""
        if self._session is not None and self._session.image is not None and self._session.image.id == image_id:
            self.view.set_hud(f"Cannot show this image: {message}")

    def accept(self) -> None:
        """Accept the draft; once it is accepted (or will be, when SAM answers) the next click is a prompt again."""
        session = self._session
        if session is not None and (session.accept() is not None or session.pending):
            self.view.set_tool(PROMPT)
            self._describe_tool()

    def toggle_tool(self, tool: str) -> None:
        """Switch to the brush or eraser, or back to prompts if it is already on."""
        self.view.set_tool(PROMPT if self.view.tool == tool else tool)
        self._describe_tool()
        self.draw_draft()

    def resize_brush(self, factor: float) -> None:
        """Make the brush `factor` times larger."""
        self.view.set_brush_radius(self.view.brush_radius * factor)

    def step_opacity(self, steps: int) -> None:
        """Fill the masks `steps` levels of FILL_STEPS more opaquely (negative: more transparently)."""
        here = min(range(len(FILL_STEPS)), key=lambda i: abs(FILL_STEPS[i] - self.fill_alpha))
        self.fill_alpha = FILL_STEPS[max(0, min(len(FILL_STEPS) - 1, here + steps))]
        self.draw_instances()
        self.draw_draft()
        self.view_changed.emit(f"Mask fill {round(100 * self.fill_alpha / 255)} %"
                               + (" (outlines only)" if self.fill_alpha == 0 else ""))

    def toggle_instances(self) -> None:
        """Hide every accepted instance of every image, or show them again (view only; the draft stays)."""
        self.instances_shown = not self.instances_shown
        self.view.layers.show_instances(self.instances_shown)
        self.view_changed.emit("Instances shown" if self.instances_shown else "All instances hidden")
        if self._shown is not None:
            self.view.set_hud(self._hud_text())

    def draw_instances(self) -> None:
        """Redraw the accepted instances of the current image (hidden ones left out)."""
        session = self._session
        if session is None or self._shown is None or session.image is None:
            return
        colours = {label.id: label.colour for label in session.labels.list()}
        image = session.image
        known, self._masks, masks = self._masks, {}, []
        for i in session.instances():
            key = (i.id, i.updated_at)
            crop, origin = self._masks[key] = known[key] if key in known else _around_bbox(i, image)
            if i.id not in session.hidden:
                masks.append(OverlayMask(crop, colours[i.label_id], i.bbox, i.id == session.selected, origin))
        self.view.layers.set_instances(compose((image.height, image.width), masks, self.fill_alpha))

    def draw_draft(self) -> None:
        """Redraw the draft mask, the prompts and the line over the canvas."""
        session = self._session
        if session is None or self._shown is None or session.draft is None:
            return
        label = session.labels.current
        self.view.layers.set_draft(session.draft_mask, label.colour if label else DRAFT_COLOUR, session.pending,
                                   self.fill_alpha)
        self.view.layers.set_prompts(session.draft.prompts)
        self.view.set_hud(self._hud_text())
        found = None if session.pending else session.candidates
        self.chooser.show_candidates(self.view.layers.image_crop, found[0] if found else None,
                                     found[1] if found else 0, label.colour if label else DRAFT_COLOUR)

    def _hud_text(self) -> str:
        session = self._session
        parts = []
        label = session.labels.current
        if label is not None and not session.draft.empty:
            kept = " (kept from the last image; 1–9 picks another)" if session.label_kept else ""
            parts.append(f"Label: {label.name}{kept}")
        if session.pending:
            parts.append("SAM is working…")
        elif session.candidates is not None:
            prediction, index = session.candidates
            if len(prediction.scores) > 1:
                rank = candidate_order(prediction).index(index) + 1
                parts.append(f"Candidate {rank}/{len(prediction.scores)}{' (best)' if rank == 1 else ''} · score "
                             f"{prediction.scores[index]:.2f} · Tab: next")
            else:
                parts.append(f"Score {prediction.scores[index]:.2f}")
        if self.view.tool != PROMPT:
            parts.append(f"{self.view.tool.capitalize()} · radius {self.view.brush_radius:.0f} px")
        if not self.instances_shown:
            parts.append("All instances hidden (View menu)")
        return "   ".join(parts)

    def _describe_tool(self) -> None:
        tool = self.view.tool
        text = "Tool: prompts" if tool == PROMPT else f"Tool: {tool} ({self.view.brush_radius:.0f} px)"
        self.tool_changed.emit(text)
        if self._shown is not None:
            self.view.set_hud(self._hud_text())

    def _image_opened(self, _image: Image) -> None:
        self._shown = None
        self.chooser.clear()
        self.view.show_image(None)
        self.view.set_hud("Loading the image…")

    def _choose(self, index: int) -> None:
        self._edit(lambda s: s.choose_candidate(index))

    def _edit(self, change) -> None:
        if self._session is not None and self._shown is not None:
            change(self._session)
