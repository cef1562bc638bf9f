"""ProposalShapes: the smallest proposal under a pixel, outlines computed once or handed in, masks read again after
their image was left; ragged masks outlined by their edge pixels."""
import cv2
import numpy as np

from app.annotate.proposal_shapes import RAGGED_POINTS, ProposalShapes, edge_image, outline_of, outlines_of
from app.store import Proposal, ProposalState
from app.store.masks import mask_to_rle, rle_area, rle_bbox


def proposal(pid, top, left, side):
    mask = np.zeros((40, 50), bool)
    mask[top:top + side, left:left + side] = True
    return proposal_of(pid, mask)


def proposal_of(pid, mask):
    rle = mask_to_rle(mask)
    left, top = rle_bbox(rle)[:2]
    return Proposal(pid, 1, rle, rle_area(rle), tuple(rle_bbox(rle)), 0.9, 0.95, (left, top), "demo", None,
                    ProposalState.PENDING, "", None, False)


def test_the_smallest_proposal_under_a_pixel():
    big, small, apart = proposal(1, 0, 0, 30), proposal(2, 5, 5, 10), proposal(3, 30, 40, 8)
    shapes = ProposalShapes()
    assert shapes.at([big, small, apart], 8, 8) == small
    assert shapes.at([big, small, apart], 25.5, 2.2) == big
    assert shapes.at([big, small, apart], 35, 10) is None and shapes.at([], 8, 8) is None


def test_outlines_once_handed_in_and_masks_forgotten():
    square = proposal(1, 5, 5, 10)
    shapes = ProposalShapes()
    (ring,) = shapes.outline(square).polygons
    assert ring.min(axis=0).tolist() == [5, 5] and ring.max(axis=0).tolist() == [14, 14]
    assert shapes.outline(square).edge is None
    shapes.add_outlines({2: outlines_of(proposal(2, 0, 0, 3))})
    assert shapes.outline(proposal(2, 20, 20, 5)).polygons[0].max() == 2   # handed in: not computed again
    assert shapes.at([square], 6, 6) == square
    shapes.keep([])   # its image left: the mask is read again when needed
    assert shapes.at([square], 6, 6) == square and shapes.at([square], 4, 6) is None


def ragged_mask(seed=0, shape=(300, 400)):
    """Thresholded noise, like a random-weight model's proposal: thousands of specks."""
    return np.random.default_rng(seed).random(shape) > 0.6


def test_a_ragged_mask_is_outlined_by_its_edge_pixels():
    mask = ragged_mask()
    assert sum(len(p) for p in outline_of(mask).polygons) == 0
    ragged = outlines_of(proposal_of(1, mask))
    x, y = ragged.origin
    h, w = ragged.edge.shape
    full = np.zeros_like(mask)
    full[y:y + h, x:x + w] = ragged.edge
    # reference: the mask minus its erosion by a 4-neighbour cross, the outside of the image counting as background
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    eroded = cv2.erode(mask.view(np.uint8), cross, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    np.testing.assert_array_equal(full, mask & ~eroded)
    smooth = np.zeros((300, 400), bool)
    smooth[50:250, 60:300] = True
    assert outline_of(smooth).edge is None and 0 < sum(map(len, outline_of(smooth).polygons)) <= RAGGED_POINTS


def test_edge_image_joins_the_ragged_outlines_and_leaves_the_smooth_ones():
    a, b = np.zeros((300, 400), bool), np.zeros((300, 400), bool)
    a[10:110, 20:220] = ragged_mask(1, (100, 200))
    b[150:290, 250:390] = ragged_mask(2, (140, 140))
    smooth = outline_of(np.pad(np.ones((5, 5), bool), 3))
    outlines = [outlines_of(proposal_of(1, a)), outlines_of(proposal_of(2, b)), smooth]
    pixels, (x, y) = edge_image(outlines, "#ffffff", 170)
    drawn = np.zeros((300, 400), bool)
    drawn[y:y + pixels.shape[0], x:x + pixels.shape[1]] = pixels[..., 3] == 170
    expected = np.zeros((300, 400), bool)
    for o in outlines[:2]:
        (h, w), (ox, oy) = o.edge.shape, o.origin
        expected[oy:oy + h, ox:ox + w] |= o.edge
    np.testing.assert_array_equal(drawn, expected)
    assert edge_image([smooth], "#ffffff", 170) is None
