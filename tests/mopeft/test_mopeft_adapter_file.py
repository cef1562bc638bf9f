"""Adapter files: round trip, and refusal of other base weights, other configs and damaged files."""
import copy

import pytest
import torch
from safetensors.torch import load_file

from app.mopeft import (AdapterError, MoPEFTConfig, adapted_copy, load_adapter, read_adapter_header, save_adapter,
                        wrap, wrap_info)
from app.sam.variants import build_sam


def _trained(sam):
    """Move every PEFT parameter away from its initial value, as training would."""
    with torch.no_grad():
        for p in sam.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    return sam


def _embed(sam, x):
    with torch.no_grad():
        return sam.image_encoder(x)


@pytest.fixture
def base():
    return build_sam("tiny")


@pytest.mark.slow
def test_round_trip_gives_identical_outputs(base, tmp_path):
    config = MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"], blocks="last:2")
    trained = _trained(wrap(copy.deepcopy(base), config))
    path = save_adapter(trained, tmp_path / "a.safetensors", metadata={"miou": 0.8})
    x = torch.randn(1, 3, 128, 128)

    fresh = copy.deepcopy(base)  # a plain model: load_adapter wraps it with the file's config
    assert load_adapter(fresh, path) == {"miou": 0.8}
    assert wrap_info(fresh).config == config
    assert torch.equal(_embed(trained, x), _embed(fresh, x))
    assert not torch.equal(_embed(base, x), _embed(fresh, x))

    rewrapped = wrap(copy.deepcopy(base), config)  # an already wrapped model with the same config
    load_adapter(rewrapped, path)
    assert torch.equal(_embed(trained, x), _embed(rewrapped, x))


def test_file_holds_only_peft_tensors_and_header(base, tmp_path):
    sam = wrap(copy.deepcopy(base), MoPEFTConfig(kinds=["adapter"]))
    path = save_adapter(sam, tmp_path / "a.safetensors")
    config, fingerprint, meta = read_adapter_header(path)
    assert list(config.kinds) == ["adapter"] and meta == {} and len(fingerprint) == 64
    assert path.stat().st_size < 4 * sum(p.numel() for p in sam.parameters()) / 10


def test_other_base_weights_are_refused(base, tmp_path):
    path = save_adapter(wrap(copy.deepcopy(base), MoPEFTConfig()), tmp_path / "a.safetensors")
    other = build_sam("tiny")  # same architecture, other random weights
    with pytest.raises(AdapterError, match="other base SAM weights"):
        load_adapter(other, path)
    assert wrap_info(other) is None  # nothing changed


def test_other_config_is_refused(base, tmp_path):
    path = save_adapter(wrap(copy.deepcopy(base), MoPEFTConfig(kinds=["lora"])), tmp_path / "a.safetensors")
    target = wrap(copy.deepcopy(base), MoPEFTConfig(kinds=["prefix"]))
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(AdapterError, match="config"):
        load_adapter(target, path)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
@pytest.mark.slow
def test_damaged_files_are_refused_with_the_file_named(base, tmp_path, damage):
    path = save_adapter(wrap(copy.deepcopy(base), MoPEFTConfig()), tmp_path / "a.safetensors")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00not safetensors" * 50,
                      "empty": b""}[damage])
    with pytest.raises(AdapterError, match="a.safetensors"):
        load_adapter(copy.deepcopy(base), path)


def test_save_needs_a_wrapped_model(base, tmp_path):
    with pytest.raises(ValueError, match="wrapped"):
        save_adapter(base, tmp_path / "a.safetensors")
    assert not (tmp_path / "a.safetensors").exists()


@pytest.mark.slow
def test_adapted_copy_shares_the_base_weights_and_leaves_the_base_plain(base, tmp_path):
    trained = _trained(wrap(copy.deepcopy(base), MoPEFTConfig(blocks="last:2")))
    path = save_adapter(trained, tmp_path / "a.safetensors")
    x = torch.randn(1, 3, 128, 128)
    plain = _embed(base, x)

    adapted = adapted_copy(base, path)
    assert torch.equal(_embed(adapted, x), _embed(trained, x))
    assert wrap_info(base) is None and torch.equal(_embed(base, x), plain)
    assert adapted.image_encoder.patch_embed.proj.weight is base.image_encoder.patch_embed.proj.weight
    assert not adapted.training
    with pytest.raises(AdapterError, match="other base SAM weights"):
        adapted_copy(build_sam("tiny"), path)


@pytest.mark.slow
def test_tensors_that_do_not_fit_leave_a_plain_model_as_it_was(base, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = save_adapter(_trained(wrap(copy.deepcopy(base), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"]))), tmp_path / "a.safetensors")
    with safe_open(str(path), framework="pt") as f:
        header, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    name = next(k for k in tensors if k.endswith("prefix.scale") or "prefix" in k)
    tensors[name] = torch.zeros(tensors[name].numel() + 1)  # e.g. a file from an older prefix layout
    save_file(tensors, tmp_path / "bad.safetensors", metadata=header)
    x = torch.randn(1, 3, 128, 128)
    plain = _embed(base, x)
    flags = [p.requires_grad for p in base.parameters()]
    with pytest.raises(AdapterError, match="shapes differ"):
        load_adapter(base, tmp_path / "bad.safetensors")
    assert wrap_info(base) is None and not hasattr(base, "_mopeft")
    assert [p.requires_grad for p in base.parameters()] == flags
    assert torch.equal(_embed(base, x), plain)
    assert type(base.mask_decoder.transformer.layers[0].self_attn.q_proj) is torch.nn.Linear


def _rewrite(path, out, header=None, tensors=None):
    """Copy adapter `path` to `out` with header fields and tensors replaced, as a hostile or broken file would."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta, data = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(meta["config"])
    config.update(header or {})
    meta["config"] = json.dumps(config)
    data.update(tensors or {})
    save_file(data, out, metadata=meta)
    return out


@pytest.mark.parametrize("claim", [{"lora_rank": 10**9}, {"lora_rank": 200_000}, {"prefix_length": 10**9},
                                   {"adapter_dim": 10**9}])
@pytest.mark.slow
def test_a_header_config_that_disagrees_with_the_tensors_is_refused_before_allocating(base, tmp_path, claim):
    path = save_adapter(wrap(copy.deepcopy(base), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"])), tmp_path / "a.safetensors")
    bad = _rewrite(path, tmp_path / "claims.safetensors", header=claim)
    assert bad.stat().st_size < 300_000  # a small file that claims a huge model
    field, value = next(iter(claim.items()))
    with pytest.raises(AdapterError, match=f"claims.safetensors: tensor shapes differ .*{field} {value}"):
        load_adapter(base, bad)
    assert wrap_info(base) is None
    with pytest.raises(AdapterError, match="claims.safetensors"):
        adapted_copy(base, bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.slow
def test_non_finite_weights_are_refused(base, tmp_path, value):
    path = save_adapter(_trained(wrap(copy.deepcopy(base), MoPEFTConfig())), tmp_path / "a.safetensors")
    name = "image_encoder.blocks.0.peft.lora.q.B"
    poisoned = load_file(path)[name]
    poisoned[0, 0] = value
    bad = _rewrite(path, tmp_path / "nan.safetensors", tensors={name: poisoned})
    with pytest.raises(AdapterError, match=f"nan.safetensors: .*NaN or infinite values .*{name}"):
        load_adapter(base, bad)
    assert wrap_info(base) is None


@pytest.mark.slow
def test_a_config_that_does_not_apply_to_the_model_is_an_adapter_error(base, tmp_path):
    path = save_adapter(wrap(copy.deepcopy(base), MoPEFTConfig()), tmp_path / "a.safetensors")
    bad = _rewrite(path, tmp_path / "blocks.safetensors", header={"blocks": [0, 99]})
    with pytest.raises(AdapterError, match="blocks.safetensors: .*does not apply"):
        load_adapter(base, bad)
    assert wrap_info(base) is None

