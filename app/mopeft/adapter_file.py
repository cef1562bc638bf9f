"""Adapter files: only the PEFT tensors, in safetensors, with the config and the base fingerprint."""
from __future__ import annotations

import copy
import itertools
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from segment_anything.modeling import Sam
from segment_anything.modeling.transformer import Attention

from app.mopeft.config import MoPEFTConfig
from app.mopeft.fingerprint import base_weight_fingerprint
from app.mopeft.state import peft_state_dict
from app.mopeft.wrap import wrap, wrap_info

FORMAT = "mopeft-adapter/1"


class AdapterError(ValueError):
    """An adapter file that cannot be used: unreadable, or made for another base model or config."""


def save_adapter(sam: Sam, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write the PEFT parameters of a wrapped `sam` to `path` atomically; `metadata` must be JSON-able."""
    info = wrap_info(sam)
    if info is None:
        raise ValueError("save_adapter needs a MoPEFT-wrapped model (see app.mopeft.wrap)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in peft_state_dict(sam).items()}
    header = {
        "format": FORMAT,
        "config": info.config.to_json(),
        "base_fingerprint": base_weight_fingerprint(sam),
        "metadata": json.dumps(metadata or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=header)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_adapter_header(path: str | os.PathLike) -> tuple[MoPEFTConfig, str, dict]:
    """(config, base fingerprint, user metadata) of an adapter file, without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:  # safetensors raises several types for truncated or foreign files
        raise AdapterError(f"{path}: not a readable MoPEFT adapter file ({exc})") from exc
    if header.get("format") != FORMAT:
        raise AdapterError(f"{path}: not a MoPEFT adapter file (format {header.get('format')!r})")
    try:
        return MoPEFTConfig.from_json(header["config"]), header["base_fingerprint"], json.loads(header["metadata"])
    except (KeyError, ValueError, TypeError) as exc:
        raise AdapterError(f"{path}: damaged adapter header ({exc})") from exc


def load_adapter(sam: Sam, path: str | os.PathLike) -> dict:
    """Load an adapter file into `sam` (wrapping a plain model with the file's config); returns its metadata.

    Refuses, with AdapterError and nothing changed, a file made for other base weights or, on a model that
    is already wrapped, for another config.
    """
    config, fingerprint, metadata = read_adapter_header(path)
    info = wrap_info(sam)
    if info is not None and info.config != config:
        raise AdapterError(
            f"{path}: made for MoPEFT config {config.to_json()}, but the model is wrapped with "
            f"{info.config.to_json()}"
        )
    base = base_weight_fingerprint(sam)
    if base != fingerprint:
        raise AdapterError(f"{path}: made for other base SAM weights (fingerprint {fingerprint[:12]}, "
                           f"this model {base[:12]})")
    with safe_open(str(path), framework="pt") as f:
        try:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:
            raise AdapterError(f"{path}: damaged adapter tensors ({exc})") from exc
    undo = _wrap_undoably(sam, config) if info is None else None
    try:
        _copy_into(sam, tensors, path)
    except AdapterError:
        if undo is not None:
            undo()
        raise
    return metadata


def adapted_copy(base: Sam, path: str | os.PathLike) -> Sam:
    """A model that runs plain `base` with the adapter file at `path`, in eval mode; `base` stays plain.

    The copy shares every base weight tensor with `base` (only the module tree and the PEFT tensors are
    new), so an adapter costs no second copy of SAM's weights. Raises AdapterError as `load_adapter` does.
    """
    if wrap_info(base) is not None:
        raise ValueError("adapted_copy needs the plain base SAM, not a wrapped one")
    shared = {id(t): t for t in itertools.chain(base.parameters(), base.buffers())}
    sam = copy.deepcopy(base, memo=shared)
    load_adapter(sam, path)
    return sam.eval()


def _wrap_undoably(sam: Sam, config: MoPEFTConfig):
    """Wrap a plain `sam` and return a function that puts it back exactly as it was (modules and grad flags)."""
    encoder = sam.image_encoder
    blocks = list(encoder.blocks)
    projections = [(m, m.q_proj, m.v_proj) for m in sam.mask_decoder.modules() if isinstance(m, Attention)]
    flags = [(p, p.requires_grad) for p in sam.parameters()]
    wrap(sam, config)

    def undo() -> None:
        for i, block in enumerate(blocks):
            encoder.blocks[i] = block
        for module, q_proj, v_proj in projections:
            module.q_proj, module.v_proj = q_proj, v_proj
        for param, flag in flags:
            param.requires_grad_(flag)
        del sam._mopeft

    return undo


def _copy_into(sam: Sam, tensors: dict[str, torch.Tensor], path) -> None:
    target = peft_state_dict(sam)
    if set(target) != set(tensors):
        raise AdapterError(f"{path}: its tensors do not match the model's PEFT parameters")
    bad = [k for k in target if target[k].shape != tensors[k].shape]
    if bad:
        raise AdapterError(f"{path}: tensor shapes differ from the model's for {bad[:3]}")
    with torch.no_grad():
        for k, t in target.items():
            t.copy_(tensors[k])
