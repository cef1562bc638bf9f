"""Start the annotator: `python main.py [--project FOLDER] [--checkpoint PATH | --model NAME] [--device DEV]
[--precision P]`."""
from __future__ import annotations

import argparse
import sys
from functools import partial

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.annotate.model_choice import ModelChoice, load_model
from app.app_env import APP_NAME
from app.device import PRECISIONS
from app.memory import release_free_memory, running_tuned, use_tuned_malloc
from app.resources import ICON
from app.ui.app_paths import AppPaths
from app.ui.gui_gc import collect_on_gui_thread, freeze_startup_objects
from app.ui.main_window import MainWindow


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; with no arguments the demo project opens on the demo model."""
    parser = argparse.ArgumentParser(prog=APP_NAME, description="Annotate images with SAM.")
    parser.add_argument("--project", metavar="FOLDER|URL", help="folder of images to open (its project is created "
                        "on first use), or a shared project's postgresql:// URL; default: the demo project")
    parser.add_argument("--images-root", metavar="FOLDER", help="where a new shared project's images are (one "
                        "already made records it, or maps it per machine)")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--checkpoint", metavar="PATH", help="SAM 1 or SAM 2.1 checkpoint file to load")
    model.add_argument("--model", metavar="NAME", help="registered model: demo, vit_b, vit_l, vit_h, sam2.1_hiera_t, "
                                                      "sam2.1_hiera_s, sam2.1_hiera_b+, sam2.1_hiera_l")
    parser.add_argument("--device", choices=("cuda", "mps", "cpu"), help="default: CUDA, then MPS, else CPU")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="SAM's precision for this run: auto (bf16 on GPUs that have it), fp32 or bf16; "
                             "default: the Model > Precision setting")
    parser.add_argument("--follow-links", action="store_true", help="also add images that symbolic links in the "
                                                                     "project folder point to outside it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the annotator until its window is closed."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    qt_app.setApplicationName("MoPEFT Annotator")
    qt_app.setDesktopFileName(APP_NAME)
    qt_app.setWindowIcon(QIcon(str(ICON)))
    choice = ModelChoice(checkpoint=args.checkpoint, model=args.model, device=args.device)
    window = MainWindow(AppPaths.default(), partial(load_model, choice), device=args.device, precision=args.precision)
    window.follow_links = args.follow_links
    trim = QTimer(interval=60_000, timeout=release_free_memory)  # the tuned heap keeps what jobs free
    if running_tuned():
        trim.start()
    freeze_startup_objects()
    with collect_on_gui_thread():
        window.show()
        if args.project:
            window.open_project(args.project, args.images_root)
        else:
            window.open_demo()
        return qt_app.exec()


def script() -> None:
    """The `mopeft-annotator` script and `python main.py`: `main` with the tuned malloc settings (app.memory)."""
    use_tuned_malloc()
    sys.exit(main())
