"""EmbeddingCache on its own: round trip, LRU bounds, atomic files, corrupt files."""
import logging
import os

import pytest
import torch

from app.sam.embedding_cache import EmbeddingCache


def emb(value: float, side: int = 4) -> torch.Tensor:
    return torch.full((1, 8, side, side), value)


def test_disk_round_trip_gives_the_identical_tensor(tmp_path):
    t = torch.randn(1, 8, 4, 4)
    EmbeddingCache(tmp_path).put("k1", t)
    fresh = EmbeddingCache(tmp_path)  # empty memory: this read comes from the file
    got = fresh.get("k1")
    assert got is not None and torch.equal(got, t)
    assert fresh.memory_keys() == ["k1"]
    assert [p.name for p in tmp_path.iterdir()] == ["k1.safetensors"]  # no temporary file left behind


def test_lru_evicts_the_least_recently_used_by_count(tmp_path):
    cache = EmbeddingCache(tmp_path, max_items=2)
    cache.put("a", emb(1))
    cache.put("b", emb(2))
    cache.get("a")  # a is now the most recent
    cache.put("c", emb(3))
    assert cache.memory_keys() == ["a", "c"]
    assert "b" in cache  # evicted from memory only: the file still serves it
    assert torch.equal(cache.get("b"), emb(2))
    assert cache.memory_keys() == ["c", "b"]


def test_lru_is_bounded_by_bytes():
    one = emb(0).numel() * 4
    cache = EmbeddingCache(disk=False, max_items=100, max_bytes=2 * one + 1)
    for key in "abcd":
        cache.put(key, emb(1))
    assert cache.memory_keys() == ["c", "d"]
    assert cache.get("a") is None and "a" not in cache


def test_the_folder_is_bounded_by_bytes_dropping_the_least_recently_used_files(tmp_path):
    cache = EmbeddingCache(tmp_path, max_items=1)
    cache.put("a", emb(1))
    size = (tmp_path / "a.safetensors").stat().st_size
    bounded = EmbeddingCache(tmp_path, max_items=1, max_disk_bytes=3 * size)
    for step, key in enumerate("bc"):
        bounded.put(key, emb(2))
        os.utime(tmp_path / f"{key}.safetensors", ns=(step + 2, step + 2))   # a, b, c written in that order
    os.utime(tmp_path / "a.safetensors", ns=(1, 1))
    assert torch.equal(bounded.get("a"), emb(1))   # read from its file (memory holds c): a is used last now
    bounded.put("d", emb(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "c.safetensors", "d.safetensors"]
    assert bounded.get("b") is None
    tiny = EmbeddingCache(tmp_path, max_disk_bytes=1)   # the newest file always stays
    tiny.put("e", emb(4))
    assert [p.name for p in tmp_path.iterdir()] == ["e.safetensors"]


def test_memory_only_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = EmbeddingCache(disk=False)
    cache.put("k", emb(1))
    assert cache.path_for("k") is None and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not a safetensors file at all", None])
def test_corrupt_or_foreign_file_is_a_miss_and_is_removed(tmp_path, caplog, content):
    writer = EmbeddingCache(tmp_path)
    writer.put("good", emb(5))
    path = writer.path_for("k")
    if content is None:  # a valid file, but stored under another key (e.g. copied by hand)
        writer.path_for("good").rename(path)
    else:
        path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert EmbeddingCache(tmp_path).get("k") is None
    assert not path.exists()
    assert "discarding unreadable cached embedding" in caplog.text and "k.safetensors" in caplog.text


def test_truncated_file_is_a_miss(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put("k", torch.randn(1, 8, 16, 16))
    path = cache.path_for("k")
    path.write_bytes(path.read_bytes()[:-100])
    assert EmbeddingCache(tmp_path).get("k") is None


def test_unwritable_folder_still_serves_from_memory(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = EmbeddingCache(blocker / "embeddings")
    with caplog.at_level(logging.WARNING):
        cache.put("k", emb(1))
    assert torch.equal(cache.get("k"), emb(1))
    assert "could not write cached embedding" in caplog.text


def test_bounds_must_be_positive():
    with pytest.raises(ValueError, match="max_items=0"):
        EmbeddingCache(disk=False, max_items=0)
    with pytest.raises(ValueError, match="max_disk_bytes=0"):
        EmbeddingCache(disk=False, max_disk_bytes=0)
