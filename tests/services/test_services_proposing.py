"""app.services.proposing: which images, accepted instances passed on, each image stored as its pending proposals
with the model and adapter version, events, unreadable images named and skipped, cancel between images and between
batches (the images done kept), the adapter version of a file, an engine of its own on the same weights."""
import cv2
import numpy as np
import pytest

from app.sam.checkpoints import load_sam
from app.sam.engine import SamEngine
from app.services import proposing
from app.services.proposing import (BatchDone, ImageProposed, ImageSkipped, Proposer, ProposingCancelled,
                                    choose_images, propose_images, version_of)
from app.store import Project
from fixture_paths import TINY_SAM
from app.store.masks import rle_area
from proposal_records import Proposed, square_mask

H, W = 40, 48


@pytest.fixture
def project(tmp_path):
    for name in ("a", "b", "c"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.full((H, W, 3), 90, np.uint8))
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        project.instances.add(project.images.find("b.png").id, label.id, square_mask((H, W), 5, 5))
        yield project


@pytest.fixture
def generator(monkeypatch):
    """The generator's stand-in: two squares per image, two batches reported; records what it was given."""
    seen = []

    def propose(engine, rgb, accepted=(), params=None, progress=None, cancel=None):
        seen.append([rle_area(r) for r in accepted])
        for done in (1, 2):
            if cancel is not None and cancel():
                raise proposing.ProposalsCancelled("cancelled")
            progress(done, 2)
        return [Proposed.of_mask(square_mask((H, W), 20, 30), 0.9, 0.95, (35.0, 25.0)),
                Proposed.of_mask(square_mask((H, W), 2, 2), 0.7, 0.9, (7.0, 7.0))]

    monkeypatch.setattr(proposing, "propose_image", propose)
    return seen


def paths(images):
    return [image.path for image in images]


def test_choose_images(project, generator):
    assert paths(choose_images(project)) == ["a.png", "c.png"]
    assert paths(choose_images(project, "all")) == ["a.png", "b.png", "c.png"]
    assert choose_images(project, "stale") == []
    propose_images(project, Proposer(None, "demo"), choose_images(project)[:1])
    assert paths(choose_images(project, skip_proposed=True)) == ["c.png"]
    with pytest.raises(ValueError, match="unlabelled, all, stale"):
        choose_images(project, "new")


def test_each_image_is_stored_with_events_and_the_accepted_masks(project, generator):
    events = []
    summary = propose_images(project, Proposer(None, "demo"), choose_images(project, "all"), on_event=events.append)
    assert (summary.images, summary.proposals, summary.skipped) == (3, 6, []) and summary.seconds >= 0
    assert generator == [[], [100], []]   # b.png's accepted instance goes with it
    assert [type(e).__name__ for e in events[:3]] == ["BatchDone", "BatchDone", "ImageProposed"]
    done = [e for e in events if isinstance(e, ImageProposed)]
    assert [(e.n, e.total, e.image.path, len(e.proposals)) for e in done] == [(1, 3, "a.png", 2), (2, 3, "b.png", 2),
                                                                               (3, 3, "c.png", 2)]
    assert all(isinstance(e, BatchDone) and e.batches == 2 for e in events if not isinstance(e, ImageProposed))
    stored = project.proposals.for_image(project.images.find("a.png").id)
    assert [(p.predicted_iou, p.model, p.adapter_version_id, p.state.value) for p in stored] == \
        [(0.9, "demo", None, "pending"), (0.7, "demo", None, "pending")]
    assert [p.id for p in done[0].proposals] == [p.id for p in stored]


def test_an_unreadable_image_is_named_and_skipped(project, generator):
    (project.folder / "a.png").write_bytes(b"not a png")
    events = []
    summary = propose_images(project, Proposer(None, "demo"), choose_images(project), on_event=events.append)
    assert summary.images == 1 and [path for path, _ in summary.skipped] == ["a.png"]
    (skipped,) = [e for e in events if isinstance(e, ImageSkipped)]
    assert skipped.image.path == "a.png" and "cannot be read" in skipped.reason
    assert project.proposals.pending_counts()[project.images.find("a.png").id] == 0


@pytest.mark.parametrize("calls_before_cancel", [1, 3])   # among the first image's batches; before image 2
def test_cancel_keeps_the_images_done(project, generator, calls_before_cancel):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > calls_before_cancel

    with pytest.raises(ProposingCancelled) as stopped:
        propose_images(project, Proposer(None, "demo"), choose_images(project, "all"), cancel=cancel)
    done = stopped.value.summary.images
    assert done == (0 if calls_before_cancel == 1 else 1)
    assert f"{done} image(s) have new proposals" in str(stopped.value)
    counts = project.proposals.pending_counts()
    assert [counts[i.id] for i in project.images.list()] == [2 * done, 0, 0]


def test_version_of_an_adapter_file_and_stale_images(project, generator):
    (project.folder / "v1.safetensors").write_bytes(b"")
    version = project.adapters.add("v1.safetensors", "demo", {}, {})
    assert version_of(project, project.folder / "v1.safetensors") == version.id
    assert version_of(project, None) is None and version_of(project, project.folder / "other.safetensors") is None
    propose_images(project, Proposer(None, "demo", version.id), choose_images(project)[:1])
    assert paths(choose_images(project, "stale")) == ["a.png"]   # v1 made them; the base model is in use
    assert paths(choose_images(project, skip_proposed=True)) == ["a.png", "c.png"]


@pytest.mark.slow
def test_the_proposal_engine_has_its_own_image_on_the_same_weights():
    engine = SamEngine(load_sam(TINY_SAM, device="cpu").sam)
    engine.set_image(np.zeros((H, W, 3), np.uint8))
    other = proposing.proposal_engine(engine)
    other.set_image(np.full((H, W, 3), 200, np.uint8))
    assert other.sam is engine.sam and other.cache is engine.cache and other.precision == engine.precision
    assert engine.image_embedding is not other.image_embedding
    assert other.model_signature == engine.model_signature


@pytest.mark.slow
def test_a_sam2_engine_proposes_on_its_own_engine_and_stores_the_proposals(project, tiny_sam2):
    from app.sam2 import Sam2Engine

    engine = Sam2Engine(tiny_sam2)
    other = proposing.proposal_engine(engine)
    assert isinstance(other, Sam2Engine) and other.model is engine.model and other.cache is engine.cache
    params = proposing.AutoParams(points_per_side=3, pred_iou_thresh=0, stability_score_thresh=0)
    summary = propose_images(project, Proposer(other, "sam2_tiny"), [project.images.find("a.png")], params)
    stored = project.proposals.for_image(project.images.find("a.png").id)
    assert summary.proposals == len(stored) > 0 and all(p.mask.shape == (H, W) for p in stored)


def test_an_instance_accepted_while_the_image_is_proposed_on_leaves_its_proposals_out(project, monkeypatch):
    """The annotator draws an instance on the image while the proposals thread works on it: the proposal inside
    it is not stored, the other is; an instance accepted before was already given to the generator."""
    image = project.images.find("a.png")
    label = project.labels.list()[0]

    def propose(engine, rgb, accepted=(), params=None, progress=None, cancel=None):
        project.instances.add(image.id, label.id, square_mask((H, W), 19, 29, 12))   # meanwhile, in the window
        return [Proposed.of_mask(square_mask((H, W), 20, 30), 0.9, 0.95, (35.0, 25.0)),
                Proposed.of_mask(square_mask((H, W), 2, 2), 0.7, 0.9, (7.0, 7.0))]

    monkeypatch.setattr(proposing, "propose_image", propose)
    summary = propose_images(project, Proposer(None, "demo"), [image])
    (kept,) = project.proposals.for_image(image.id)
    assert summary.proposals == 1 and kept.point == (7.0, 7.0)


@pytest.mark.slow
def test_a_large_image_is_proposed_on_tile_by_tile_at_full_resolution(tmp_path):
    """On the tiny model (128 px input) a 300 x 600 image is tiled: progress counts its tiles, a disc across a tile
    border is one proposal of full-resolution RLE, and nothing is proposed inside an accepted instance."""
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(50, 6, (300, 600, 3)), 0, 255).astype(np.uint8)
    cv2.circle(image, (110, 64), 30, (230, 200, 60), -1)   # across the seam of the first two tile columns
    cv2.circle(image, (400, 200), 25, (60, 200, 230), -1)
    cv2.imwrite(str(tmp_path / "big.png"), image[:, :, ::-1])
    accepted = np.zeros((300, 600), np.uint8)
    cv2.circle(accepted, (400, 200), 25, 1, -1)
    params = proposing.AutoParams(points_per_side=12, pred_iou_thresh=0.3, stability_score_thresh=0.5)
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        big = project.images.find("big.png")
        project.instances.add(big.id, project.labels.add("cell").id, accepted.astype(bool))
        events = []
        engine = SamEngine(load_sam(TINY_SAM, device="cpu").sam)
        propose_images(project, Proposer(engine, "tiny"), [big], params, on_event=events.append)
        stored = project.proposals.for_image(big.id)
    tiles = {e.batches for e in events if isinstance(e, BatchDone)}
    assert tiles == {len(proposing.TileGrid(300, 600, 128, 32).tiles)}
    assert stored and all(p.mask.shape == (300, 600) for p in stored)
    spanning = [p for p in stored if p.mask[:, :96].any() and p.mask[:, 128:].any() and p.mask[64, 110]]
    assert len(spanning) == 1
    assert not any((p.mask & accepted.astype(bool)).sum() > 0.5 * p.area for p in stored)
