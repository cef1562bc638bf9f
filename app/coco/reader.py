"""Reading a COCO instances JSON file with clear errors for everything that is not one."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from app.coco.errors import CocoError


def read_coco_json(path: Path) -> dict:
    """The parsed COCO instances file, its top-level shape checked; CocoError naming the file otherwise.

    A missing 'annotations' list is read as empty.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise CocoError(path, "no such file") from None
    except UnicodeDecodeError:
        raise CocoError(path, "not UTF-8 text, so not a COCO JSON file") from None
    except json.JSONDecodeError as exc:
        raise CocoError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise CocoError(path, "not a COCO file: its JSON is nested too deeply to read") from None
    except ValueError:  # json's only other one: an integer too long for int() (sys.get_int_max_str_digits)
        raise CocoError(path, f"not a usable JSON file: it holds a number of more than "
                              f"{sys.get_int_max_str_digits()} digits") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise CocoError(path, "not a COCO instances file: expected a JSON object with an 'images' list")
    data.setdefault("annotations", [])
    for key in ("annotations", "categories"):
        if not isinstance(data.get(key, []), list):
            raise CocoError(path, f"'{key}' must be a list")
    return data
