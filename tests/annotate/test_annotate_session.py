"""The annotation core driven directly: prompts -> SAM requests, accept/undo/redo in the store, strokes, labels."""
import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession, Stroke
from app.annotate.demo_project import generated_image
from app.sam.engine import SamEngine
from app.sam.images import load_image
from app.sam.variants import build_sam
from app.store import ImageStatus, InstanceSource, Project


@pytest.fixture(scope="module")
def engine():
    return SamEngine(build_sam("tiny"))


@pytest.fixture
def session(tmp_path, engine):
    for i in range(3):
        PILImage.fromarray(generated_image(i, (96, 64))).save(tmp_path / f"img{i}.png")
    project = Project.open(tmp_path, create=True)
    project.images.scan()
    session = AnnotationSession(project)
    session.requests = []

    def answer(request):
        session.requests.append(request)
        image = project.images.get(request.image_id)
        engine.set_image(load_image(project.path_of(image.path)))
        points, labels, box = request.prompts.arrays()
        session.prediction_ready(request, engine.predict(points, labels, box, request.mask_input, request.multimask))

    session.predict_requested.connect(answer)
    session.open_image(session.images()[0].id)
    yield session
    project.close()


@pytest.mark.slow
def test_click_asks_sam_and_shows_its_best_mask(session, engine):
    session.add_point(40, 30)
    request = session.requests[-1]
    assert request.multimask and request.mask_input is None
    expected = engine.predict(np.array([[40.0, 30.0]]), np.array([1]), multimask=True)
    assert np.array_equal(session.draft_mask.dense(), expected.masks[expected.best])
    session.add_point(10, 10, positive=False)
    refine = session.requests[-1]
    assert not refine.multimask and refine.mask_input is not None
    assert refine.prompts.points[-1] == (10.0, 10.0, False)


def test_accept_undo_redo_go_to_the_store(session):
    session.add_point(40, 30)
    session.paint(Stroke(((2.0, 2.0),), 2.0))  # the mask is not empty whatever random weights give
    instance = session.accept()
    store = session.project.instances
    assert [i.id for i in store.for_image(session.image.id)] == [instance.id]
    assert instance.source == InstanceSource.CORRECTED and session.draft.empty
    assert session.project.images.get(session.image.id).status == ImageStatus.IN_PROGRESS
    session.undo()
    assert store.for_image(session.image.id) == [] and not session.draft.empty
    assert session.project.images.get(session.image.id).status == ImageStatus.NEW
    session.redo()
    (again,) = store.for_image(session.image.id)
    assert np.array_equal(again.mask, instance.mask)
    session.relabel_instance(again.id, session.labels.add("cell").id)
    session.undo()
    session.undo()
    session.redo()
    session.redo()  # the relabel follows the instance to its new id
    assert store.for_image(session.image.id)[0].label_id == session.labels.current.id


def test_strokes_paint_and_erase_and_undo(session):
    session.paint(Stroke(((10.0, 10.0), (30.0, 10.0)), 3.0))
    painted = session.draft_mask.dense()
    assert painted[10, 10:31].all() and not painted[30, 60]
    session.paint(Stroke(((20.0, 10.0),), 3.0, erase=True))
    assert not session.draft_mask.dense()[10, 20] and session.draft_mask.dense()[10, 10]
    session.undo()
    assert np.array_equal(session.draft_mask.dense(), painted)
    assert len(session.requests) == 0


def test_strokes_survive_further_clicks(session):
    session.paint(Stroke(((5.0, 5.0),), 3.0))
    session.add_point(60, 40)
    assert session.draft_mask.dense()[5, 5]


def test_tab_cycles_candidates_and_undo_restores_without_sam(session):
    session.add_point(40, 30)
    prediction, first = session.candidates
    session.cycle_candidate()
    second = int(np.argsort(-prediction.scores, kind="stable")[1])  # by score: the second best
    assert session.candidates[1] == second
    assert np.array_equal(session.draft_mask.dense(), prediction.masks[second].dense())
    asked = len(session.requests)
    session.undo()
    session.undo()
    assert session.draft.empty and session.draft_mask is None
    session.redo()
    assert len(session.requests) == asked and session.candidates[1] == first


def test_accept_waits_for_a_pending_prediction(session):
    session.predict_requested._callbacks.clear()
    waiting = []
    session.predict_requested.connect(waiting.append)
    session.paint(Stroke(((5.0, 5.0),), 4.0))
    session.add_point(40, 30)
    assert session.pending and session.accept() is None
    assert session.project.instances.for_image(session.image.id) == []
    session.prediction_ready(waiting[0], _full_prediction(session))
    assert len(session.project.instances.for_image(session.image.id)) == 1


def test_each_image_keeps_its_draft_and_history(session):
    first = session.image
    session.paint(Stroke(((5.0, 5.0),), 3.0))
    second = session.step(1)
    assert second.id != first.id and session.draft.empty and session.history.undo_text is None
    session.step(-1)
    assert session.image.id == first.id and session.draft_mask.dense()[5, 5]
    assert session.history.undo_text == "brush stroke"
    assert [i.id for i in session.unaccepted_drafts()] == [first.id]


def test_toggle_done(session):
    assert session.toggle_done().status == ImageStatus.DONE
    assert session.toggle_done().status == ImageStatus.NEW


def test_digit_label_choice_and_default_label(session):
    session.paint(Stroke(((5.0, 5.0),), 3.0))
    instance = session.accept()
    assert session.project.labels.get(instance.label_id).name == "object"
    session.labels.add("cell")
    assert session.labels.select_at(0).name == "object"
    assert session.labels.select_at(5) is None and session.labels.current.name == "object"


def test_an_image_with_instances_brings_back_their_label_and_a_new_image_keeps_it_visibly(session):
    cell, debris = session.labels.add("cell"), session.labels.add("debris")
    session.paint(Stroke(((5.0, 5.0),), 3.0))
    session.accept()  # image 0: a debris instance
    assert not session.label_kept
    session.step(1)  # image 1 has none: debris is kept, and the session says it was carried over
    assert session.labels.current.id == debris.id and session.label_kept
    session.labels.select(cell.id)
    assert not session.label_kept
    session.paint(Stroke(((5.0, 5.0),), 3.0))
    session.accept()  # image 1: a cell instance
    session.step(-1)  # back on image 0: its instance's label, not the one used last
    assert session.labels.current.id == debris.id and not session.label_kept
    session.step(1)
    assert session.labels.current.id == cell.id


def _full_prediction(session):
    from app.sam.engine import Prediction

    h, w = session.image.height, session.image.width
    masks = np.zeros((1, h, w), dtype=bool)
    masks[0, 20:40, 30:50] = True
    return Prediction(masks, np.array([0.9], dtype=np.float32), np.zeros((1, 32, 32), dtype=np.float32))


@pytest.fixture
def held(session):
    """A session whose SAM answers only when the test calls `held.answer(request)`; each answer is a rectangle
    around the request's prompts, so answers to different prompts differ."""
    held = AnnotationSession(session.project)
    held.asked = []
    held.predict_requested.connect(held.asked.append)

    def answer(request):
        from app.sam.engine import Prediction

        corners = [(x, y) for x, y, _ in request.prompts.points]
        corners += [] if request.prompts.box is None else [request.prompts.box[:2], request.prompts.box[2:]]
        xs, ys = [int(c[0]) for c in corners], [int(c[1]) for c in corners]
        masks = np.zeros((1, held.image.height, held.image.width), dtype=bool)
        masks[0, max(0, min(ys) - 3):max(ys) + 4, max(0, min(xs) - 3):max(xs) + 4] = True
        held.prediction_ready(request, Prediction(masks, np.array([0.9], dtype=np.float32),
                                                  np.zeros((1, 32, 32), dtype=np.float32)))
    held.answer = answer
    held.open_image(held.images()[0].id)
    return held


def test_an_answer_of_a_model_no_longer_in_use_is_never_shown(held):
    """Issue 17 items 1 and 9: a request asked of the old model and answered after a version switch is dropped;
    only the new model's answer to the same prompts is shown and remembered."""
    held.add_point(40, 30)
    old = held.asked[-1]
    held.model_changed()
    new = held.asked[-1]
    assert new is not old and new.prompts == old.prompts
    held.answer(old)
    assert held.pending and held.candidates is None
    held.answer(new)
    assert not held.pending and held.candidates is not None


def test_a_mask_for_cleared_or_replaced_prompts_is_never_shown(held):
    """Issue 17 item 9: while SAM works on new prompts, the last mask is shown only when they add to its prompts;
    after Esc, a new box or an undo to other prompts, nothing of the old answer stays on the draft."""
    held.set_box(10, 10, 60, 50)
    held.answer(held.asked[-1])
    first = held.draft_mask.dense()
    assert first.any()
    held.add_point(30, 30)                      # a refinement: the last mask stays shown while SAM works
    assert held.pending and np.array_equal(held.draft_mask.dense(), first)
    held.undo()
    held.set_box(50, 20, 90, 60)                # another box: the first box's mask is not the draft's
    assert held.pending and not held.draft_mask.any()
    held.clear_prompts()
    held.answer(held.asked[-1])                 # the answer to the cleared box arrives after Esc
    assert held.draft.empty and held.draft_mask is None and not held.pending
    held.undo()                                 # back to the second box: its answer, not the first box's
    assert np.array_equal(held.draft_mask.dense(), held.candidates[0].masks[held.candidates[1]].dense())
    held.set_box(10, 10, 60, 50)
    held.add_point(30, 30)
    held.answer(held.asked[-1])
    held.model_changed()                        # the old model's masks are forgotten ...
    held.undo()                                 # ... so undo goes back to prompts SAM must answer again
    assert held.pending and not held.draft_mask.any()
