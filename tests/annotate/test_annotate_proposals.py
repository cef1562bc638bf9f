"""The session's proposals: accept (one or all above a predicted IoU), reject, edit as the draft, each undoable,
kept in the store across reopening, refused read-only; accepted proposals are instances with provenance."""
import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession, Stroke
from app.sam.engine import Prediction
from app.store import InstanceSource, Project, ProposalState
from proposal_records import Proposed, square_mask

H, W = 48, 64


def open_session(folder, requests=None, readonly=False):
    project = Project.open(folder, readonly=readonly)
    session = AnnotationSession(project)
    seen = {"proposals_changed": 0}
    session.proposals_changed.connect(lambda: seen.__setitem__("proposals_changed", seen["proposals_changed"] + 1))

    def answer(request):
        if requests is not None:
            requests.append(request)
        masks = np.zeros((1, H, W), dtype=bool)
        masks[0, :20, :20] = True
        session.prediction_ready(request, Prediction(masks, np.array([0.9], np.float32),
                                                     np.zeros((1, 32, 32), np.float32)))

    session.predict_requested.connect(answer)
    session.open_image(session.images()[0].id)
    return session, seen


@pytest.fixture
def folder(tmp_path):
    PILImage.new("RGB", (W, H)).save(tmp_path / "a.png")
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        image = project.images.list()[0].id
        project.labels.add("cell")
        project.proposals.replace_pending(image, [
            Proposed.of_mask(square_mask((H, W), 0, 0), 0.95, 0.97, (5.0, 5.0)),
            Proposed.of_mask(square_mask((H, W), 20, 30), 0.90, 0.96, (35.0, 25.0)),
            Proposed.of_mask(square_mask((H, W), 30, 0), 0.70, 0.95, (5.0, 35.0))], "demo")
    return tmp_path


@pytest.fixture
def session(folder):
    session, seen = open_session(folder)
    session.seen = seen
    yield session
    session.project.close()


def states(session):
    return [p.state.value for p in session.proposals(None)]


def test_accept_makes_an_unedited_instance_and_undo_redo_follow_it(session, folder):
    best = session.proposals()[0]
    before = session.seen["proposals_changed"]
    instance = session.accept_proposal(best.id)
    assert session.seen["proposals_changed"] > before
    assert (instance.source, instance.unedited, instance.proposal_id) == (InstanceSource.MODEL, True, best.id)
    assert np.array_equal(instance.mask, best.mask)
    assert instance.label_id == session.labels.current.id
    assert states(session) == ["accepted", "pending", "pending"]
    assert session.pending_proposal_counts() == {session.image.id: 2}
    session.undo()
    assert session.instances() == [] and states(session) == ["pending"] * 3
    session.redo()
    assert [i.proposal_id for i in session.instances()] == [best.id]
    session.project.close()
    reopened, _ = open_session(folder)
    assert states(reopened) == ["accepted", "pending", "pending"]
    assert reopened.project.instances.unedited_count().unedited == 1     # training counts it as unedited
    reopened.project.close()


def test_accept_all_above_a_predicted_iou_is_one_undo_step(session):
    made = session.accept_proposals(0.9)
    assert len(made) == 2 and states(session) == ["accepted", "accepted", "pending"]
    assert session.history.undo_text == "accept 2 proposals"
    session.undo()
    assert session.instances() == [] and states(session) == ["pending"] * 3
    session.redo()
    assert len(session.instances()) == 2
    messages = []
    session.message.connect(messages.append)
    assert session.accept_proposals(0.99) == [] and "0.99" in messages[-1]


def test_reject_one_and_all_and_undo(session):
    first = session.proposals()[0]
    session.reject_proposal(first.id)
    assert states(session) == ["rejected", "pending", "pending"]
    session.reject_proposals()
    assert states(session) == ["rejected"] * 3 and session.proposals() == []
    session.undo()
    assert states(session) == ["rejected", "pending", "pending"]
    session.undo()
    assert states(session) == ["pending"] * 3


def test_deleting_an_accepted_instance_rejects_its_proposal_and_undo_brings_both(session):
    proposal = session.proposals()[0]
    instance = session.accept_proposal(proposal.id)
    session.delete_instance(instance.id)
    assert states(session)[0] == "rejected"
    session.undo()
    assert states(session)[0] == "accepted"
    assert session.instances()[0].proposal_id == proposal.id


def test_an_edited_proposal_is_the_draft_and_accepting_it_corrected_links_it(folder):
    requests = []
    session, _ = open_session(folder, requests)
    proposal = session.proposals()[1]
    session.edit_proposal(proposal.id)
    assert requests == [] and np.array_equal(session.draft_mask.dense(), proposal.mask)   # shown without asking SAM
    session.paint(Stroke(((2.0, 2.0),), radius=1.5))
    instance = session.accept()
    assert (instance.source, instance.unedited, instance.proposal_id) == (InstanceSource.CORRECTED, False, proposal.id)
    assert session.project.proposals.get(proposal.id).state is ProposalState.ACCEPTED
    session.undo()      # the instance goes, the proposal is pending, the draft is back
    assert session.project.proposals.get(proposal.id).state is ProposalState.PENDING
    assert session.draft.proposal == proposal.id and session.draft_mask.dense()[2, 2]
    session.project.close()


def test_a_click_on_an_edited_proposal_asks_sam_with_its_point_and_no_logits(folder):
    requests = []
    session, _ = open_session(folder, requests)
    proposal = session.proposals()[0]
    session.edit_proposal(proposal.id)
    session.add_point(8.0, 8.0, positive=False)
    (request,) = requests
    assert request.prompts.points == ((5.0, 5.0, True), (8.0, 8.0, False)) and request.mask_input is None
    instance = session.accept()
    assert (instance.source, instance.unedited, instance.proposal_id) == (InstanceSource.MODEL, False, proposal.id)
    session.project.close()


def test_read_only_refuses_every_decision(folder):
    session, _ = open_session(folder, readonly=True)
    errors = []
    session.error.connect(errors.append)
    proposal = session.proposals()[0]
    assert session.accept_proposal(proposal.id) is None
    assert session.accept_proposals(0.0) == []
    session.reject_proposal(proposal.id)
    session.reject_proposals()
    assert len(errors) == 4 and all("read-only" in e for e in errors)
    assert states(session) == ["pending"] * 3
    session.project.close()
