"""What the window shows for files from outside: a checkpoint that would run code is named without PyTorch's advice
to turn the safety check off, and a 5-channel TIFF shows its first three channels in colour."""
import pytest
import os

import numpy as np
import tifffile
import torch
from PySide6.QtWidgets import QFileDialog

from window_helpers import wait_ready



class _WritesMarker:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.slow
def test_a_checkpoint_that_would_run_code_is_named_without_unsafe_advice(qtbot, make_window, tmp_path, monkeypatch):
    images = tmp_path / "images"
    images.mkdir()
    tifffile.imwrite(images / "a.tif", np.zeros((32, 32), np.uint8))
    window = make_window(images)
    marker, evil = tmp_path / "ran", tmp_path / "evil.pth"
    torch.save({"image_encoder.pos_embed": _WritesMarker(marker)}, evil)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(evil), "")))
    window.menus["&Model"].actions()[0].trigger()  # Model > Load a SAM checkpoint
    qtbot.waitUntil(lambda: any(str(evil) in text for _, text in window.notices.history), timeout=20000)
    text = window.notices.bar.text.text()
    assert str(evil) in text and "Python objects" in text
    assert "weights_only" not in text and "trusted source" not in text
    assert not marker.exists()
    wait_ready(qtbot, window)  # the demo model goes on


@pytest.mark.slow
def test_a_five_channel_tiff_shows_its_first_three_channels_in_colour(qtbot, make_window, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    channels = np.zeros((5, 40, 60), np.uint16)
    channels[0, :, :20], channels[1, :, 20:40], channels[2, :, 40:] = 60000, 60000, 60000  # red, green, blue bands
    channels[3:] = 30000
    tifffile.imwrite(images / "five.tif", channels)  # 5 pages, no axes recorded, as tifffile writes by default
    window = make_window(images)
    wait_ready(qtbot, window)
    shown = window.canvas.layers.image.pixmap().toImage()
    colours = [shown.pixelColor(x, 20) for x in (10, 30, 50)]
    assert [(c.red(), c.green(), c.blue()) for c in colours] == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
