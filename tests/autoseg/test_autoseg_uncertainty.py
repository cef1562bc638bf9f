"""The uncertainty scores of an image from its proposals: higher for doubtful or few proposals, 1 for none."""
from dataclasses import dataclass

import pytest

from app.autoseg.uncertainty import DEFAULT_SCORE, SCORES, area_doubt, image_uncertainty, mean_doubt, scarcity


@dataclass(frozen=True)
class P:
    predicted_iou: float
    stability: float
    area: int


SURE = [P(0.99, 0.99, 100), P(0.98, 0.99, 120)]
DOUBTFUL = [P(0.89, 0.95, 100), P(0.90, 0.96, 120)]


@pytest.mark.parametrize("name", sorted(SCORES))
def test_no_proposal_is_the_most_uncertain(name):
    score = SCORES[name]
    assert score([]) == 1.0
    assert all(0 <= score(ps) < 1 for ps in (SURE, DOUBTFUL))


def test_doubtful_proposals_score_higher_than_sure_ones():
    assert mean_doubt(DOUBTFUL) > mean_doubt(SURE)
    assert area_doubt(DOUBTFUL) > area_doubt(SURE)
    assert mean_doubt([P(0.9, 1.0, 1)]) == pytest.approx(0.1)
    assert mean_doubt([P(0.9, float("nan"), 1), P(1.0, 1.0, 1)]) == pytest.approx(0.5)   # unstable: full doubt


def test_area_doubt_weights_by_area_and_scarcity_counts():
    big_doubtful = [P(0.5, 1.0, 900), P(1.0, 1.0, 100)]
    assert area_doubt(big_doubtful) == pytest.approx(0.45)
    assert mean_doubt(big_doubtful) == pytest.approx(0.25)
    assert scarcity(SURE) == pytest.approx(1 / 3) and scarcity(SURE * 3) < scarcity(SURE)


def test_image_uncertainty_is_the_default_score():
    assert image_uncertainty(DOUBTFUL) == SCORES[DEFAULT_SCORE](DOUBTFUL)
