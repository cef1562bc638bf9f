"""LISTEN/NOTIFY on a shared project: another client's accept, relabel, delete and proposals reach a listener with
the image id once committed, a new and an activated adapter version as "adapters"; a rolled-back change and the listener's own client's changes do not; a folder's
project has no listener."""
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from proposal_records import Proposed, square_mask


def wait_for(heard, count, timeout=5.0):
    end = time.monotonic() + timeout
    while len(heard) < count and time.monotonic() < end:
        time.sleep(0.02)
    return list(heard)


@pytest.mark.slow
def test_other_clients_changes_are_heard(backend, tmp_path):
    PILImage.new("RGB", (40, 30)).save(tmp_path / "a.png")
    PILImage.new("RGB", (40, 30)).save(tmp_path / "b.png")
    with backend.open(tmp_path, create=True) as mine:
        mine.images.scan()
        a, b = (image.id for image in mine.images.list())
        if backend.sqlite:
            assert mine.listen_changes(print) is None
            return
        heard = []
        listener = mine.listen_changes(lambda what, image: heard.append(image if what == "image" else what))
        try:
            mask = np.zeros((30, 40), bool)
            mask[2:8, 2:8] = True
            label = mine.labels.add("cell")
            mine.instances.add(a, label.id, mask)   # this client's own change: not reported
            with backend.open(tmp_path) as other:
                instance = other.instances.add(b, label.id, mask)
                assert wait_for(heard, 1) == [b]
                other.instances.update(instance.id, label_id=label.id)
                other.instances.delete(instance.id)
                other.proposals.replace_pending(a, [Proposed.of_mask(square_mask((30, 40), 1, 1), 0.9, 0.9, (2, 2))],
                                                "demo")
                assert wait_for(heard, 4) == [b, b, b, a]
                with pytest.raises(RuntimeError):
                    with other.transaction():
                        other.instances.add(a, label.id, mask)
                        raise RuntimeError("rolled back")
                time.sleep(0.5)
                assert heard == [b, b, b, a]   # nothing for the change that was rolled back
                (tmp_path / ".mopeft-adapter.safetensors").write_bytes(b"weights")
                version = other.adapters.add(tmp_path / ".mopeft-adapter.safetensors", "demo", {}, {})
                other.adapters.set_active(version.id)
                assert wait_for(heard, 6)[4:] == ["adapters", "adapters"]
        finally:
            listener.close()
