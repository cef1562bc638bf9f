"""A session on a 20,000 x 20,000 image answered on tiles: the candidates and the draft are crops, brush strokes
outside SAM's crop grow it, undo/redo and accept work, the stored RLE is the full-resolution mask, and memory stays
far below one dense array of the image (400 MB)."""
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from pycocotools import mask as mask_utils

from app.annotate import AnnotationSession, Draft, Stroke
from app.store import Project
from app.tiles import TileGrid, crop_to_rle
from app.tiles.mask_crop import MaskCrop
from app.tiles.predictor import TiledPrediction
from proposal_records import Proposed

SIDE, TILE = 20_000, 1024
CLICK = (9_500, 9_400)
BOUND = 50 * 2**20   # bytes: an eighth of one dense bool mask of the image


def _huge_tiff(path):
    """A valid zlib-tiled TIFF of SIDE x SIDE that takes about 400 KB: one blank tile, encoded once."""
    tile = 2048
    encoded = zlib.compress(bytes(tile * tile), 9)
    tiles = (encoded for _ in range((-(-SIDE // tile)) ** 2))
    tifffile.imwrite(path, tiles, shape=(SIDE, SIDE), dtype=np.uint8, tile=(tile, tile), compression="zlib")


def _disc(shape, centre, radius):
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, centre, radius, 1, -1)
    return mask.astype(bool)


def _answer(request, grid):
    """SAM's answer on the tile holding the prompts: discs around the first point (three for one click)."""
    coords, labels, _ = request.prompts.arrays()
    tile = grid.for_points([tuple(p) for p, label in zip(coords, labels) if label])
    cx, cy = int(coords[0][0]) - tile.x0, int(coords[0][1]) - tile.y0
    radii = (20, 60, 120) if request.multimask else (40 + 10 * len(coords),)
    masks = np.stack([_disc((tile.height, tile.width), (cx, cy), r) for r in radii])
    scores = np.array([0.5, 0.9, 0.7][:len(radii)], np.float32)
    return TiledPrediction(masks, (tile.x0, tile.y0), scores, np.zeros((len(radii), 256, 256), np.float32),
                           (SIDE, SIDE), tile)


@pytest.fixture
def session(tmp_path):
    _huge_tiff(tmp_path / "slide.tif")
    project = Project.open(tmp_path, create=True)
    project.images.scan()
    project.labels.add("cell")
    session = AnnotationSession(project)
    grid = TileGrid(SIDE, SIDE, TILE, TILE // 4)
    session.requests = []

    def answer(request):
        session.requests.append(request)
        session.prediction_ready(request, _answer(request, grid))

    session.predict_requested.connect(answer)
    session.open_image(session.images()[0].id)
    yield session
    project.close()


def _full(rle):
    """The stored RLE decoded whole by pycocotools (400 MB: only after memory was measured)."""
    return mask_utils.decode(rle).view(bool)


def _expected_at(full, crop, origin):
    """True when the full-size mask is `crop` at `origin` (x, y) and empty elsewhere, without another dense array."""
    (h, w), (x, y) = crop.shape, origin
    return np.array_equal(full[y:y + h, x:x + w], crop) and int(full.sum()) == int(crop.sum())


def _base():
    """A small crop on an 80 x 60 image: an 18-pixel rectangle."""
    pixels = np.zeros((10, 20), bool)
    pixels[2:5, 3:9] = True
    return MaskCrop(pixels, (30, 40), (60, 80))


def test_a_draft_paints_strokes_outside_its_base_into_a_grown_crop():
    base = _base()
    strokes = (Stroke(((5.0, 5.0), (10.0, 5.0)), 2.0), Stroke(((34.0, 43.0),), 1.0, erase=True),
               Stroke(((79.0, 0.0),), 3.0, erase=True))                                  # erases nothing there
    painted = Draft(strokes=strokes).paint(base)
    expected = base.dense()
    for stroke in strokes:
        stroke.paint(expected)
    assert np.array_equal(painted.dense(), expected) and painted.box[:2] == (2, 2)
    assert np.array_equal(base.dense(), _base().dense())                                 # the base is unchanged
    assert Draft(strokes=(strokes[1],)).paint(MaskCrop.empty((60, 80))).pixels.size == 0   # nothing to erase


@pytest.mark.slow
def test_click_refine_brush_outside_the_crop_undo_redo_and_accept_stay_far_below_a_dense_mask(session):
    x, y = CLICK
    tracemalloc.start()
    session.add_point(x, y)
    prediction, shown = session.candidates
    assert shown == 1 and all(m.size == (SIDE, SIDE) for m in prediction.masks)
    assert session.draft_mask.pixels.shape == (121, 121)                      # the best disc, trimmed
    session.cycle_candidate()                                                   # next by score: radius 120
    assert session.draft_mask.pixels.shape == (241, 241)
    session.add_point(x + 10, y, True)                                          # refines on the same tile
    refining = session.requests[-1]
    assert refining.frame == prediction.frame and refining.mask_input is not None
    session.paint(Stroke(((x + 300.0, y), (x + 400.0, y)), 8.0))              # beyond the refined disc's crop
    assert session.draft_mask.box[2] > x + 408 and session.draft_mask.pixels.shape[1] < 600   # grown to hold it
    session.paint(Stroke(((x, y),), 5.0, erase=True))
    drafted = session.draft_mask
    session.undo()
    session.undo()
    assert session.draft_mask.box[2] <= x + 61                                  # the refined disc alone again
    session.redo()
    session.redo()
    assert np.array_equal(session.draft_mask.region(drafted.box), drafted.pixels)
    instance = session.accept()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < BOUND, f"{peak / 2**20:.0f} MiB at the peak"

    expected = _disc((1200, 1200), (100, 100), 60)              # the refining answer, radius 60, then the strokes
    Stroke(((400.0, 100.0), (500.0, 100.0)), 8.0).paint(expected)    # in the frame of (x - 100, y - 100)
    Stroke(((100.0, 100.0),), 5.0, erase=True).paint(expected)
    assert instance.rle["size"] == [SIDE, SIDE]
    assert _expected_at(_full(instance.rle), expected, (x - 100, y - 100))


@pytest.mark.slow
def test_a_proposal_becomes_the_draft_as_a_crop_and_is_accepted_linked(session):
    square = np.ones((300, 200), bool)
    rle = crop_to_rle(square, (15_000, 3_000), (SIDE, SIDE))
    session.project.proposals.replace_pending(session.image.id, [Proposed(rle, 0.8, 0.9, (15_100.0, 3_150.0))],
                                              "sam")
    proposal = session.proposals()[0]
    tracemalloc.start()
    session.edit_proposal(proposal.id)
    assert session.draft_mask.origin == (15_000, 3_000) and session.draft_mask.pixels.shape == (300, 200)
    session.paint(Stroke(((15_250.0, 3_100.0),), 10.0))                       # a dab just right of the square
    instance = session.accept()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < BOUND and instance.proposal_id == proposal.id
    expected = np.zeros((300, 261), bool)
    expected[:, :200] = True
    Stroke(((250.0, 100.0),), 10.0).paint(expected)
    assert _expected_at(_full(instance.rle), expected, (15_000, 3_000))
    session.undo()
    assert session.draft.proposal == proposal.id and session.proposals()[0].id == proposal.id
