"""AnnotationSession: the annotation work on one open project, driven by the UI or by tests directly.

It holds the current image, the draft of each image visited (with its undo history) and the current
label, and commits accepted instances, their deletion and relabelling, the decisions on automatic proposals, and
their undo, to the project store at once. It asks for SAM masks through `predict_requested` and takes the answers in
`prediction_ready`; it never runs the model itself, so the UI can run SAM in a worker thread.
"""
from __future__ import annotations

import sqlite3
from dataclasses import replace

import numpy as np

from app.annotate.candidates import Candidates
from app.annotate.commands import (AcceptInstance, AcceptProposals, DeleteInstance, DraftEdit, InstanceRef,
                                   RejectProposals, RelabelInstance)
from app.annotate.draft import Draft, PromptRequest, Prompts, Stroke
from app.annotate.events import Event
from app.annotate.history import Command
from app.annotate.image_claims import ImageClaims
from app.annotate.image_state import ImageState, candidate_order
from app.annotate.labels import LabelChoice
from app.autoseg.uncertainty import image_uncertainty
from app.sam.engine import Prediction
from app.store import (ConcurrentChangeError, Image, ImageStatus, Instance, InstanceSource, NotFoundError, Project,
                       Proposal, ProposalState, StoreError)
from app.tiles.mask_crop import MaskCrop
from app.tiles.predictor import TiledPrediction

DEFAULT_LABEL = "object"
"""Label made for the first accepted instance of a project that has none."""

STORE_ERRORS = (StoreError, sqlite3.Error, OSError)
"""What a store write may raise; the session reports it as a message and stays usable."""


class AnnotationSession:
    """Annotation of one project. Events (plain callbacks, see `Event`):

    images_changed(): image list, a status or an instance count changed.
    image_opened(Image): another image became current.
    draft_changed(): the draft, its mask or its candidates changed.
    instances_changed(): the instances of the current image, their selection or visibility changed.
    proposals_changed(): the proposals of the current image changed (another image, one accepted or rejected).
    history_changed(): what undo/redo would do changed.
    predict_requested(PromptRequest): SAM's masks are wanted; answer with `prediction_ready`.
    message(str): a note for the annotator (nothing to accept, waiting for SAM...).
    error(str): a store write failed, or the project is read-only; the session is unchanged and still usable.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self.images_changed, self.image_opened, self.draft_changed = Event(), Event(), Event()
        self.instances_changed, self.history_changed, self.proposals_changed = Event(), Event(), Event()
        self.predict_requested, self.message, self.error = Event(), Event(), Event()
        self.labels = LabelChoice(project.labels)
        self.selected: int | None = None
        self.hidden: set[int] = set()
        self._states: dict[int, ImageState] = {}
        self._state: ImageState | None = None
        self._refs: dict[int, InstanceRef] = {}
        self._accept_when_ready = False
        self._kept_label: int | None = None  # the label carried over to the current image, which has no instances
        self.claims = ImageClaims(project, self.message.emit, self.error.emit)   # who works where (shared projects)

    # Images -------------------------------------------------------------------------------------------
    def images(self) -> list[Image]:
        """Every image of the project, in list order (by path)."""
        return self.project.images.list()

    @property
    def image(self) -> Image | None:
        """The current image (its record as of when it was opened or last changed), or None."""
        return None if self._state is None else self._state.image

    def open_image(self, image_id: int) -> Image:
        """Make an image current; its draft and history are as the annotator left them.

        The current label becomes the label of the image's newest instance; an image without instances keeps
        the current label, and `label_kept` says so until the annotator picks a label or accepts there.
        """
        left = self._state
        if left is not None:
            left.forget_others()
        state = self._states.get(image_id)
        if state is None:
            state = self._states[image_id] = ImageState(self.project.images.get(image_id))
        self._state, self.selected, self._accept_when_ready = state, None, False
        self.claims.take(image_id, None if left is None or left is state else left.image.id)
        self._follow_label(image_id, carried=left is not None and left is not state)
        state.update_mask()
        self.image_opened.emit(state.image)
        self.draft_changed.emit()
        self.instances_changed.emit()
        self.proposals_changed.emit()
        self.history_changed.emit()
        self._request_if_pending()
        return state.image

    # Shared projects ----------------------------------------------------------------------------------
    def changed_elsewhere(self, image_id: int) -> None:
        """Another client changed an image's instances or proposals (a shared project): show them as they are."""
        if self._state is not None and self._state.image.id == image_id:
            self._instances_edited(self._state)
        else:
            self.images_changed.emit()

    def renew_claims(self) -> None:
        """Keep this annotator's claim of the image shown (the window calls it every minute)."""
        if self.image is not None:
            self.claims.take(self.image.id, quiet=True)

    def step(self, offset: int) -> Image | None:
        """Open the image `offset` places after the current one in the list (before, if negative)."""
        images = self.images()
        if not images:
            return None
        ids = [image.id for image in images]
        here = ids.index(self.image.id) if self.image is not None and self.image.id in ids else -offset
        target = max(0, min(len(ids) - 1, here + offset))
        if self.image is not None and ids[target] == self.image.id:
            return None
        return self.open_image(ids[target])

    def start_image(self, remembered: str | None = None) -> Image | None:
        """Open the image the project was left at (`remembered`, its path) if it is still in the project, else the
        first image not done, else the first; None when the project has no image."""
        images = self.images()
        if not images:
            return None
        first = next((i for i in images if i.path == remembered), None)
        first = first or next((i for i in images if i.status != ImageStatus.DONE), images[0])
        return self.open_image(first.id)

    def next_without_instances(self) -> Image | None:
        """Open the next image in the list (wrapping round) that has no instance and is not marked done; says so
        and stays when there is none."""
        images = self.images()
        here = next((n for n, i in enumerate(images) if self.image is not None and i.id == self.image.id), -1)
        counts = self.project.instances.counts_per_image()
        for image in images[here + 1:] + images[:max(here, 0)]:
            if not counts.get(image.id) and image.status != ImageStatus.DONE:
                return self.open_image(image.id)
        self.message.emit("Every other image has instances or is marked done")
        return None

    def uncertainty_order(self) -> list[tuple[Image, float | None]]:
        """The images without instances and not marked done, each with `image_uncertainty` of its pending
        proposals, most uncertain first; those without pending proposals (None) last, in list order."""
        counts, pending = self.project.instances.counts_per_image(), self.project.proposals.pending_scores()
        todo = [i for i in self.images() if not counts.get(i.id) and i.status != ImageStatus.DONE]
        scored = [(i, image_uncertainty(pending[i.id])) for i in todo if i.id in pending]
        return sorted(scored, key=lambda pair: -pair[1]) + [(i, None) for i in todo if i.id not in pending]

    def next_most_uncertain(self) -> Image | None:
        """Open the most uncertain other image of `uncertainty_order`; says so and stays when there is none."""
        for image, _ in self.uncertainty_order():
            if self.image is None or image.id != self.image.id:
                return self.open_image(image.id)
        self.message.emit("Every other image has instances or is marked done")
        return None

    @property
    def label_kept(self) -> bool:
        """True while the current label is only the one carried over from the last image to this one, which has
        no instance yet (so the window can say so rather than let it pass silently)."""
        current = self.labels.current
        return current is not None and current.id == self._kept_label

    def toggle_done(self) -> Image | None:
        """Mark the current image done, or, if it is done, back to in progress (new without instances)."""
        state = self._state
        if state is None or self._refused("mark the image done"):
            return None
        status = self.project.images.get(state.image.id).status
        if status == ImageStatus.DONE:
            status = ImageStatus.IN_PROGRESS if self.instances() else ImageStatus.NEW
        else:
            status = ImageStatus.DONE
        try:
            state.image = self.project.images.set_status(state.image.id, status)
        except STORE_ERRORS as exc:
            self.error.emit(f"Could not mark the image: {exc}")
            return None
        self.images_changed.emit()
        return state.image

    # Draft --------------------------------------------------------------------------------------------
    @property
    def draft(self) -> Draft | None:
        """The current image's draft, or None without an image."""
        return None if self._state is None else self._state.draft

    @property
    def draft_mask(self) -> MaskCrop | None:
        """The draft's mask as shown (a crop of the image, `MaskCrop`), or None when the draft is empty."""
        return None if self._state is None else self._state.mask

    @property
    def pending(self) -> bool:
        """True while SAM's answer to the draft's prompts is awaited."""
        return self._state is not None and self._state.pending

    @property
    def candidates(self) -> tuple[Candidates, int] | None:
        """SAM's prediction for the draft's prompts and the index of the candidate shown, or None."""
        return None if self._state is None else self._state.candidates

    def add_point(self, x: float, y: float, positive: bool = True) -> None:
        """Add a positive or negative point (image pixels) to the draft's prompts."""
        if self._inside(x, y):
            draft = self._state.draft
            self._edit_draft(replace(draft, prompts=draft.prompts.with_point(x, y, positive), choice=None),
                             "positive point" if positive else "negative point")

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Set the draft's box (image pixels, clipped to the image)."""
        if self._state is None:
            return
        h, w = self._state.shape
        x0, x1 = (float(np.clip(v, 0, w - 1)) for v in (x0, x1))
        y0, y1 = (float(np.clip(v, 0, h - 1)) for v in (y0, y1))
        draft = self._state.draft
        self._edit_draft(replace(draft, prompts=draft.prompts.with_box(x0, y0, x1, y1), choice=None), "box")

    def paint(self, stroke: Stroke) -> None:
        """Paint a brush or eraser stroke on the draft mask."""
        if self._state is not None and stroke.points:
            draft = self._state.draft
            self._edit_draft(replace(draft, strokes=draft.strokes + (stroke,)),
                             "eraser stroke" if stroke.erase else "brush stroke")

    def cycle_candidate(self) -> None:
        """Show SAM's next candidate mask for an ambiguous prompt, in order of score (after the last: the best)."""
        found = self.candidates
        if found is None or len(found[0].scores) < 2:
            return
        order = candidate_order(found[0])
        self.choose_candidate(order[(order.index(found[1]) + 1) % len(order)])

    def choose_candidate(self, index: int) -> None:
        """Show SAM's candidate mask `index` (its place in SAM's prediction) for the draft's prompts (undoable)."""
        found = self.candidates
        if found is None or index == found[1] or not 0 <= index < len(found[0].scores):
            return
        draft = self._state.draft
        self._edit_draft(replace(draft, choice=index), "candidate")

    def clear_prompts(self) -> None:
        """Drop the draft's prompts and strokes (undoable)."""
        if self._state is not None and not self._state.draft.empty:
            self._edit_draft(Draft(), "clear prompts")

    def ask_again(self) -> None:
        """Ask SAM again for the draft's prompts if their answer is still due (e.g. a new model dropped the request)."""
        self._request_if_pending()

    def model_changed(self) -> None:
        """The model (or its adapter version) changed: every remembered mask is the old model's. Forget them on
        every image visited and ask again for the current draft's prompts (answered once the image is embedded
        with the new model); the old mask stays shown until then."""
        for state in self._states.values():
            state.model_changed()
        self._request_if_pending()

    def prediction_ready(self, request: PromptRequest, prediction: Prediction | TiledPrediction) -> None:
        """SAM's answer to a request (a large image's: on a tile, `TiledPrediction`): shown if the draft still has
        those prompts, kept for undo either way; dropped when the model changed since it was asked (the answer is the
        old model's)."""
        state = self._states.get(request.image_id)
        if state is None or not state.answer(request, prediction):
            return
        if state is self._state and state.draft.prompts == request.prompts:
            state.update_mask()
            self.draft_changed.emit()
            if self._accept_when_ready:
                self.accept()

    # Instances ----------------------------------------------------------------------------------------
    def instances(self) -> list[Instance]:
        """The instances of the current image, oldest first."""
        return [] if self._state is None else self.project.instances.for_image(self._state.image.id)

    def accept(self) -> Instance | None:
        """Store the draft mask as an instance with the current label; waits for SAM if its answer is due."""
        state = self._state
        if state is None or self._refused(AcceptInstance.text):
            return None
        if state.pending:
            self._accept_when_ready = True
            self.message.emit("Accepting as soon as SAM's mask arrives…")
            return None
        self._accept_when_ready = False
        if state.mask is None or not state.mask.any():
            self.message.emit("Nothing to accept: click the object, drag a box or paint with the brush first")
            return None
        try:
            label = self.labels.current or self.labels.add(DEFAULT_LABEL)
        except STORE_ERRORS as exc:   # the default label could not be saved (a full disk, say)
            self.error.emit(f"Could not {AcceptInstance.text}: {exc}")
            return None
        source = InstanceSource.CORRECTED if state.draft.strokes else InstanceSource.MODEL
        command = AcceptInstance(self, state, label.id, state.mask.rle(), source, state.draft)
        if self._run(command):
            return self.project.instances.get(command.ref.id)
        return None

    def delete_instance(self, instance_id: int) -> None:
        """Delete an instance of the current image from the store (undoable)."""
        if self._state is not None and not self._refused(DeleteInstance.text) and self._still_there(instance_id):
            self._run(DeleteInstance(self, self._state, self._ref(instance_id)))

    def relabel_instance(self, instance_id: int, label_id: int) -> None:
        """Give an instance of the current image another label (undoable)."""
        if (self._state is not None and self._still_there(instance_id)
                and self.project.instances.get(instance_id).label_id != label_id
                and not self._refused(RelabelInstance.text)):
            self._run(RelabelInstance(self, self._state, self._ref(instance_id), label_id))

    def _still_there(self, instance_id: int) -> bool:
        """True when the instance is in the store; otherwise (another annotator deleted it) say so and show the
        image's instances as they are."""
        try:
            self.project.instances.get(instance_id)
        except NotFoundError:
            self.message.emit(f"Instance {instance_id} is gone: another annotator deleted it meanwhile")
            self._instances_edited(self._state)
            return False
        return True

    def select_instance(self, instance_id: int | None) -> None:
        """Highlight one instance of the current image (None: none)."""
        if instance_id != self.selected:
            self.selected = instance_id
            self.instances_changed.emit()

    def set_hidden(self, instance_id: int, hidden: bool) -> None:
        """Hide or show an instance on the canvas (view only: the store is unchanged)."""
        if hidden != (instance_id in self.hidden):
            (self.hidden.add if hidden else self.hidden.discard)(instance_id)
            self.instances_changed.emit()

    # Proposals ----------------------------------------------------------------------------------------
    def proposals(self, state: ProposalState | str | None = ProposalState.PENDING) -> list[Proposal]:
        """The current image's proposals in `state` (None: all), best predicted IoU first."""
        return [] if self._state is None else self.project.proposals.for_image(self._state.image.id, state)

    def pending_proposal_counts(self) -> dict[int, int]:
        """Pending proposals of every image, keyed by image id (for the image list)."""
        return self.project.proposals.pending_counts()

    def accept_proposal(self, proposal_id: int) -> Instance | None:
        """Store a pending proposal of the current image as an instance with the current label, its mask as it
        came (unedited, linking the proposal; undoable)."""
        found = self._pending([proposal_id], "accept proposal")
        instances = self._accept_proposals(found) if found else []
        return instances[0] if instances else None

    def accept_proposals(self, min_iou: float) -> list[Instance]:
        """Accept every pending proposal of the current image whose predicted IoU is at least `min_iou`, as one
        undo step; the instances made."""
        if self._state is None or self._refused("accept proposals"):
            return []
        found = [p for p in self.proposals() if p.predicted_iou >= min_iou]
        if not found:
            self.message.emit(f"No pending proposal with a predicted IoU of {min_iou:.2f} or more")
            return []
        return self._accept_proposals(found)

    def reject_proposal(self, proposal_id: int) -> None:
        """Turn down a pending proposal of the current image (undoable)."""
        found = self._pending([proposal_id], "reject proposal")
        if found:
            self._run(RejectProposals(self, self._state, [p.id for p in found]))

    def reject_proposals(self) -> None:
        """Turn down every pending proposal of the current image, as one undo step."""
        if self._state is None or self._refused("reject proposals"):
            return
        found = self.proposals()
        if found:
            self._run(RejectProposals(self, self._state, [p.id for p in found]))

    def proposals_replaced(self, image_id: int) -> None:
        """An image's pending proposals were made again (a proposing run stored them): the views read them anew."""
        if self.image is not None and self.image.id == image_id:
            self.proposals_changed.emit()
        self.images_changed.emit()

    def edit_proposal(self, proposal_id: int) -> None:
        """Make a pending proposal the draft (its prompt point, its mask shown), to correct it with clicks and the
        brush; accepting the draft then links the proposal. Undoable like any draft edit."""
        found = self._pending([proposal_id], None)
        if not found:
            return
        proposal = found[0]
        prompts = Prompts().with_point(*proposal.point, True)
        self._state.seed(prompts, MaskCrop.from_rle(proposal.rle, proposal.bbox), proposal.predicted_iou)
        self._edit_draft(Draft(prompts, proposal=proposal.id), "edit proposal")

    # Undo ---------------------------------------------------------------------------------------------
    @property
    def history(self):
        """The current image's undo history, or None."""
        return None if self._state is None else self._state.history

    def undo(self) -> None:
        """Undo the current image's last edit (instance operations are undone in the store too)."""
        self._step_history(lambda h: h.undo(), undoing=True)

    def redo(self) -> None:
        """Redo the current image's last undone edit."""
        self._step_history(lambda h: h.redo(), undoing=False)

    def unaccepted_drafts(self) -> list[Image]:
        """Images whose draft has a mask that was not accepted (to warn before closing)."""
        return [s.image for s in self._states.values() if s.mask is not None and s.mask.any()]

    # For the commands ---------------------------------------------------------------------------------
    def _show_draft(self, state: ImageState, draft: Draft) -> None:
        state.draft = draft
        state.update_mask()
        if state is self._state:
            self.draft_changed.emit()
            self._request_if_pending()

    def _track(self, ref: InstanceRef | None, instance_id: int, revision: int = 0) -> InstanceRef:
        if ref is None:
            ref = InstanceRef(instance_id, revision)
        else:
            self._refs.pop(ref.id, None)
            ref.id, ref.revision = instance_id, revision
        self._refs[instance_id] = ref
        return ref

    def _instances_edited(self, state: ImageState) -> None:
        image = self.project.images.get(state.image.id)
        if image.status == ImageStatus.IN_PROGRESS and not self.project.instances.for_image(image.id):
            image = self.project.images.set_status(image.id, ImageStatus.NEW)
        state.image = image
        if self.selected is not None and self.selected not in {i.id for i in self.instances()}:
            self.selected = None
        self._kept_label = None
        self.instances_changed.emit()
        self.proposals_changed.emit()
        self.images_changed.emit()

    def _proposals_edited(self, state: ImageState) -> None:
        if state is self._state:
            self.proposals_changed.emit()
        self.images_changed.emit()

    # Internals ----------------------------------------------------------------------------------------
    def _pending(self, proposal_ids: list[int], doing: str | None) -> list[Proposal]:
        """These proposals, when each is a pending one of the current image and `doing` (a change of the store;
        None: of the draft only) is allowed; else [] after saying why."""
        if self._state is None or (doing is not None and self._refused(doing)):
            return []
        pending = {p.id: p for p in self.proposals()}
        missing = [i for i in proposal_ids if i not in pending]
        if missing:
            self.message.emit(f"Proposal {missing[0]} is not a pending proposal of this image")
            return []
        return [pending[i] for i in proposal_ids]

    def _accept_proposals(self, proposals: list[Proposal]) -> list[Instance]:
        try:
            label = self.labels.current or self.labels.add(DEFAULT_LABEL)
        except STORE_ERRORS as exc:
            self.error.emit(f"Could not accept proposals: {exc}")
            return []
        command = AcceptProposals(self, self._state, proposals, label.id)
        if not self._run(command):
            return []
        return [self.project.instances.get(ref.id) for ref in command.refs]

    def _ref(self, instance_id: int) -> InstanceRef:
        return self._refs.get(instance_id) or self._track(None, instance_id)

    def _follow_label(self, image_id: int, carried: bool) -> None:
        """Make the label of the image's newest instance current; without instances, note the label `carried`
        over from another image."""
        own = self.project.instances.for_image(image_id)
        current = self.labels.current
        self._kept_label = current.id if carried and not own and current is not None else None
        if own and (current is None or current.id != own[-1].label_id):
            self.labels.select(own[-1].label_id)

    def _inside(self, x: float, y: float) -> bool:
        if self._state is None:
            return False
        h, w = self._state.shape
        return 0 <= x < w and 0 <= y < h

    def _refused(self, doing: str) -> bool:
        """True, after saying so, when the project is open read-only (prompts and drafts still work)."""
        if self.project.readonly:
            self.error.emit(f"Could not {doing}: read-only: {self.project.folder} is open to browse and export "
                            "only; no change is saved")
        return self.project.readonly

    def _edit_draft(self, draft: Draft, text: str) -> None:
        state = self._state
        self._accept_when_ready = False
        state.history.push(DraftEdit(self, state, state.draft, draft, text))
        self._show_draft(state, draft)
        self.history_changed.emit()

    def _run(self, command: Command) -> bool:
        """Do a store command (`redo` does it the first time) and record it; False when the store refused."""
        try:
            command.redo()
        except ConcurrentChangeError as exc:
            self.message.emit(f"Could not {command.text}: {exc} (shown as they left it)")
            self._instances_edited(self._state)
            return False
        except STORE_ERRORS as exc:
            self.error.emit(f"Could not {command.text}: {exc}")
            return False
        self._state.history.push(command)
        self.history_changed.emit()
        return True

    def _step_history(self, step, undoing: bool) -> None:
        if self._state is None:
            return
        self._accept_when_ready = False
        try:
            step(self._state.history)
        except ConcurrentChangeError as exc:   # the step can never be made: it is dropped, their change stays
            command = self._state.history.forget(undoing)
            self.message.emit(f"Could not {'undo' if undoing else 'redo'} {command.text}: {exc} (shown as they "
                              "left it)")
            self._instances_edited(self._state)
        except STORE_ERRORS as exc:
            self.error.emit(f"Could not undo/redo: {exc}")
        self.history_changed.emit()

    def _request_if_pending(self) -> None:
        request = self._state.request() if self._state is not None else None
        if request is not None:
            self.predict_requested.emit(request)
