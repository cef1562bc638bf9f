"""Adapter files: only the PEFT tensors, in safetensors, with the config, the base model's family and variant and
the base fingerprint.

Loading checks before it allocates: the header's config is applied to a meta-device copy of the model, and
the shapes it needs must be the shapes the file's header lists (safetensors itself checks that those tensors
fit in the file), so a file cannot make the app allocate more than it holds. Values must be finite.
"""
from __future__ import annotations

import copy
import itertools
import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save
from torch import nn
from segment_anything.modeling import Sam

from app.atomic_file import atomic_output
from app.errors import AppError
from app.mopeft.config import BASE_KEYS, MoPEFTConfig
from app.mopeft.families import family, variant
from app.mopeft.fingerprint import base_weight_fingerprint
from app.mopeft.state import peft_state_dict
from app.mopeft.wrap import wrap, wrap_info

FORMAT = "mopeft-adapter/1"


FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")


class AdapterError(AppError, ValueError):
    """An adapter file that cannot be used: unreadable, damaged, or made for another base model or config."""


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
        "family": family(sam),
        "variant": variant(sam) or "",
        "metadata": json.dumps(metadata or {}),
    }
    with atomic_output(path, "wb") as f:
        f.write(save(tensors, metadata=header))
    return path


def _header(path: str | os.PathLike) -> dict:
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:  # safetensors raises several types for truncated or foreign files
        raise AdapterError(f"{path}: not a readable MoPEFT adapter file ({exc})") from exc
    if header.get("format") != FORMAT:
        raise AdapterError(f"{path}: not a MoPEFT adapter file (format {header.get('format')!r})")
    return header


def _model_words(family_name: str, variant_name: str | None) -> str:
    return ("SAM 2.1" if family_name == "sam2" else "SAM 1") + (f" {variant_name}" if variant_name else "")


def read_adapter_base(path: str | os.PathLike) -> tuple[str, str | None]:
    """(family, variant) of the base model an adapter file was made for: "sam" or "sam2", and the variant name
    (None when the file does not say: files from before SAM 2.1 support are SAM 1 files of an unrecorded variant)."""
    header = _header(path)
    return header.get("family", "sam"), header.get("variant") or None


def read_adapter_header(path: str | os.PathLike) -> tuple[MoPEFTConfig, str, dict]:
    """(config, base fingerprint, user metadata) of an adapter file, without loading its tensors."""
    header = _header(path)
    try:
        return MoPEFTConfig.from_json(header["config"]), header["base_fingerprint"], json.loads(header["metadata"])
    except (KeyError, ValueError, TypeError) as exc:
        raise AdapterError(f"{path}: damaged adapter header ({exc})") from exc


def load_adapter(sam: Sam, path: str | os.PathLike) -> dict:
    """Load an adapter file into `sam` (wrapping a plain model with the file's config); returns its metadata.

    Refuses, with AdapterError and nothing changed, a file made for another model family or variant (SAM 1 vit_b,
    SAM 2.1 sam2.1_hiera_t, ...), for other base weights or, on a model that
    is already wrapped, for another config; one whose tensors are not the shapes its config needs (checked
    before anything is allocated) or hold NaN or inf. Every failure while loading is an AdapterError.
    """
    config, fingerprint, metadata = read_adapter_header(path)
    made_for, model_is = read_adapter_base(path), (family(sam), variant(sam))
    if made_for[0] != model_is[0] or (None not in (made_for[1], model_is[1]) and made_for[1] != model_is[1]):
        raise AdapterError(f"{path}: made for {_model_words(*made_for)}, but the model is {_model_words(*model_is)}")
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
    expected = _peft_shapes(sam, config, path) if info is None else {
        k: v.shape for k, v in peft_state_dict(sam).items()}
    tensors = _read_tensors(path, config, expected)
    undo = None
    try:
        undo = _wrap_undoably(sam, config) if info is None else None
        _copy_into(sam, tensors)
    except Exception as exc:  # noqa: BLE001 - out of memory, a module that refuses: the model is put back
        if undo is not None:
            undo()
        raise AdapterError(f"{path}: could not load the adapter into the model ({type(exc).__name__}: "
                           f"{str(exc).strip()[:200]})") from exc
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
    children = [(module, dict(module._modules)) for module in sam.modules()]
    flags = [(p, p.requires_grad) for p in sam.parameters()]
    wrap(sam, config)

    def undo() -> None:
        for module, kept in children:  # whatever a kind put in place of a module (a block, a projection) goes
            module._modules.clear()
            module._modules.update(kept)
        for param, flag in flags:
            param.requires_grad_(flag)
        del sam._mopeft

    return undo


def _meta_copy(sam: Sam) -> Sam:
    """A copy of `sam`'s module tree with every parameter and buffer on the meta device: it costs no memory."""
    memo: dict = {id(p): nn.Parameter(torch.empty_like(p, device="meta"), p.requires_grad)
                  for p in sam.parameters()}
    memo.update({id(b): torch.empty_like(b, device="meta") for b in sam.buffers()})
    return copy.deepcopy(sam, memo=memo)


def _peft_shapes(sam: Sam, config: MoPEFTConfig, path) -> dict[str, torch.Size]:
    """Name -> shape of the PEFT tensors that wrapping plain `sam` with `config` makes, worked out on meta."""
    try:
        with torch.device("meta"):
            skeleton = wrap(_meta_copy(sam), config)
    except Exception as exc:  # noqa: BLE001 - a config that does not apply to this model, e.g. blocks out of range
        raise AdapterError(f"{path}: its config {config.to_json()} does not apply to this model ({exc})") from exc
    return {k: v.shape for k, v in peft_state_dict(skeleton).items()}


def _sizes(config: MoPEFTConfig) -> str:
    """The kinds' sizes in words: 'lora_rank 8, prefix_length 10, adapter_dim default'."""
    sizes = {k: v for k, v in config.to_dict(training=False).items() if k not in BASE_KEYS}
    return ", ".join(f"{k} {'default' if v is None else v}" for k, v in sizes.items())


def _read_tensors(path, config: MoPEFTConfig, expected: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """The file's tensors, once their names, shapes (from the header) and dtypes match `expected`; all finite."""
    try:
        with safe_open(str(path), framework="pt") as f:
            names = set(f.keys())
            if names != set(expected):
                odd = sorted(names ^ set(expected))
                raise AdapterError(f"{path}: its tensors do not match the model's PEFT parameters "
                                   f"({len(odd)} differ, e.g. {odd[:2]})")
            for name in sorted(names):
                piece = f.get_slice(name)
                shape, dtype = tuple(piece.get_shape()), piece.get_dtype()
                if shape != tuple(expected[name]):
                    raise AdapterError(f"{path}: tensor shapes differ from what its config ({_sizes(config)}) "
                                       f"needs: {name} is {list(shape)}, expected {list(expected[name])}")
                if dtype not in FLOAT_DTYPES:
                    raise AdapterError(f"{path}: {name} holds {dtype} values, not floating point")
            tensors = {k: f.get_tensor(k) for k in sorted(names)}
    except AdapterError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for damaged files
        raise AdapterError(f"{path}: damaged adapter tensors ({exc})") from exc
    bad = [k for k, t in tensors.items() if not bool(torch.isfinite(t).all())]
    if bad:
        raise AdapterError(f"{path}: {len(bad)} tensor(s) hold NaN or infinite values (e.g. {bad[0]}); "
                           f"the adapter is unusable, pick another version")
    return tensors


def _copy_into(sam: Sam, tensors: dict[str, torch.Tensor]) -> None:
    """Copy the checked tensors into the model's PEFT parameters."""
    target = peft_state_dict(sam)
    with torch.no_grad():
        for k, t in target.items():
            t.copy_(tensors[k])
