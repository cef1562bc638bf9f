"""Per-image claims on both backends: taken, renewed and released by their annotator, refused to another while
live, free again after the timeout; on PostgreSQL two clients racing for one image never
both get it."""
from datetime import timedelta

import pytest
from PIL import Image as PILImage

from app.store.claims import ANNOTATOR_ENV, ClaimedError, annotator_name
from races import at_once


@pytest.fixture
def project(backend, tmp_path):
    for name in ("a.png", "b.png"):
        PILImage.new("RGB", (32, 24)).save(tmp_path / name)
    with backend.open(tmp_path, create=True) as project:
        project.images.scan()
        yield project


def image_ids(project):
    return [image.id for image in project.images.list()]


def test_a_claim_is_one_annotators_until_released(project):
    a, b = image_ids(project)
    mine = project.claims.claim(a, "ana@lab")
    assert (mine.image_id, mine.annotator) == (a, "ana@lab")
    with pytest.raises(ClaimedError, match="ana@lab is working on this image") as refused:
        project.claims.claim(a, "ben@lab")
    assert refused.value.claim.annotator == "ana@lab"
    again = project.claims.claim(a, "ana@lab")   # one's own claim is renewed, its start kept
    assert again.claimed_at == mine.claimed_at and again.renewed_at >= mine.renewed_at
    project.claims.claim(b, "ben@lab")
    assert {i: c.annotator for i, c in project.claims.live().items()} == {a: "ana@lab", b: "ben@lab"}
    assert project.claims.renew("ana@lab") == 1
    project.claims.release("ana@lab", a)
    assert project.claims.of_image(a) is None and project.claims.claim(a, "ben@lab").annotator == "ben@lab"
    project.claims.release("ben@lab")
    assert project.claims.live() == {}


def test_a_claim_not_renewed_times_out(project):
    a, _ = image_ids(project)
    project.claims.claim(a, "ana@lab")
    project.claims.timeout = timedelta(seconds=-1)   # as if ana's window had died long ago (no clock tie)
    assert project.claims.of_image(a) is None and project.claims.live() == {}
    assert project.claims.claim(a, "ben@lab").annotator == "ben@lab"
    project.claims.timeout = timedelta(minutes=5)
    with pytest.raises(ClaimedError):
        project.claims.claim(a, "ana@lab")


def test_the_annotator_is_named_by_the_environment_or_user_and_host(monkeypatch):
    monkeypatch.setenv(ANNOTATOR_ENV, "ana")
    assert annotator_name() == "ana"
    monkeypatch.delenv(ANNOTATOR_ENV)
    assert "@" in annotator_name()


def test_two_clients_racing_for_an_image_never_both_get_it(backend, project, tmp_path):
    if backend.sqlite:
        pytest.skip("one writer at a time on SQLite: the race is a PostgreSQL one")
    a, _ = image_ids(project)

    def claim(n, client):
        try:
            client.claims.claim(a, f"annotator-{n}")
            return n
        except ClaimedError:
            return None

    won = at_once([backend.open(tmp_path) for _ in range(4)], claim)
    assert len(won) == 1 and project.claims.of_image(a).annotator == f"annotator-{won[0]}"
