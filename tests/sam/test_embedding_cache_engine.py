"""SamEngine with its embedding cache: hits skip the encoder, any change of image or weights misses."""
import threading

import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import SamEngine
from app.sam.signature import image_signature, model_signature
from app.sam.variants import build_sam


class CountingEncoder:
    """Counts forward passes of a model's image encoder."""

    def __init__(self, sam):
        self.calls = 0
        sam.image_encoder.register_forward_hook(self._hook)

    def _hook(self, *_):
        self.calls += 1


def image(seed: int, shape=(40, 60, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def sam():
    return build_sam("tiny")


def test_disk_hit_returns_the_identical_embedding_without_the_encoder(sam, tmp_path):
    counter = CountingEncoder(sam)
    first = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    assert first.set_image(image(0)) is False
    assert counter.calls == 1
    second = SamEngine(sam, cache=EmbeddingCache(tmp_path))  # new process, same cache folder
    assert second.set_image(image(0)) is True
    assert counter.calls == 1
    assert torch.equal(second.image_embedding, first.image_embedding)
    pts, lbl = np.array([[20.0, 10.0]]), np.array([1])
    np.testing.assert_array_equal(second.predict(points=pts, labels=lbl).masks,
                                  first.predict(points=pts, labels=lbl).masks)


def test_memory_hit_when_going_back_to_an_image(sam):
    counter = CountingEncoder(sam)
    engine = SamEngine(sam)
    for seed in (0, 1, 0, 1):
        engine.set_image(image(seed))
    assert counter.calls == 2


def test_changed_image_misses(sam):
    counter = CountingEncoder(sam)
    engine = SamEngine(sam)
    a = image(0)
    engine.set_image(a)
    b = a.copy()
    b[5, 7, 1] ^= 1  # one bit of one pixel
    assert engine.set_image(b) is False
    assert counter.calls == 2


def test_weight_changed_in_place_misses_after_refresh_and_matches_the_new_model(sam):
    counter = CountingEncoder(sam)
    engine = SamEngine(sam)
    engine.set_image(image(0))
    before = engine.image_embedding.clone()
    signature = engine.model_signature
    with torch.no_grad():
        sam.image_encoder.neck[0].weight[3, 5, 0, 0] += 0.5  # one element of one encoder weight
        sam.mask_decoder.iou_token.weight.mul_(2.0)
    engine.refresh_model()
    assert engine.model_signature != signature
    assert counter.calls == 2  # the current image was embedded again with the new weights
    assert not torch.equal(engine.image_embedding, before)
    reference = SamPredictor(sam)
    reference.set_image(image(0))
    assert torch.equal(engine.image_embedding, reference.features)
    pts, lbl = np.array([[20.0, 10.0], [40.0, 30.0]]), np.array([1, 0])
    np.testing.assert_allclose(engine.predict(points=pts, labels=lbl).low_res_logits,
                               reference.predict(pts, lbl)[2], atol=1e-4)


def test_adapter_like_extra_parameter_changes_the_key(sam):
    """A wrapped model whose outputs are unchanged still gets its own entries (its state dict differs)."""
    counter = CountingEncoder(sam)
    engine = SamEngine(sam)
    key = engine.cache_key(image(0))
    engine.set_image(image(0))
    sam.image_encoder.blocks[0].register_parameter("gate", torch.nn.Parameter(torch.zeros(3)))
    engine.refresh_model()
    assert engine.cache_key(image(0)) != key
    assert counter.calls == 2
    with torch.no_grad():
        sam.image_encoder.blocks[0].gate.fill_(0.25)  # "training" the adapter
    engine.refresh_model()
    assert counter.calls == 3
    del sam.image_encoder.blocks[0].gate  # adapter removed: back to the first entry
    engine.refresh_model()
    assert engine.cache_key(image(0)) == key and counter.calls == 3


def test_corrupt_cache_file_is_recomputed_and_replaced(sam, tmp_path):
    counter = CountingEncoder(sam)
    first = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    first.set_image(image(0))
    good = first.image_embedding
    path = next(tmp_path.glob("*.safetensors"))
    path.write_bytes(b"\x00" * 64)
    engine = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    assert engine.set_image(image(0)) is False
    assert counter.calls == 2
    assert torch.equal(engine.image_embedding, good)
    assert torch.equal(EmbeddingCache(tmp_path).get(engine.cache_key(image(0))), good)


def test_prefetch_fills_the_cache_and_reports(sam, tmp_path):
    counter = CountingEncoder(sam)
    engine = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    images = [image(s) for s in range(3)]
    seen = []
    report = engine.prefetch(images + [np.zeros((4, 4), np.uint8)], progress=lambda *a: seen.append(a))
    assert (report.total, report.embedded, report.cached, report.cancelled) == (4, 3, 0, False)
    assert len(report.failed) == 1 and report.failed[0].startswith("image #3: image must be H x W x 3")
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert counter.calls == 3 and len(list(tmp_path.glob("*.safetensors"))) == 3
    again = engine.prefetch(images)
    assert (again.embedded, again.cached) == (0, 3)
    assert all(engine.set_image(im) for im in images) and counter.calls == 3


def test_prefetch_stops_when_cancelled(sam):
    engine = SamEngine(sam)
    stop = threading.Event()
    report = engine.prefetch([image(0), image(1)], progress=lambda *_: stop.set(), cancel=stop.is_set)
    assert report.cancelled and report.embedded == 1


@pytest.mark.slow
def test_prefetch_in_a_worker_while_predicting(sam):
    engine = SamEngine(sam)
    engine.set_image(image(0))
    expected = engine.predict(points=[[20, 10]], labels=[1]).masks
    worker = threading.Thread(target=engine.prefetch, args=([image(s) for s in range(1, 6)],))
    worker.start()
    while worker.is_alive():
        np.testing.assert_array_equal(engine.predict(points=[[20, 10]], labels=[1]).masks, expected)
    worker.join()
    assert all(engine.cache_key(image(s)) in engine.cache for s in range(1, 6))


def test_signatures():
    a = image(0)
    assert image_signature(a) == image_signature(a.copy())
    assert image_signature(a) != image_signature(a.reshape(60, 40, 3))  # same bytes, other shape
    m1, m2 = build_sam("tiny"), build_sam("tiny")
    assert model_signature(m1) == model_signature(m1)
    assert model_signature(m1) != model_signature(m2)  # other random weights
    m2.load_state_dict(m1.state_dict())
    assert model_signature(m1) == model_signature(m2)


def _rewrite_cache_file(path, embedding):
    """Replace a cache file's tensor, keeping its key: a file damaged in a way only its values show."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    save_file({"embedding": embedding.contiguous()}, path, metadata=meta)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_cache_file_with_non_finite_values_is_a_miss_and_is_replaced(sam, tmp_path, value):
    counter = CountingEncoder(sam)
    first = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    first.set_image(image(0))
    good = first.image_embedding.clone()
    path = next(tmp_path.glob("*.safetensors"))
    poisoned = good.clone()
    poisoned[0, 0, 0, 0] = value
    _rewrite_cache_file(path, poisoned)
    engine = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    assert engine.set_image(image(0)) is False and counter.calls == 2
    assert torch.equal(engine.image_embedding, good)
    assert torch.equal(EmbeddingCache(tmp_path).get(engine.cache_key(image(0))), good)


def test_a_cache_read_that_fails_in_any_way_is_a_miss(sam, tmp_path, monkeypatch):
    first = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    first.set_image(image(0))

    def broken(*args, **kwargs):
        raise MemoryError("cannot map the file")

    monkeypatch.setattr("app.sam.embedding_cache.safe_open", broken)
    engine = SamEngine(sam, cache=EmbeddingCache(tmp_path))
    assert engine.set_image(image(0)) is False
    assert torch.equal(engine.image_embedding, first.image_embedding)
