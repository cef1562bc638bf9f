"""One atomic-write helper: every file the app writes appears whole under its name, or is left as it was."""
import errno
from pathlib import Path

import pytest
import torch

from app.atomic_file import atomic_output
from app.training.pretrain.run import save_state_dict


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(path) as f:
        f.write("half")
        raise RuntimeError("stopped")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_full_disk_while_saving_a_model_keeps_the_model_saved_before(tmp_path, monkeypatch):
    path = save_state_dict(torch.nn.Linear(2, 2), tmp_path / "sam_demo.pth")
    before = path.read_bytes()

    def disk_fills(obj, f):
        (open(f, "wb") if isinstance(f, (str, Path)) else f).write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_fills)
    with pytest.raises(OSError) as full:
        save_state_dict(torch.nn.Linear(2, 2), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["sam_demo.pth"]
    assert str(path) in str(full.value)
