"""The start shared by the benchmarks that take SAM models by name (`bench auto`, `bench precision`, `bench tiles`)."""
from __future__ import annotations

import sys


def start_model_bench(args) -> bool:
    """Check that every name in `args.archs` is a SAM 1 architecture or registered checkpoint, and set torch's CPU
    threads to `args.threads` when given; False (the first unknown name printed to stderr) when one is not."""
    import torch

    from app.sam.checkpoints import CHECKPOINTS
    from app.sam.variants import ARCHS

    unknown = [a for a in args.archs if a not in ARCHS and (a not in CHECKPOINTS or CHECKPOINTS[a].family != "sam")]
    if unknown:
        print(f"error: unknown model {unknown[0]!r} (this benchmark runs SAM 1); known: {', '.join(ARCHS)}",
              file=sys.stderr)
        return False
    if args.threads:
        torch.set_num_threads(args.threads)
    return True


def sam_by_name(name: str):
    """(model, label) on the CPU, SAM 1 or SAM 2.1: the registered checkpoint `name` when its file is here, else the
    architecture `name` with random weights (seeded 0), labelled so."""
    from app.models.any_family import build_any_sam, load_any_sam
    from app.sam.checkpoints import CHECKPOINTS

    if name in CHECKPOINTS and CHECKPOINTS[name].path.is_file():
        return load_any_sam(name, device="cpu").sam, name
    return build_any_sam(name), f"{name} (random weights)"
