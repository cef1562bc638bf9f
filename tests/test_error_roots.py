"""One error root per package, all on one project-wide base: a caller catches AppError and reports any of them."""
import pytest

from app.coco.errors import CocoError
from app.coco.reader import read_coco_json
from app.errors import AppError
from app.mopeft import AdapterError, read_adapter_header
from app.sam import CheckpointError, DownloadError, ImageLoadError, SamError, load_image, load_sam
from app.sam.download import download
from app.store import Project, ProjectNotFoundError, StoreError
from app.training.finetune.events import TrainingError
from app.training.finetune.run import fine_tune
from app.training.finetune.settings import TrainSettings


def failures(tmp_path):
    """A deliberate failure of each package, as a callable that raises it."""
    (tmp_path / "broken.json").write_text("{")
    return {
        StoreError: lambda: Project.open(tmp_path / "nowhere"),
        CocoError: lambda: read_coco_json(tmp_path / "broken.json"),
        SamError: lambda: load_image(tmp_path / "missing.png"),
        TrainingError: lambda: fine_tune(None, [], TrainSettings(), tmp_path / "adapters"),
        AdapterError: lambda: read_adapter_header(tmp_path / "broken.json"),
    }


def test_one_except_catches_a_failure_of_every_package(tmp_path):
    for root, fail in failures(tmp_path).items():
        with pytest.raises(AppError) as caught:
            fail()
        assert isinstance(caught.value, root)


def test_a_download_that_cannot_start_is_a_sam_error(tmp_path):
    with pytest.raises(SamError):
        download("ftp://127.0.0.1/x.pth", tmp_path, "0" * 64)


def test_older_names_and_builtins_still_catch_what_they_did(tmp_path):
    assert issubclass(ProjectNotFoundError, StoreError)
    assert issubclass(ImageLoadError, ValueError) and issubclass(CheckpointError, ValueError)
    assert issubclass(DownloadError, RuntimeError) and issubclass(TrainingError, RuntimeError)
    with pytest.raises(CheckpointError):
        load_sam(tmp_path / "missing.pth")
