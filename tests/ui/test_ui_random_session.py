"""A scripted session of 1,000 random actions on a 50-image project: at the end the database matches what the window
shows, and undoing everything on every image empties it while redoing everything brings back the same instances."""
import sqlite3

import numpy as np
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import Qt

from app.store import Project
from window_helpers import click, drag, key, wait_ready

IMAGES = 50
ACTIONS = 1000
W, H = 96, 72
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def fifty(tmp_path):
    """50 small images of random discs, with three labels."""
    folder = tmp_path / "fifty"
    folder.mkdir()
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:H, :W]
    for i in range(IMAGES):
        image = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
        for _ in range(3):
            cx, cy, r = rng.integers(10, W - 10), rng.integers(10, H - 10), rng.integers(5, 14)
            image[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.integers(120, 255, 3)
        PILImage.fromarray(image).save(folder / f"img{i:02d}.png")
    with Project.open(folder, create=True) as project:
        project.images.scan()
        for name in ("cell", "debris", "nucleus"):
            project.labels.add(name)
    return folder


def _point(rng):
    return int(rng.integers(0, W)), int(rng.integers(0, H))


def _object_point(window, rng):
    """A random pixel of one of the current image's discs (they are the bright pixels)."""
    pixels = np.asarray(PILImage.open(window.session.project.path_of(window.session.image.path)))
    ys, xs = np.nonzero(pixels.max(axis=2) >= 120)
    k = int(rng.integers(0, len(ys)))
    return int(xs[k]), int(ys[k])


def _settle(qtbot, window):
    """Wait as a person would see it: the current image is on screen and SAM has answered."""
    qtbot.waitUntil(lambda: window.canvas.has_image and not window.session.pending, timeout=15000)


def _delete_random(qtbot, window, rng):
    rows = window.instance_dock.list
    if rows.count():
        rows.setCurrentRow(int(rng.integers(0, rows.count())))
        key(qtbot, window, Qt.Key.Key_Delete)


def _relabel_random(qtbot, window, rng):
    rows = window.instance_dock.list
    if rows.count():
        rows.setCurrentRow(int(rng.integers(0, rows.count())))
        key(qtbot, window, getattr(Qt.Key, f"Key_{int(rng.integers(1, 4))}"))
        key(qtbot, window, Qt.Key.Key_R)


def _brush(qtbot, window, rng):
    tool = Qt.Key.Key_B if rng.random() < 0.7 else Qt.Key.Key_E
    key(qtbot, window, tool)
    drag(window, [_point(rng), _point(rng)])
    key(qtbot, window, tool)  # the same key again: back to prompts


def _click_and_accept(qtbot, window, rng):
    click(qtbot, window, *_object_point(window, rng))
    _settle(qtbot, window)
    key(qtbot, window, Qt.Key.Key_Return)


ACTION_TABLE = [
    (6, "positive click", lambda q, w, r: click(q, w, *_point(r))),
    (6, "positive click on an object", lambda q, w, r: click(q, w, *_object_point(w, r))),
    (10, "click and accept", _click_and_accept),
    (5, "negative click", lambda q, w, r: click(q, w, *_point(r), Qt.MouseButton.RightButton)),
    (5, "box", lambda q, w, r: drag(w, [_point(r), _point(r)])),
    (6, "brush or eraser stroke", _brush),
    (14, "accept", lambda q, w, r: key(q, w, Qt.Key.Key_Return)),
    (6, "undo", lambda q, w, r: key(q, w, Qt.Key.Key_Z, CTRL)),
    (5, "redo", lambda q, w, r: key(q, w, Qt.Key.Key_Z, CTRL | SHIFT)),
    (3, "clear prompts", lambda q, w, r: key(q, w, Qt.Key.Key_Escape)),
    (2, "next candidate", lambda q, w, r: key(q, w, Qt.Key.Key_Tab)),
    (5, "next image", lambda q, w, r: key(q, w, Qt.Key.Key_D)),
    (4, "previous image", lambda q, w, r: key(q, w, Qt.Key.Key_A)),
    (3, "delete an instance", _delete_random),
    (3, "relabel an instance", _relabel_random),
    (2, "mark done", lambda q, w, r: key(q, w, Qt.Key.Key_D, CTRL)),
    (2, "pick a label", lambda q, w, r: key(q, w, getattr(Qt.Key, f"Key_{int(r.integers(1, 4))}"))),
]


def _stored(project):
    """Every instance as (image id, label id, mask bytes), as a sorted list (ids may change on redo)."""
    return sorted((i.image_id, i.label_id, i.mask.tobytes()) for image in project.images.list()
                  for i in project.instances.for_image(image.id))


def _rows_match_the_database(window):
    project = window.session.project
    counts = project.instances.counts_per_image()
    tree = window.image_dock.tree
    for row in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(row)
        image = project.images.find(item.text(0))
        assert int(item.text(2)) == counts.get(image.id, 0), item.text(0)
    shown = [window.instance_dock.list.item(i).data(Qt.ItemDataRole.UserRole)
             for i in range(window.instance_dock.list.count())]
    assert shown == [i.id for i in project.instances.for_image(window.session.image.id)]


@pytest.mark.slow
def test_a_thousand_random_actions_leave_the_database_as_the_window_shows_it(qtbot, make_window, fifty):
    window = make_window(fifty)  # the shipped demo model, as the app runs by default
    rng = np.random.default_rng(1234)
    weights = np.array([w for w, _, _ in ACTION_TABLE], dtype=float)
    done = []
    for _ in range(ACTIONS):
        weight, name, act = ACTION_TABLE[rng.choice(len(ACTION_TABLE), p=weights / weights.sum())]
        act(qtbot, window, rng)
        _settle(qtbot, window)
        done.append(name)
    wait_ready(qtbot, window)
    project = window.session.project
    stored = sum(project.instances.counts_per_image().values())
    assert stored >= 20, f"the random session stored only {stored} instances"
    _rows_match_the_database(window)
    with sqlite3.connect(project.folder / ".mopeft" / "project.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    before = _stored(project)
    visited = sorted({image.id for image in project.images.list()})
    for image_id in visited:  # undo everything, image by image
        window.session.open_image(image_id)
        while window.actions["undo"].isEnabled():
            key(qtbot, window, Qt.Key.Key_Z, CTRL)
            _settle(qtbot, window)
    assert _stored(project) == [], "every instance was made in this session, so undoing all removes all"
    for image_id in visited:  # and redo everything
        window.session.open_image(image_id)
        while window.actions["redo"].isEnabled():
            key(qtbot, window, Qt.Key.Key_Z, CTRL | SHIFT)
            _settle(qtbot, window)
    assert _stored(project) == before
    _rows_match_the_database(window)
    print(f"{stored} instances on {len(visited)} images;", {name: done.count(name) for _, name, _ in ACTION_TABLE})
