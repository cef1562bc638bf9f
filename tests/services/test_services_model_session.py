"""The model session: base model, adapter in use and engine; the adapter fallback; the changed-file check."""
import shutil

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image as PILImage

from app.annotate.model_choice import ModelLoad
from app.mopeft import MoPEFTConfig, save_adapter, wrap
from app.sam.checkpoints import LoadedSam
from app.sam.variants import build_sam
from app.services.model_session import ModelSession, active_adapter, read_checked, use_version
from app.store.hashing import FileCheck
from app.store.project import Project
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



def _tiny() -> ModelLoad:
    sam = build_sam("tiny")
    sam.load_state_dict(torch.load(FIXTURE, weights_only=True))
    return ModelLoad(LoadedSam(sam.eval(), "tiny", FIXTURE), "tiny-fixture", "cpu for the test")


@pytest.fixture
def trained_adapter(tmp_path):
    """An adapter file whose weights really change the tiny model's masks (LoRA and adapter up-projections
    set away from their zero start)."""
    sam = wrap(_tiny().loaded.sam, MoPEFTConfig(blocks="last:2"))
    with torch.no_grad():
        for name, param in sam.named_parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.5)
    path = tmp_path / "v1.safetensors"
    save_adapter(sam, path)
    return path


def _mask(session: ModelSession, rgb) -> np.ndarray:
    session.engine.set_image(rgb)
    return session.engine.predict(np.array([[64, 64]]), np.array([1]), multimask=False).masks[0]


@pytest.mark.slow
def test_the_adapter_asked_for_before_the_model_is_used_once_it_loads(tmp_path, trained_adapter):
    session = ModelSession(tmp_path / "cache", disk_cache=False)
    assert session.use_adapter(trained_adapter) is None  # no model yet: nothing to run
    switch = session.load(_tiny)
    assert switch.adapter == str(trained_adapter) and switch.adapter_problem is None
    rgb = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    with_adapter = _mask(session, rgb)
    back = session.use_adapter(None)
    assert back.adapter is None and session.engine is back.engine
    assert (with_adapter != _mask(session, rgb)).any()  # the adapter really ran, and is off again


@pytest.mark.slow
def test_an_adapter_that_cannot_be_used_falls_back_to_the_base_model_with_the_reason(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    session = ModelSession(tmp_path / "cache", disk_cache=False)
    session.load(_tiny)
    switch = session.use_adapter(broken)
    assert switch.adapter is None and session.adapter is None
    assert "could not be used; SAM runs without it" in switch.adapter_problem


def test_a_model_that_fails_to_load_leaves_the_one_in_use(tmp_path):
    session = ModelSession(tmp_path / "cache", disk_cache=False)
    session.load(_tiny)
    engine = session.engine

    def broken():
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        session.load(broken)
    assert session.engine is engine and session.model.name == "tiny-fixture"


@pytest.mark.slow
def test_the_active_version_applies_only_to_the_base_model_it_was_trained_on(tmp_path, trained_adapter):
    folder = write_toy_project(tmp_path / "proj")
    with Project.open(folder) as project:
        assert active_adapter(project) is None
        shutil.copy(trained_adapter, project.adapters_dir / "v1.safetensors")
        version = project.adapters.add(project.adapters_dir / "v1.safetensors", "tiny-fixture", {}, {})
        assert active_adapter(project) is None  # recorded, not switched on
        assert use_version(project, version.id) == project.adapters_dir / "v1.safetensors"
        assert active_adapter(project) == active_adapter(project, "tiny-fixture") == project.adapters_dir / "v1.safetensors"
        assert active_adapter(project, "vit_b") is None
        assert use_version(project, None) is None and active_adapter(project) is None


def test_read_checked_tells_a_changed_and_a_resized_file_from_the_annotated_one(tmp_path):
    folder = write_toy_project(tmp_path / "proj")
    with Project.open(folder) as project:
        record = project.images.list()[0]
    path = folder / record.path
    assert read_checked(path, record).check is FileCheck.SAME and read_checked(path, record).problem is None
    pixels = np.asarray(PILImage.open(path).convert("RGB")).copy()
    pixels[0, 0] = 255 - pixels[0, 0]
    PILImage.fromarray(pixels).save(path)
    changed = read_checked(path, record)
    assert changed.check is FileCheck.CHANGED and "changed on disk since it was added" in changed.problem
    PILImage.fromarray(pixels[: pixels.shape[0] // 2]).save(path)
    resized = read_checked(path, record)
    assert resized.check is FileCheck.RESIZED and f"no longer the {record.width}x{record.height}" in resized.problem
    assert read_checked(path).check is FileCheck.SAME  # no record: nothing to compare with


def test_the_precision_switches_the_engine_and_an_unknown_one_is_refused(tmp_path):
    session = ModelSession(tmp_path / "cache", disk_cache=False)
    assert session.use_precision("bf16") is None and session.precision == "bf16"  # kept until a model loads
    assert session.load(_tiny).engine.precision == "bf16"
    switch = session.use_precision("fp32")
    assert switch.engine.precision == "fp32" and session.engine is switch.engine
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        session.use_precision("fp8")
    assert session.engine is switch.engine and session.precision == "fp32"


@pytest.mark.slow
def test_a_sam2_model_runs_on_a_sam2_engine_with_its_adapter(tmp_path, tiny_sam2):
    import copy

    from app.sam2 import Sam2Engine

    wrapped = wrap(copy.deepcopy(tiny_sam2), MoPEFTConfig(blocks="last:2"))
    with torch.no_grad():
        for param in wrapped.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.5)
    save_adapter(wrapped, tmp_path / "v1.safetensors")
    session = ModelSession(tmp_path / "cache", disk_cache=False)
    switch = session.load(lambda: ModelLoad(LoadedSam(tiny_sam2, "sam2_tiny", None), "sam2_tiny", "cpu"))
    assert isinstance(switch.engine, Sam2Engine)
    rgb = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    plain = _mask(session, rgb)
    adapted = session.use_adapter(tmp_path / "v1.safetensors")
    assert adapted.adapter_problem is None and isinstance(adapted.engine, Sam2Engine)
    assert (plain != _mask(session, rgb)).any()


def test_read_checked_reads_a_large_tiff_region_by_region_and_decodes_the_rest_whole(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (2000, 3000, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "slide.tif", pixels, tile=(256, 256))
    tifffile.imwrite(tmp_path / "small.tif", pixels[:500, :700], tile=(256, 256))
    large, small = read_checked(tmp_path / "slide.tif"), read_checked(tmp_path / "small.tif")
    assert large.data is None and large.size == (2000, 3000) and large.path == tmp_path / "slide.tif"
    assert np.array_equal(large.source.region(100, 1500, 2900, 1900), pixels[1500:1900, 100:2900])
    assert small.tiff is None and small.size == (500, 700)
    assert np.array_equal(small.source.region(0, 0, 700, 500), pixels[:500, :700])
