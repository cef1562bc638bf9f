"""Opening a project never aborts: what it finds on disk is cleaned up, diagnosed or reported, never fatal."""
import os

import pytest

from app.mopeft import MoPEFTConfig, save_adapter, wrap
from app.sam.variants import build_sam
from app.store import Project


def test_temporary_files_of_an_interrupted_adapter_save_are_removed_at_open(tmp_path, monkeypatch):
    with Project.open(tmp_path, create=True) as project:
        adapters = project.adapters_dir
    sam = wrap(build_sam("tiny"), MoPEFTConfig(blocks="last:1"))
    save_adapter(sam, adapters / "adapter-done.safetensors")
    with monkeypatch.context() as killed:           # the process dies between writing and renaming
        killed.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
        killed.setattr(os, "remove", lambda path: None)
        with pytest.raises(KeyboardInterrupt):
            save_adapter(sam, adapters / "adapter-cut.safetensors")
    (stray,) = [p.name for p in adapters.iterdir() if p.name.endswith(".tmp")]
    (adapters / "notes.tmp").write_text("not ours to delete")
    with Project.open(tmp_path, readonly=True) as reader:   # a reader changes nothing
        assert (adapters / stray).exists() and reader.notes == []
    with Project.open(tmp_path) as project:
        assert sorted(p.name for p in adapters.iterdir()) == ["adapter-done.safetensors", "notes.tmp"]
        (note,) = project.notes
        assert stray in note and "interrupted save" in note
