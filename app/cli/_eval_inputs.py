"""What `mopeft eval` loads before it scores, with or without --auto: the COCO file, the device and the model."""
from __future__ import annotations

import sys


def load_dataset_and_model(args):
    """The COCO file `args.data`, the chosen device and the SAM 1 or SAM 2.1 model `args.model` (with `args.adapter`
    loaded into it, if given), as (dataset, device, loaded); None, the error printed to stderr, when one of them
    fails to load.
    Shared by both kinds of evaluation (app/cli/eval.py and app/cli/_auto_eval.py)."""
    from app.coco.errors import CocoError
    from app.device import choose_device
    from app.metrics import load_coco_dataset
    from app.mopeft import load_adapter
    from app.models.any_family import load_any_sam

    try:
        dataset = load_coco_dataset(args.data)
        device = choose_device(args.device)
        loaded = load_any_sam(args.model, device=device.device)
        if args.adapter:
            load_adapter(loaded.sam, args.adapter)
    except (CocoError, ValueError, OSError) as exc:  # CheckpointError and AdapterError are ValueErrors
        print(f"mopeft eval: error: {exc}", file=sys.stderr)
        return None
    return dataset, device, loaded
