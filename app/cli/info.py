"""`mopeft info`: versions of the stack and the device that would be used."""
from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ["torchvision", "segment-anything", "PySide6-Essentials", "numpy",
            "opencv-python-headless", "pycocotools", "pyqtgraph", "safetensors", "platformdirs", "tifffile"]


def register(sub) -> None:
    p = sub.add_parser("info", help="print versions and the compute device chosen, and why")
    p.set_defaults(run=run)


def run(args) -> int:
    import app
    from app.device import choose_device

    print(f"mopeft-annotator {app.__version__}")
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
    return 0
