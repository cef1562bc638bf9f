"""`mopeft info`: versions of the stack, the device and precision that would be used and why, and the folder
checkpoints go in."""
from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ["torchvision", "segment-anything", "transformers", "PySide6-Essentials", "numpy",
            "opencv-python-headless", "pycocotools", "pyqtgraph", "safetensors", "platformdirs", "tifffile"]


def register(sub) -> None:
    p = sub.add_parser("info", help="print versions, the compute device chosen and why, and the checkpoint folder")
    p.set_defaults(run=run)


def run(args) -> int:
    import app
    from app.app_env import APP_NAME
    from app.device import choose_device, choose_precision

    print(f"{APP_NAME} {app.__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    import torch

    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
    print(f"  {'torch':24s} {torch.__version__} ({build} build)")
    for name in PACKAGES:
        try:
            v = version(name)
        except PackageNotFoundError:
            v = "not installed"
        print(f"  {name:24s} {v}")
    choice = choose_device()
    print(f"device: {choice.device}  ({choice.reason})")
    try:
        precision = choose_precision(choice.device)
        print(f"precision: {precision.name}  ({precision.reason})")
    except ValueError as exc:
        print(f"precision: cannot be used: {exc}")
    _print_checkpoints()
    return 0


def _print_checkpoints() -> None:
    """The folder downloaded or copied checkpoints go in, and which official ones are there."""
    from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS, checkpoint_dir

    print(f"checkpoint folder: {checkpoint_dir()}  (copy checkpoint files here, or set {CHECKPOINT_DIR_ENV})")
    for family, title, widths in (("sam", "SAM 1", (8, 24)), ("sam2", "SAM 2.1", (15, 25))):
        print(f" {title}:")
        for info in CHECKPOINTS.values():
            if info.url and info.family == family:
                print(f"  {info.name:{widths[0]}s} {info.filename:{widths[1]}s} {_state(info)}")


def _state(info) -> str:
    """Whether a registered file is in the folder, and how to get it when it is not."""
    if info.path.is_file():
        return "present"
    if info.sha256 is None:
        return f"not there (its sha256 is not pinned yet: `mopeft download {info.name}` says how to fetch it)"
    return f"not there (mopeft download {info.name})"
