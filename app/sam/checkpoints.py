"""SAM checkpoints: the registry of known files, where they live, and loading one into a Sam model.

Loading never trusts a file name: the variant is read from the tensor shapes in the state dict and
matched against `app.sam.variants.ARCHS`, so a renamed, truncated or foreign file is refused with a
`CheckpointError` that names the file. Files are read with torch's weights-only loader (a pickle that would
run code is refused, never run), and every tensor's shape, dtype and finiteness is checked against the
variant before the model takes them; any failure on the way is a `CheckpointError`.
"""
from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from segment_anything.modeling import Sam

from app.app_env import cache_dir
from app.device import choose_device
from app.resources import DEMO_MODEL
from app.sam.errors import SamError
from app.sam.variants import ARCHS, build_sam

CHECKPOINT_DIR_ENV = "MOPEFT_CHECKPOINT_DIR"
"""Environment variable that replaces the default download folder for checkpoints."""

_OFFICIAL_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
_SAM2_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
"""Meta's SAM 2.1 files. Their sha256 and sizes are not pinned yet (this workplace has no network to read them):
`mopeft download` refuses an entry without a sha256 and points to `--url ... --sha256 ...`."""
_POS_EMBED = "image_encoder.pos_embed"
_PATCH_EMBED = "image_encoder.patch_embed.proj.weight"
_NECK = "image_encoder.neck.0.weight"
_REL_POS = "image_encoder.blocks.0.attn.rel_pos_h"


class CheckpointError(SamError, ValueError):
    """A checkpoint file that is missing, unreadable, not SAM, or not the variant asked for."""


def checkpoint_dir() -> Path:
    """Folder that downloaded checkpoints go to: $MOPEFT_CHECKPOINT_DIR, else the user cache dir."""
    override = os.environ.get(CHECKPOINT_DIR_ENV)
    return Path(override) if override else cache_dir() / "checkpoints"


@dataclass(frozen=True)
class CheckpointInfo:
    """A registered checkpoint: its architecture and file, and for downloadable ones the URL, sha256 and size."""

    name: str
    arch: str
    filename: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    bundled: Path | None = None  # shipped with the app rather than downloaded
    family: str = "sam"  # "sam": SAM 1, loaded by load_sam; "sam2": SAM 2.1, loaded by app.sam2.load_sam2

    @property
    def path(self) -> Path:
        """Where the file is expected: the bundled path, or the checkpoint download folder."""
        return self.bundled if self.bundled is not None else checkpoint_dir() / self.filename


def _official(arch: str, filename: str, sha256: str, size: int) -> CheckpointInfo:
    return CheckpointInfo(arch, arch, filename, _OFFICIAL_URL + filename, sha256, size)


CHECKPOINTS: dict[str, CheckpointInfo] = {
    "vit_b": _official("vit_b", "sam_vit_b_01ec64.pth",
                       "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", 375_042_383),
    "vit_l": _official("vit_l", "sam_vit_l_0b3195.pth",
                       "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", 1_249_524_607),
    "vit_h": _official("vit_h", "sam_vit_h_4b8939.pth",
                       "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", 2_564_550_879),
    **{name: CheckpointInfo(name, name, filename, _SAM2_URL + filename, family="sam2") for name, filename in (
        ("sam2.1_hiera_t", "sam2.1_hiera_tiny.pt"), ("sam2.1_hiera_s", "sam2.1_hiera_small.pt"),
        ("sam2.1_hiera_b+", "sam2.1_hiera_base_plus.pt"), ("sam2.1_hiera_l", "sam2.1_hiera_large.pt"))},
    # made by `mopeft pretrain-demo --seed 0` (docs/demo-model.md)
    "demo": CheckpointInfo("demo", "demo", "demo_sam.pth",
                           sha256="b84a67111c974a203774bffcdb80215a05df0909f673f022b96a56bbf1a23a34",
                           size=15_294_003, bundled=DEMO_MODEL),
}


@dataclass
class LoadedSam:
    """A SAM model with its weights loaded, the variant name found in the file, and the file it came from."""

    sam: Sam  # transformers' Sam2Model when `app.models.any_family.load_any_sam` loaded SAM 2.1
    arch: str
    path: Path


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict (bare, or wrapped under "model"/"state_dict") with torch's weights-only loader, on CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the checkpoint file is empty")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint file ({exc.strerror or exc})") from exc
    except pickle.UnpicklingError as exc:  # torch's text advises weights_only=False: unsafe, never repeated
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found:
            raise CheckpointError(f"{path}: not a checkpoint of plain tensors: it holds Python objects "
                                  f"({found.group(1)}), which are never loaded since they could run code") from exc
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated, corrupt or another format)") \
            from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError... for unreadable files
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated, corrupt or another format): {_reason(exc)}"
        ) from exc
    if isinstance(obj, dict) and _POS_EMBED not in obj:
        for key in ("model", "state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors (found {type(obj).__name__})")
    return obj


def detect_arch(state_dict: dict[str, torch.Tensor], source: str = "state dict") -> str:
    """Name of the `ARCHS` variant whose shapes the state dict has; `source` names it in errors.

    Reads the input size and embed dim from `image_encoder.pos_embed` and the patch embedding, the
    depth from the number of encoder blocks, the prompt dim from the neck and the heads from the
    relative position tables. Works on tensors of any device, including meta.
    """
    missing = [k for k in (_POS_EMBED, _PATCH_EMBED, _NECK) if k not in state_dict]
    if missing:
        some = ", ".join(list(state_dict)[:3]) or "nothing"
        raise CheckpointError(f"{source}: not a SAM checkpoint: it has no {missing[0]} (it holds {some}, ...)")
    pos, patch = state_dict[_POS_EMBED].shape, state_dict[_PATCH_EMBED].shape
    if len(pos) != 4 or len(patch) != 4:
        raise CheckpointError(f"{source}: not a SAM checkpoint: {_POS_EMBED} has shape {tuple(pos)}")
    found = {
        "img_size": pos[1] * patch[-1],
        "embed_dim": pos[-1],
        "patch_size": patch[-1],
        "depth": len({k.split(".")[2] for k in state_dict if k.startswith("image_encoder.blocks.")}),
        "prompt_dim": state_dict[_NECK].shape[0],
    }
    if _REL_POS in state_dict:
        found["num_heads"] = pos[-1] // state_dict[_REL_POS].shape[-1]
    for name, arch in ARCHS.items():
        if all(getattr(arch, field) == value for field, value in found.items()):
            return name
    shape = ", ".join(f"{field} {value}" for field, value in found.items())
    raise CheckpointError(f"{source}: SAM weights of an unknown size ({shape}); known variants: {', '.join(ARCHS)}")


def resolve_checkpoint(source: str | Path) -> tuple[Path, CheckpointInfo | None]:
    """The file of a registered name or a path, and its registry entry (None for a path); a CheckpointError when the
    file is missing or a registered file has the wrong size."""
    info = CHECKPOINTS.get(str(source))
    if info is None:
        path = Path(source).expanduser()
        if not path.exists():
            raise CheckpointError(
                f"{source}: no such checkpoint file, and not a registered name ({', '.join(CHECKPOINTS)})")
        return path, None
    path = info.path
    if not path.is_file():
        if info.url:
            raise CheckpointError(f"{path}: the {info.name} checkpoint is not there yet; "
                                  f"get it with `mopeft download {info.name}`")
        raise CheckpointError(f"{path}: the {info.name} model file is missing; it ships with the app "
                              f"(resources/models/{info.filename}), or load another checkpoint")
    if info.size is not None and path.stat().st_size != info.size:
        fix = f"delete it and run `mopeft download {info.name}`" if info.url else "reinstall the app to restore it"
        raise CheckpointError(f"{path}: {path.stat().st_size} bytes where the official {info.name} file has "
                              f"{info.size}; {fix}")
    return path, info


def load_sam(source: str | Path, device: str | torch.device | None = None, arch: str | None = None) -> LoadedSam:
    """Load SAM from a registered name ("vit_b", "demo", ...) or a checkpoint file path.

    The variant comes from the file's shapes; `arch` (or the registry entry) is checked against it.
    `device` defaults to `choose_device()`. The model is built on the meta device and takes the
    loaded tensors as they are, so no random weights are made and no second copy is held.
    SAM 2.1 too: `app.models.any_family.load_any_sam`.
    """
    if arch is not None and arch not in ARCHS:
        raise ValueError(f"unknown SAM variant {arch!r}; known: {', '.join(ARCHS)}")
    registered = CHECKPOINTS.get(str(source))
    if registered is not None and registered.family != "sam":
        raise CheckpointError(f"{source}: a SAM 2.1 model; load it with app.sam2.load_sam2")
    path, info = resolve_checkpoint(source)
    return sam_from_state(read_state_dict(path), path, (arch, info.arch if info else None), device)


def sam_from_state(state: dict[str, torch.Tensor], path: Path, wanted: tuple[str | None, ...] = (),
                   device: str | torch.device | None = None) -> LoadedSam:
    """SAM 1 from the state dict `read_state_dict` read from `path`: its variant found from the shapes (each name in
    `wanted` that is not None must be it), checked, loaded and moved to `device` (None: `choose_device()`)."""
    found = detect_arch(state, str(path))
    check_wanted(found, wanted, path)
    with torch.device("meta"):
        sam = build_sam(found)
    check_state_dict(state, sam.state_dict(), path, found)
    try:
        sam.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise CheckpointError(f"{path}: its tensors do not fit SAM {found}: {detail}") from exc
    return LoadedSam(moved(sam, device, path, f"SAM {found}"), found, path)


def check_wanted(found: str, wanted: tuple[str | None, ...], path: Path) -> None:
    """A CheckpointError when a variant asked for (None: no wish) is not the `found` one."""
    for name in wanted:
        if name is not None and name != found:
            raise CheckpointError(f"{path}: holds a {found} checkpoint, but {name} was asked for")


def moved(model: nn.Module, device: str | torch.device | None, path: Path, what: str) -> nn.Module:
    """`model` on `device` (None: `choose_device()`) in eval mode; a CheckpointError naming the file when it cannot go
    there (out of memory on the GPU, ...)."""
    target = choose_device().device if device is None else torch.device(device)
    try:
        return model.to(target).eval()
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: {what} could not be moved to {target}: {_reason(exc)}") from exc


def check_state_dict(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path,
                     arch: str) -> None:
    """Refuse a loaded checkpoint's state dict unless it fits the (meta) model's `expected` one: tensors missing or
    unknown, of another shape or kind, or holding NaN or infinite values; each error names the file `path`.
    Used by both loaders (`load_sam` and app.sam2's `load_sam2`)."""
    for what, keys in (("lacks", expected.keys() - state.keys()),
                       ("has unknown tensors", state.keys() - expected.keys())):
        if keys:
            raise CheckpointError(f"{path}: a {arch} checkpoint that {what} {', '.join(sorted(keys)[:3])} "
                                  f"({len(keys)} in all)")
    odd = [k for k, t in expected.items() if state[k].shape != t.shape]
    if odd:
        k = odd[0]
        raise CheckpointError(f"{path}: a {arch} checkpoint whose {k} has shape {list(state[k].shape)}, "
                              f"SAM {arch} needs {list(expected[k].shape)} ({len(odd)} tensor(s) differ)")
    odd = [k for k, t in expected.items() if t.is_floating_point() and not state[k].is_floating_point()]
    if odd:
        raise CheckpointError(f"{path}: {odd[0]} holds {state[odd[0]].dtype} values, not floating point "
                              f"({len(odd)} tensor(s) like it)")
    bad = [k for k, t in state.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise CheckpointError(f"{path}: {len(bad)} tensor(s) hold NaN or infinite values (e.g. {bad[0]}); "
                              f"the checkpoint is damaged, get a fresh copy")
