"""`Project.snapshot()`: several reads that see one state while another process commits."""
import cv2
import numpy as np
import pytest

from app.store import StoreError


def writer_and_reader(backend, folder):
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 10), np.uint8))
    writer = backend.open(folder, create=True)
    writer.images.scan()
    writer.labels.add("cell")
    return writer, backend.open(folder, readonly=True)


def test_reads_in_a_snapshot_ignore_commits_made_meanwhile_and_see_them_after(backend, tmp_path):
    writer, reader = writer_and_reader(backend, tmp_path)
    with writer, reader:
        with reader.snapshot():
            assert [label.name for label in reader.labels.list()] == ["cell"]
            writer.labels.add("nucleus")
            assert [label.name for label in reader.labels.list()] == ["cell"]
        assert [label.name for label in reader.labels.list()] == ["cell", "nucleus"]
        with pytest.raises(RuntimeError), reader.snapshot():
            reader.labels.list()
            raise RuntimeError("the block fails")
        writer.labels.add("debris")          # the failed block still ended its snapshot
        assert len(reader.labels.list()) == 3


def test_a_snapshot_inside_a_transaction_adds_nothing_and_writes_inside_a_snapshot_are_refused(backend, tmp_path):
    writer, reader = writer_and_reader(backend, tmp_path)
    reader.close()
    with writer:
        with writer.transaction(), writer.snapshot():
            writer.labels.add("nucleus")      # the transaction's own writes stay visible and are kept
            assert len(writer.labels.list()) == 2
        assert len(writer.labels.list()) == 2
        with writer.snapshot(), pytest.raises(StoreError, match="inside a read snapshot"):
            writer.labels.add("debris")
        assert writer.labels.find("debris") is None
