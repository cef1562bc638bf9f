"""Take the README and user-guide screenshots from the real app on the demo project and the shipped demo model.

    xvfb-run -s "-screen 0 1600x1000x24" python docs/screenshots/take_screenshots.py

Runs the window as `python main.py` does (fresh per-user folders in a temporary directory), clicks objects of
the cells samples and accepts them, adds the samples' ground truth of a few more images as if corrected by hand,
fine-tunes, and saves annotating.png and fine-tuning.png next to this script.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.annotate.model_choice import ModelChoice, load_model  # noqa: E402
from app.metrics.clicks import interior_point  # noqa: E402
from app.resources import SAMPLES_DIR  # noqa: E402
from app.store.masks import rle_to_mask  # noqa: E402
from app.store.records import InstanceSource  # noqa: E402
from app.coco.segmentation import segmentation_to_rle  # noqa: E402
from app.ui.app_paths import AppPaths  # noqa: E402
from app.ui.gui_gc import collect_on_gui_thread  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).resolve().parent


def wait(condition, timeout=120.0) -> None:
    """Pump events until `condition()` holds."""
    end = time.monotonic() + timeout
    while not condition():
        QApplication.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there in time")


def ground_truth() -> dict[str, list[np.ndarray]]:
    """The samples' ground-truth masks by file name."""
    data = json.loads((SAMPLES_DIR / "annotations.json").read_text())
    names = {im["id"]: (im["file_name"], im["height"], im["width"]) for im in data["images"]}
    masks: dict[str, list[np.ndarray]] = {}
    for ann in data["annotations"]:
        name, h, w = names[ann["image_id"]]
        masks.setdefault(Path(name).name, []).append(rle_to_mask(segmentation_to_rle(ann["segmentation"], h, w)))
    return masks


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with collect_on_gui_thread():  # as the app does
        take_screenshots()
    del app
    return 0


def take_screenshots() -> None:
    """Annotate, fine-tune and save the two screenshots."""
    tmp = Path(tempfile.mkdtemp(prefix="mopeft-shots-"))
    window = MainWindow(AppPaths(tmp / "config", tmp / "data", tmp / "cache"), lambda: load_model(ModelChoice()))
    window.resize(1560, 960)
    window.show()
    window.open_demo()
    session = window.session
    ready = lambda: window.canvas.has_image and window.status.embedding.text().startswith("Embedding ready")  # noqa: E731
    truth = ground_truth()
    by_name = {Path(image.path).name: image for image in session.images()}

    def open_image(name):
        session.open_image(by_name[name].id)
        wait(ready)

    def click(x, y, button=Qt.MouseButton.LeftButton):
        point = window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
        QTest.mouseClick(window.canvas.viewport(), button, pos=point)
        wait(lambda: session.candidates is not None and not session.pending)

    cells = sorted((n for n in truth if n.startswith("cells")), key=lambda n: -len(truth[n]))
    for name in cells[1:]:  # the other cell images, as if annotated and corrected earlier
        open_image(name)
        for mask in truth[name]:
            session.project.instances.add(by_name[name].id, session.labels.current.id, mask, InstanceSource.CORRECTED)
    open_image(cells[0])
    for mask in truth[cells[0]][:4]:  # click four cells and accept SAM's masks
        click(*interior_point(mask))
        window.actions["accept"].trigger()  # what Enter does (no window manager here to give the keyboard focus)
    click(*interior_point(truth[cells[0]][4]))  # a fifth is still a draft
    window.image_dock.refresh()
    QApplication.processEvents()
    window.grab().save(str(OUT / "annotating.png"))

    window.training_dock.form.steps.setValue(120)
    ended = []
    window.training.ended.connect(ended.append)
    window.training.start()
    wait(lambda: bool(ended), timeout=1800)
    wait(lambda: window.model.adapter is not None)
    wait(ready)
    time.sleep(0.5)
    QApplication.processEvents()
    window.grab().save(str(OUT / "fine-tuning.png"))
    print(window.training_dock.summary.text())
    window.shutdown()


if __name__ == "__main__":
    sys.exit(main())
