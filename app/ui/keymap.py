"""Keyboard shortcuts: the actions, their default keys, and the user's `shortcuts.toml` that remaps them.

The file lives in the app's config folder (app.app_env) and is written with the defaults on first run.
An entry that cannot be used (unknown action, unreadable key, a key already taken by another action) is
reported and that action keeps its default keys; a file that is not valid TOML is reported and left alone.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from app.atomic_file import atomic_output

FILE_NAME = "shortcuts.toml"

ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "open_folder": ("Open folder…", ("Ctrl+O",)),
    "open_shared": ("Open shared project (PostgreSQL)…", ()),
    "open_demo": ("Open the demo project", ()),
    "show_project_folder": ("Show project folder", ()),
    "export_coco": ("Export COCO…", ("Ctrl+E",)),
    "export_png": ("Export PNG masks…", ()),
    "load_checkpoint": ("Load a SAM checkpoint…", ()),
    "precision_auto": ("Precision: automatic (bf16 on GPUs that have it, else float32)", ()),
    "precision_fp32": ("Precision: float32", ()),
    "precision_bf16": ("Precision: bfloat16", ()),
    "fine_tune": ("Fine-tune on my corrections", ("Ctrl+T",)),
    "cancel_training": ("Cancel fine-tuning", ()),
    "quit": ("Quit", ("Ctrl+Q",)),
    "previous_image": ("Previous image", ("A", "PgUp")),
    "next_image": ("Next image", ("D", "PgDown")),
    "next_without_instances": ("Next image without instances (skips images marked done)", ("Shift+D",)),
    "next_uncertain": ("Next most uncertain image without instances (from its proposals)", ("U",)),
    "sort_by_uncertainty": ("Sort the image list by uncertainty (most uncertain first)", ()),
    "mark_done": ("Mark the image done (again: not done)", ("Ctrl+D",)),
    "keep_changed_image": ("Keep the instances on the changed file", ()),
    "fit": ("Fit the image to the window", ("F", "0")),
    "zoom_in": ("Zoom in", ("+", "=")),
    "zoom_out": ("Zoom out", ("-",)),
    "zoom_actual": ("Zoom to 100 % (one screen pixel per image pixel)", ("Ctrl+1",)),
    "pan_left": ("Pan left (canvas focused)", ("Left",)),
    "pan_right": ("Pan right (canvas focused)", ("Right",)),
    "pan_up": ("Pan up (canvas focused)", ("Up",)),
    "pan_down": ("Pan down (canvas focused)", ("Down",)),
    "accept": ("Accept the draft as an instance", ("Return", "Enter", "N")),
    "clear_prompts": ("Clear the draft's prompts and strokes", ("Esc",)),
    "next_candidate": ("Next SAM candidate (after one ambiguous click)", ("Tab",)),
    "brush": ("Brush tool (again: back to prompts)", ("B",)),
    "eraser": ("Eraser tool (again: back to prompts)", ("E",)),
    "brush_smaller": ("Smaller brush", ("[",)),
    "brush_larger": ("Larger brush", ("]",)),
    "undo": ("Undo", ("Ctrl+Z",)),
    "redo": ("Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
    "delete_instance": ("Delete the selected instance", ("Del",)),
    "relabel_instance": ("Give the selected instance the current label", ("R",)),
    "hide_instance": ("Hide or show the selected instance", ("H",)),
    "hide_all_instances": ("Hide all instances (again: show them)", ("Shift+H",)),
    "masks_fainter": ("Masks more transparent", ("O",)),
    "masks_stronger": ("Masks more opaque", ("Shift+O",)),
    **{f"label_{n}": (f"Use label {n}", (str(n),)) for n in range(1, 10)},
    "propose_image": ("Propose instances on this image (replaces its pending proposals)", ("P",)),
    "propose_all": ("Propose on every image without instances (in the background)", ("Shift+P",)),
    "cancel_proposals": ("Cancel proposing", ()),
    "accept_proposal": ("Accept the proposal under the cursor", ("Y",)),
    "accept_proposals_above": ("Accept all proposals scoring at least the threshold", ("Shift+Y",)),
    "proposal_threshold": ("Score threshold for accepting all…", ()),
    "reject_proposal": ("Reject the proposal under the cursor", ("X",)),
    "reject_all_proposals": ("Reject all proposals of this image", ("Shift+X",)),
    "edit_proposal": ("Make the proposal under the cursor the draft (correct it, then Enter)", ("C",)),
    "proposal_settings": ("Proposal settings…", ()),
    "help": ("Keyboard shortcuts", ("F1",)),
}

_MODIFIER_KEYS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_unknown}

HEADER = """\
# MoPEFT Annotator keyboard shortcuts (read at start-up).
# Each action takes a list of keys, written as Qt writes them: "Ctrl+Shift+Z", "PgDown", "Return", "F1", "[".
# [] leaves an action without a key. An entry that cannot be used is reported and its action keeps the
# default keys. Delete this file to get every default back.
# Fixed mouse bindings: left click = positive point, right click = negative point, left drag = box,
# wheel = zoom at the cursor, middle drag or Space + drag = pan, Ctrl + wheel = brush size.

[shortcuts]
"""


@dataclass
class Keymap:
    """Keys per action name, the file they came from, and the problems found in it."""

    keys: dict[str, tuple[str, ...]]
    path: Path | None = None
    problems: list[str] = field(default_factory=list)


def defaults() -> dict[str, tuple[str, ...]]:
    """The default keys of every action."""
    return {name: keys for name, (_, keys) in ACTIONS.items()}


def normalised(key: str) -> str | None:
    """A key as Qt writes it ("ctrl+z" -> "Ctrl+Z"), or None when Qt cannot read it as a key."""
    if not isinstance(key, str):
        return None
    sequence = QKeySequence.fromString(key, QKeySequence.SequenceFormat.PortableText)
    if sequence.isEmpty() or any(sequence[i].key() in _MODIFIER_KEYS for i in range(sequence.count())):
        return None
    return sequence.toString(QKeySequence.SequenceFormat.PortableText) or None


def default_text() -> str:
    """The shortcuts file with every default, one commented line per action."""
    lines = [f"{name} = [{', '.join(json.dumps(k) for k in keys)}]".ljust(48) + f"# {text}"
             for name, (text, keys) in ACTIONS.items()]
    return HEADER + "\n".join(lines) + "\n"


def load_keymap(config_dir: Path) -> Keymap:
    """The keymap from `config_dir/shortcuts.toml`, written with the defaults when it does not exist."""
    path = Path(config_dir) / FILE_NAME
    keymap = Keymap(defaults(), path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as f:
            f.write(default_text())
        return keymap
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("shortcuts", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        keymap.problems.append(f"{path}: cannot be read ({exc}); using the default shortcuts")
        return keymap
    if not isinstance(table, dict):
        keymap.problems.append(f"{path}: [shortcuts] must be a table; using the default shortcuts")
        return keymap
    for name, value in table.items():
        keys = _keys(name, value, path, keymap.problems)
        if keys is not None:
            keymap.keys[name] = keys
    _drop_conflicts(keymap)
    return keymap


def _keys(name: str, value, path: Path, problems: list[str]) -> tuple[str, ...] | None:
    if name not in ACTIONS:
        problems.append(f"{path}: unknown action {name!r} ignored (known: {', '.join(ACTIONS)})")
        return None
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        problems.append(f"{path}: {name} must be a list of keys like [\"Ctrl+Z\"]; default kept")
        return None
    keys = [normalised(k) for k in value]
    bad = [k for k, n in zip(value, keys) if n is None]
    if bad:
        problems.append(f"{path}: {name}: {', '.join(map(repr, bad))} is not a key Qt knows; default kept")
        return None
    return tuple(keys)


def _drop_conflicts(keymap: Keymap) -> None:
    """Give an edited action its default keys back while one of its keys is bound to another action too.

    The defaults never clash, so every clash involves an edited action, and each round restores one.
    """
    while True:
        owners: dict[str, list[str]] = {}
        for name, keys in keymap.keys.items():
            for key in keys:
                owners.setdefault(key.lower(), []).append(name)
        clash = next((names for names in owners.values() if len(names) > 1), None)
        if clash is None:
            return
        culprit = next(n for n in clash if keymap.keys[n] != ACTIONS[n][1])
        key = next(k for k in keymap.keys[culprit] if len(owners[k.lower()]) > 1)
        keymap.keys[culprit] = ACTIONS[culprit][1]
        others = ", ".join(n for n in clash if n != culprit)
        keymap.problems.append(f"{keymap.path}: {culprit}: key {key!r} is also bound to {others}; "
                               f"{culprit} keeps its default keys")
