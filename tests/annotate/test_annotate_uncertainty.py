"""Which image next: the images without instances and not done, most uncertain first by their pending proposals,
those without proposals last; `next_most_uncertain` opens the first that is not the current image."""
import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession
from app.autoseg.uncertainty import image_uncertainty
from app.store import ImageStatus, Project
from proposal_records import Proposed, square_mask

H, W = 32, 32


def proposal(iou: float) -> Proposed:
    return Proposed.of_mask(square_mask((H, W), 4, 4, 8), iou, 0.96, (8.0, 8.0))


@pytest.fixture
def session(tmp_path):
    for name in "abcdef":
        PILImage.new("RGB", (W, H)).save(tmp_path / f"{name}.png")
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        ids = {i.path: i.id for i in project.images.list()}
        label = project.labels.add("cell").id
        project.proposals.replace_pending(ids["a.png"], [proposal(0.99)], "demo")        # sure
        project.proposals.replace_pending(ids["b.png"], [proposal(0.89), proposal(0.9)], "demo")  # doubtful
        project.proposals.replace_pending(ids["c.png"], [proposal(0.89)], "demo")        # has an instance
        project.instances.add(ids["c.png"], label, np.ones((H, W), bool))
        project.proposals.replace_pending(ids["d.png"], [proposal(0.88)], "demo")        # done
        project.images.set_status(ids["d.png"], ImageStatus.DONE)
        project.proposals.replace_pending(ids["f.png"], [proposal(0.95)], "demo")
    session = AnnotationSession(Project.open(tmp_path))
    yield session
    session.project.close()


def test_order_is_most_uncertain_first_and_images_without_proposals_last(session):
    order = session.uncertainty_order()
    assert [image.path for image, _ in order] == ["b.png", "f.png", "a.png", "e.png"]
    scores = [score for _, score in order]
    assert scores[-1] is None and scores[0] > scores[1] > scores[2]
    b = session.project.images.list()[1]
    assert scores[0] == pytest.approx(image_uncertainty(session.project.proposals.for_image(b.id)))


def test_next_most_uncertain_skips_the_current_image_and_says_when_none_is_left(session):
    assert session.next_most_uncertain().path == "b.png"
    assert session.next_most_uncertain().path == "f.png"
    for path in ("b.png", "f.png", "a.png", "e.png"):
        image = next(i for i in session.images() if i.path == path)
        session.project.images.set_status(image.id, ImageStatus.DONE)
    messages = []
    session.message.connect(messages.append)
    assert session.next_most_uncertain() is None and messages
