"""`mopeft embed FOLDER`: embeds every readable image, names and skips the unreadable ones."""
import pytest
import numpy as np
import torch
from PIL import Image

from app.cli.main import main
from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import SamEngine
from app.sam.variants import build_sam


def make_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    images = {}
    for i in range(2):
        rgb = np.random.default_rng(i).integers(0, 256, (30, 45, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"cell{i}.png")
        images[f"cell{i}.png"] = rgb
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "readme.txt").write_text("not an image")
    return folder, images


@pytest.mark.slow
def test_embed_folder_with_a_corrupt_image(tmp_path, capsys):
    folder, images = make_folder(tmp_path)
    cache_dir = tmp_path / "cache"
    args = ["embed", str(folder), "--model", "tiny", "--random-weights", "--cache-dir", str(cache_dir)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err.split("skipped", 1)[1]
    assert "2 embedded, 0 already cached, 1 skipped" in err
    assert "3/3" in err  # progress counts the image files only, not readme.txt

    torch.manual_seed(0)  # the CLI's random-weights model
    engine = SamEngine(build_sam("tiny"), cache=EmbeddingCache(cache_dir))
    assert all(engine.set_image(rgb) for rgb in images.values())  # both are cache hits

    assert main(args) == 1
    assert "0 embedded, 2 already cached, 1 skipped" in capsys.readouterr().err


def test_embed_refuses_a_missing_folder_and_an_unknown_architecture(tmp_path, capsys):
    assert main(["embed", str(tmp_path / "nope"), "--model", "tiny", "--random-weights"]) == 2
    assert "not a folder" in capsys.readouterr().err
    folder, _ = make_folder(tmp_path)
    assert main(["embed", str(folder), "--model", "vit_z", "--random-weights"]) == 2
    assert "unknown SAM variant 'vit_z'" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_checks_cached_files_and_embeds_damaged_ones_again(tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder, images = make_folder(tmp_path)
    (folder / "broken.png").unlink()
    cache_dir = tmp_path / "cache"
    args = ["embed", str(folder), "--model", "tiny", "--random-weights", "--cache-dir", str(cache_dir)]
    assert main(args) == 0
    capsys.readouterr()
    truncated, poisoned = sorted(cache_dir.glob("*.safetensors"))
    truncated.write_bytes(truncated.read_bytes()[:100])  # e.g. a copy cut short
    with safe_open(str(poisoned), framework="pt") as f:
        meta, embedding = f.metadata(), f.get_tensor("embedding")
    embedding[0, 0, 0, 0] = float("nan")
    save_file({"embedding": embedding}, poisoned, metadata=meta)

    assert main(args) == 0
    assert "2 embedded, 0 already cached, 0 skipped" in capsys.readouterr().err
    torch.manual_seed(0)  # the CLI's random-weights model
    engine = SamEngine(build_sam("tiny"), cache=EmbeddingCache(cache_dir))
    assert all(engine.set_image(rgb) for rgb in images.values())
    assert torch.isfinite(engine.image_embedding).all()
    assert main(args) == 0
    assert "0 embedded, 2 already cached, 0 skipped" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_with_a_sam2_model(tmp_path, capsys):
    from app.models.any_family import build_any_sam
    from app.sam2 import Sam2Engine

    folder, images = make_folder(tmp_path)
    cache_dir = tmp_path / "cache"
    args = ["embed", str(folder), "--model", "sam2_tiny", "--random-weights", "--cache-dir", str(cache_dir)]
    assert main(args) == 1
    assert "2 embedded, 0 already cached, 1 skipped" in capsys.readouterr().err
    engine = Sam2Engine(build_any_sam("sam2_tiny"), cache=EmbeddingCache(cache_dir))
    assert all(engine.set_image(rgb) for rgb in images.values())
    assert engine.prefetch(list(images.values())).cached == 2
