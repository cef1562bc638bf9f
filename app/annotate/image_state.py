"""What the session keeps for each image visited: its draft, its undo history and SAM's masks by prompts (as
`Candidates`: crops, so a large image's answers and draft cost their tile, not the whole image)."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from app.annotate.candidates import Candidates
from app.annotate.draft import Draft, PromptRequest, Prompts
from app.annotate.history import History
from app.sam.engine import Prediction
from app.store import Image
from app.tiles.mask_crop import MaskCrop
from app.tiles.predictor import TiledPrediction

PREDICTION_BYTES = 256 * 2**20
"""Bound on the memory one image's remembered predictions take (the newest one is always kept)."""


def candidate_order(prediction: Candidates) -> list[int]:
    """Indices of SAM's candidate masks, best score first (the order Tab and the candidate chooser show them in)."""
    return sorted(range(len(prediction.scores)), key=lambda i: -float(prediction.scores[i]))


class ImageState:
    """Draft, history and predictions of one image.

    Predictions are remembered by prompts, so undo and redo show a draft's mask again without asking SAM.

    The guarantee: `mask` is SAM's answer to the draft's current prompts, from the model in use, with the
    draft's strokes over it. Only while that answer is on its way (`pending`) does it keep showing the last mask
    SAM gave for prompts the current ones add to (or for the same prompts, before a model switch); a mask for
    prompts that were cleared or replaced is never shown, and an answer of a model no longer in use is dropped.
    """

    def __init__(self, image: Image) -> None:
        self.image = image
        self.draft = Draft()
        self.history = History()
        self.mask: MaskCrop | None = None
        self._predictions: OrderedDict[Prompts, Candidates] = OrderedDict()
        self._base: tuple[Prompts, Candidates, int] | None = None
        self._base_current = True   # False once the model changed: its logits no longer seed a refinement
        self._model = 0             # how many times the model changed; each request carries it

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of the image (and of every mask on it)."""
        return self.image.height, self.image.width

    @property
    def pending(self) -> bool:
        """True while the draft has prompts that SAM has not answered yet."""
        return not self.draft.prompts.empty and self.draft.prompts not in self._predictions

    @property
    def candidates(self) -> tuple[Candidates, int] | None:
        """SAM's answer to the draft's prompts and the index of the candidate shown, or None."""
        prediction = self._predictions.get(self.draft.prompts)
        if prediction is None:
            return None
        choice = self.draft.choice
        return prediction, (choice if choice is not None and choice < len(prediction.scores) else prediction.best)

    def answer(self, request: PromptRequest, prediction: Prediction | TiledPrediction) -> bool:
        """Keep SAM's answer to a request made by `request`; False (dropped) when the model changed since."""
        if request.model != self._model:
            return False
        self.remember(request.prompts, Candidates.of(prediction))
        return True

    def remember(self, prompts: Prompts, candidates: Candidates) -> None:
        """Keep SAM's answer to `prompts`, forgetting the oldest answers beyond PREDICTION_BYTES."""
        self._predictions[prompts] = candidates
        self._predictions.move_to_end(prompts)
        total = sum(c.nbytes for c in self._predictions.values())
        while total > PREDICTION_BYTES and len(self._predictions) > 1:
            _, dropped = self._predictions.popitem(last=False)
            total -= dropped.nbytes

    def seed(self, prompts: Prompts, mask: MaskCrop, score: float) -> None:
        """Take a mask made elsewhere (an automatic proposal's) as SAM's answer to `prompts`. It has no logits, so
        a refinement of it is asked from the prompts alone; a model change forgets it like any answer."""
        self.remember(prompts, Candidates((mask,), np.array([score], dtype=np.float32),
                                          np.zeros((1, 0, 0), dtype=np.float32)))

    def forget_others(self) -> None:
        """Keep only the prediction the draft shows (called when the annotator leaves the image)."""
        keep = {p: v for p, v in self._predictions.items() if p == self.draft.prompts}
        self._predictions = OrderedDict(keep)

    def model_changed(self) -> None:
        """Forget every answer of the previous model: the draft's prompts are due again. The mask shown stays
        until the new model answers, but it never seeds a refinement (`request`); answers to requests made before
        are dropped (`answer`)."""
        self._predictions.clear()
        self._base_current = False
        self._model += 1

    def update_mask(self) -> None:
        """Recompute `mask` for the current draft."""
        draft = self.draft
        base = None
        if draft.prompts.empty:
            self._base = None
        else:
            found = self.candidates
            if found is not None:
                self._base = (draft.prompts, found[0], found[1])
                self._base_current = True
            if self._base is not None and draft.prompts.refines(self._base[0]):
                base = self._base[1].masks[self._base[2]]
        if draft.empty:
            self.mask = None
        else:
            self.mask = draft.paint(base if base is not None else MaskCrop.empty(self.shape))

    def request(self) -> PromptRequest | None:
        """What to ask SAM for the draft's prompts (refining the last mask shown when they add to its prompts)."""
        if not self.pending:
            return None
        prompts = self.draft.prompts
        mask_input = frame = None
        if self._base is not None and self._base_current and prompts.refines(self._base[0]):
            shown_prompts, prediction, index = self._base
            if shown_prompts != prompts and prediction.low_res_logits.size:
                mask_input, frame = prediction.low_res_logits[index], prediction.frame
        return PromptRequest(self.image.id, prompts, mask_input, prompts.multimask, self._model, frame)
