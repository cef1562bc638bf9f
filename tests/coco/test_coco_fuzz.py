"""200 malformed COCO files from a seeded fuzzer: each is refused with a CocoError naming the file, and the
project is left exactly as it was (same images, labels and instances)."""
import json
import random

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from app.coco.errors import CocoError
from app.coco.importer import import_coco
from app.store import InstanceSource, Project

SEED, CASES = 20240611, 200
IMAGES = {10: ("a.png", 30, 20), 11: ("sub/b.png", 30, 20), 12: ("c.png", 16, 12)}   # id: (file, w, h)


def box(w, h):
    mask = np.zeros((h, w), bool)
    mask[h // 4:h // 2 + 2, w // 4:w // 2 + 3] = True
    return mask


def compressed(mask):
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


def uncompressed(mask):
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    return np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()   # the box is not in pixel 0


def valid_coco() -> dict:
    """Three tiny images; compressed RLE, a polygon and uncompressed RLE. Imports cleanly (checked below)."""
    return {
        "images": [{"id": i, "file_name": f, "width": w, "height": h} for i, (f, w, h) in IMAGES.items()],
        "categories": [{"id": 1, "name": "cell", "color": "#00ff00"}, {"id": 2, "name": "debris"}],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 1, "bbox": [7, 5, 11, 7], "iscrowd": 0,
             "segmentation": {"size": [20, 30], "counts": compressed(box(30, 20))}},
            {"id": 2, "image_id": 11, "category_id": 2, "segmentation": [[14.0, 10.0, 22.0, 10.0, 22.0, 16.0]]},
            {"id": 3, "image_id": 12, "category_id": 1, "segmentation": {"size": [12, 16],
                                                                         "counts": uncompressed(box(16, 12))}},
        ],
    }


def dump(data) -> bytes:
    return json.dumps(data).encode()   # ASCII: NaN and lone surrogates are written as NaN and \udXXX


def put(value):
    """A mutation setting the value at a path picked from `paths`, to a value picked from `values`."""
    def mutate(data, rng, paths, values):
        *where, key = rng.choice(paths)
        target = data
        for step in where:
            target = target[step]
        target[key] = value(rng, target.get(key) if isinstance(target, dict) else target[key], values)
        return dump(data)
    return mutate


def delete(data, rng, paths, _):
    *where, key = rng.choice(paths)
    target = data
    for step in where:
        target = target[step]
    del target[key]
    return dump(data)


def text_level(data, rng, _, __):
    text = dump(data)
    cut = rng.randrange(len(text))
    return rng.choice([
        text[:cut],                                              # truncated: the closing brace is gone
        text[:cut] + rng.choice([b"\xff", b"\xc3(", b"\x80"]) + text[cut:],   # not UTF-8
        text + rng.choice([b"x", b"}", b"]", b" {}"]),            # extra data after the object
        text.decode().encode("utf-16"), b"", b"  \n",
        text.replace(b'"image_id": 11', b'"image_id": 1' + b"0" * 5000),   # an int Python will not read
        text.replace(b'"image_id": 12', b'"image_id": ' + b"[" * 100_000 + b"]" * 100_000),
    ])


ANNS, IMGS, CATS = range(3), range(3), range(2)
SEG_RLE = [("annotations", 0, "segmentation"), ("annotations", 2, "segmentation")]
PICK = lambda rng, old, values: rng.choice(values)  # noqa: E731
MUTATIONS = {   # name: (mutation, paths, values); every one gives a file that must be refused
    "required key deleted": (delete, [("images",), ("categories",)] + [("images", i, k) for i in IMGS for k in
                             ("id", "file_name")] + [("annotations", a, k) for a in ANNS for k in
                             ("image_id", "category_id", "segmentation")] + [("categories", c, k) for c in CATS
                             for k in ("id", "name")] + [p + (k,) for p in SEG_RLE for k in ("counts", "size")],
                             None),
    "entry deleted that is referred to": (delete, [("images", i) for i in IMGS] + [("categories", c) for c in CATS],
                                          None),
    "id retyped": (put(PICK), [("images", i, "id") for i in IMGS] + [("categories", c, "id") for c in CATS]
                   + [("annotations", a, k) for a in ANNS for k in ("image_id", "category_id")],
                   ["10", 10.5, 10.0, None, [10], {"id": 10}, True, float("nan"), float("inf"), "x" * 300,
                    list(range(3000))]),
    "unknown id referred to": (put(PICK), [("annotations", a, k) for a in ANNS for k in ("image_id", "category_id")],
                               [-1, 0, 13, 999, 2**70, -2**70]),
    "duplicate id": (put(lambda rng, old, values: {10: 11, 11: 12, 12: 10, 1: 2, 2: 1}[old]),
                     [("images", i, "id") for i in IMGS] + [("categories", c, "id") for c in CATS], None),
    "top-level list retyped": (put(PICK), [("images",), ("annotations",), ("categories",)],
                               [None, {}, "x", 5, True, 1.5, {"0": {}}]),
    "entry not an object": (put(PICK), [(k, i) for k in ("images", "annotations") for i in range(3)]
                            + [("categories", c) for c in CATS], [[1], "x", 5, None, True, [], 2.5]),
    "image size wrong": (put(lambda rng, old, values: rng.choice([old + rng.choice([-1, 1, 7, -9, 10**20]),
                                                                  str(old), None, [old], -1, 0, old + 0.5])),
                         [("images", i, k) for i in IMGS for k in ("width", "height")], None),
    "file_name wrong": (put(PICK), [("images", i, "file_name") for i in IMGS],
                        [None, 5, ["a.png"], {}, "", True, "missing.png", "../a.png", "/nonexistent/a.png",
                         "notes.txt", "sub", "fake.png", ".mopeft/project.db", "a\x00.png", "x" * 300 + ".png",
                         "a\ud800.png"]),
    "category name wrong": (put(PICK), [("categories", c, "name") for c in CATS],
                            ["", "   ", None, 5, ["cell"], {}, "c\ud800"]),
    "segmentation retyped": (put(PICK), [("annotations", a, "segmentation") for a in ANNS],
                             [None, 5, "abc", True, {}, [], 1.5, [[]], [None]]),
    "RLE size wrong": (put(PICK), [p + ("size",) for p in SEG_RLE],
                       [None, "20x30", [20], [20, 30, 1], [20.0, 30.0], {}, [True, 30], [-20, -30], [10**20, 30],
                        [21, 30], [12, 17], [30, 20], [16, 12]]),
    "RLE counts retyped": (put(PICK), [p + ("counts",) for p in SEG_RLE], [None, 5, True, {}, 1.5, [], ""]),
    "compressed counts broken": (put(lambda rng, old, values: rng.choice([
        old[:rng.randrange(len(old))],                                      # cut short
        old + rng.choice("PQRSXYZ^_`ao"),                                 # ends mid-number
        _insert(rng, old, rng.choice(" !\"#$%&'()*+,-./pqrsxyz{|}~é")),  # a character outside '0'..'o'
        _insert(rng, old, "PPPPPPP0"),                                    # a number too large for a run
        compressed(box(10, 10)), compressed(np.zeros((20, 30), bool))])),   # wrong pixel count; no pixel
        [("annotations", 0, "segmentation", "counts")], None),
    "uncompressed counts broken": (put(lambda rng, old, values: rng.choice([
        _replace(rng, old, rng.choice([-1, -old[1], 1.5, 2.0, "3", None, [1], True, 10**30, -10**30])),
        _shift(rng, old, rng.choice([-3, -1, 1, 2, 50])), old[:-1], old + [rng.randint(1, 9)],
        [2**62] * 4 + [192], [192], [192 + 2**64], [0, 192, 0, 0, 2**32]])),
        [("annotations", 2, "segmentation", "counts")], None),
    "polygon broken": (put(lambda rng, old, values: rng.choice([
        [old[0][:-1]], [old[0] + [3.0]], [old[0][:4]], [[]], [old[0], old[0][:5]], [5], ["abc"], [{}], [],
        [_replace(rng, old[0], rng.choice([float("nan"), float("inf"), -float("inf"), "3", None, True, [3]]))],
        [_replace(rng, old[0], rng.choice([1e308, -1e12, 1e9, 4e8, 1e7]))],  # far outside the image
        [[100.0, 100.0, 120.0, 100.0, 120.0, 120.0]]])),                    # outside: covers no pixel
        [("annotations", 1, "segmentation")], None),
    "text level": (text_level, None, None),
}


def _insert(rng, text, extra):
    at = rng.randrange(len(text) + 1)
    return text[:at] + extra + text[at:]


def _shift(rng, values, delta):
    values = list(values)
    values[rng.randrange(len(values))] += delta
    return values


def _replace(rng, values, new):
    values = list(values)
    values[rng.randrange(len(values))] = new
    return values


def malformed_files(seed=SEED, n=CASES):
    """(mutation name, file content) of `n` malformed files, the same ones on every run."""
    rng = random.Random(seed)
    names = sorted(MUTATIONS)
    for _ in range(n):
        name = rng.choice(names)
        mutate, paths, values = MUTATIONS[name]
        yield name, mutate(valid_coco(), rng, paths, values)


@pytest.fixture
def project(tmp_path):
    """A project with a label, a registered image and an instance on it, beside the images the files name."""
    for name, w, h in IMAGES.values():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / name), np.full((h, w), len(name), np.uint8))
    (tmp_path / "fake.png").write_text("not a picture")
    (tmp_path / "notes.txt").write_text("not a picture either")
    with Project.open(tmp_path, create=True) as project:
        image = project.images.add("a.png")
        mask = np.zeros((20, 30), bool)
        mask[1:4, 1:9] = True
        project.instances.add(image.id, project.labels.add("kept").id, mask, InstanceSource.CORRECTED)
        yield project


def contents(project):
    images = project.images.list()
    return images, project.labels.list(), [project.instances.for_image(image.id) for image in images]


@pytest.mark.slow
def test_every_malformed_file_is_refused_clearly_and_imports_nothing(project):
    before, failures, seen = contents(project), [], set()
    for n, (name, content) in enumerate(malformed_files()):
        seen.add(name)
        path = project.folder / f"fuzz{n:03d}.json"
        path.write_bytes(content)
        case = f"{path.name} ({name})"
        try:
            import_coco(project, path)
            failures.append(f"{case}: imported without error")
        except CocoError as exc:
            message = str(exc)
            if not message.startswith(f"{path}: ") or len(message) > len(str(path)) + 600:
                failures.append(f"{case}: unclear message {message[:300]!r}... ({len(message)} characters)")
        except Exception as exc:  # noqa: BLE001 - any other kind is the bug this test looks for
            failures.append(f"{case}: {type(exc).__name__}: {str(exc)[:200]}")
        if contents(project) != before:
            failures.append(f"{case}: the project changed")
            break
    assert not failures, f"{len(failures)} of {CASES} malformed files:\n" + "\n".join(failures)
    assert seen == set(MUTATIONS)
    good = project.folder / "good.json"
    good.write_bytes(dump(valid_coco()))
    assert import_coco(project, good).annotations_added == 3   # the files were malformed only by the mutation


HUGE = list(range(3000))
REGRESSIONS = {   # before the fixes each crashed the import (or the process), or gave a 30 000-character message
    "uncompressed run > int64": [("annotations", 2, "segmentation", "counts", [10**30, 192])],
    "uncompressed runs > uint32": [("annotations", 2, "segmentation", "counts", [2**62] * 4 + [192])],
    "polygon point at 1e9 (segfault)": [("annotations", 1, "segmentation", [[0.0, 0.0, 1e9, 0.0, 0.0, 1e9]])],
    "polygon point at 4e8 (segfault)": [("annotations", 1, "segmentation", [[0.0, 0.0, 4e8, 0.0, 0.0, 4e8]])],
    "polygon point at 1e7 (1.2 GB)": [("annotations", 1, "segmentation", [[0.0, 0.0, 1e7, 0.0, 0.0, 1e7]])],
    "lone surrogate file_name": [("images", 0, "file_name", "a\ud800.png")],
    "lone surrogate category": [("categories", 0, "name", "c\ud800")],
    "huge image_id": [("annotations", 0, "image_id", HUGE)],
    "huge ids": [("annotations", 0, "id", HUGE), ("annotations", 0, "category_id", HUGE)],
    "huge RLE size": [("annotations", 0, "segmentation", "size", HUGE)],
}


@pytest.mark.parametrize("case", REGRESSIONS)
def test_files_that_crashed_the_import_are_refused(project, case):
    data = valid_coco()
    for *where, key, value in REGRESSIONS[case]:
        target = data
        for step in where:
            target = target[step]
        target[key] = value
    path = project.folder / "bad.json"
    path.write_bytes(dump(data))
    before = contents(project)
    with pytest.raises(CocoError) as raised:
        import_coco(project, path)
    assert str(raised.value).startswith(f"{path}: ") and len(str(raised.value)) < len(str(path)) + 200
    assert contents(project) == before
