"""Click placement: the interior point of the ground truth, then of the largest error region."""
import numpy as np
import pytest

from app.metrics.clicks import Click, first_click, interior_point, next_click


def rect(shape, top, left, height, width):
    mask = np.zeros(shape, bool)
    mask[top:top + height, left:left + width] = True
    return mask


@pytest.mark.parametrize("top, left, height, width", [(10, 20, 9, 9), (5, 3, 7, 21), (30, 12, 15, 5)])
def test_first_click_is_the_centre_of_a_rectangle(top, left, height, width):
    gt = rect((60, 50), top, left, height, width)
    assert first_click(gt) == Click(left + width // 2, top + height // 2, True)


def test_the_image_border_counts_as_boundary():
    # A rectangle touching the left border: without padding the border pixels would look interior and the
    # click would slide to x = 0; with it the click is in the middle of the 9 columns.
    gt = rect((40, 40), 10, 0, 9, 9)
    assert first_click(gt) == Click(4, 14, True)


def test_first_click_goes_to_the_thickest_part():
    gt = rect((80, 80), 5, 5, 5, 60) | rect((80, 80), 40, 30, 21, 21)   # a thin bar and a thick square
    assert first_click(gt) == Click(40, 50, True)


def test_interior_point_of_an_empty_region_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        interior_point(np.zeros((5, 5), bool))


def test_missed_part_gives_a_positive_click_inside_it():
    gt = rect((64, 64), 5, 5, 20, 20) | rect((64, 64), 40, 40, 11, 11)
    pred = rect((64, 64), 5, 5, 20, 20)                         # the small square is missed
    assert next_click(pred, gt) == Click(45, 45, True)


def test_false_positive_blob_gives_a_negative_click_inside_it():
    gt = rect((64, 64), 5, 5, 20, 20)
    pred = gt | rect((64, 64), 30, 40, 13, 13)                  # an extra blob outside the object
    assert next_click(pred, gt) == Click(46, 36, False)


def test_the_largest_error_region_wins():
    body, small, large = rect((64, 64), 5, 5, 20, 20), rect((64, 64), 50, 5, 7, 7), rect((64, 64), 40, 40, 15, 15)
    assert next_click(body | large, body | small) == Click(47, 47, False)    # 15x15 false positive > 7x7 miss
    assert next_click(body | small, body | large) == Click(47, 47, True)     # 15x15 miss > 7x7 false positive


def test_separate_regions_of_one_kind_are_not_merged():
    gt = np.zeros((40, 90), bool)
    pred = rect((40, 90), 5, 5, 9, 9) | rect((40, 90), 5, 30, 9, 9) | rect((40, 90), 20, 60, 11, 11)
    assert next_click(pred, gt) == Click(65, 25, False)        # the 11x11 blob, not the two 9x9 ones


def test_no_click_when_the_prediction_is_exact():
    gt = rect((30, 30), 3, 3, 10, 10)
    assert next_click(gt.copy(), gt) is None
