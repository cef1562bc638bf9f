"""ProposalShapes: the smallest proposal under a pixel, outlines computed once or handed in, masks read again after
their image was left."""
import numpy as np

from app.annotate.proposal_shapes import ProposalShapes, outlines_of
from app.store import Proposal, ProposalState
from app.store.masks import mask_to_rle, rle_area, rle_bbox


def proposal(pid, top, left, side):
    mask = np.zeros((40, 50), bool)
    mask[top:top + side, left:left + side] = True
    rle = mask_to_rle(mask)
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
    (ring,) = shapes.outlines(square)
    assert ring.min(axis=0).tolist() == [5, 5] and ring.max(axis=0).tolist() == [14, 14]
    shapes.add_outlines({2: outlines_of(proposal(2, 0, 0, 3))})
    assert shapes.outlines(proposal(2, 20, 20, 5))[0].max() == 2   # handed in: not computed again
    assert shapes.at([square], 6, 6) == square
    shapes.keep([])   # its image left: the mask is read again when needed
    assert shapes.at([square], 6, 6) == square and shapes.at([square], 4, 6) is None
