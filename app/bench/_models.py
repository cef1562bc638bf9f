"""The start shared by the benchmarks that take SAM models by name (`bench auto`, `bench precision`, `bench tiles`)."""
from __future__ import annotations

import sys


def start_model_bench(args) -> bool:
    """Check that every name in `args.archs` is a SAM architecture or a registered checkpoint, and set torch's CPU
    threads to `args.threads` when given; False (the first unknown name printed to stderr) when one is not."""
    import torch

    from app.sam.checkpoints import CHECKPOINTS
    from app.sam.variants import ARCHS

    unknown = [a for a in args.archs if a not in ARCHS and a not in CHECKPOINTS]
    if unknown:
        print(f"error: unknown model {unknown[0]!r}; known: {', '.join(ARCHS)}", file=sys.stderr)
        return False
    if args.threads:
        torch.set_num_threads(args.threads)
    return True


def sam_by_name(name: str):
    """(model, label) on the CPU: the registered checkpoint `name` (SAM 1 or SAM 2.1) when its file is here, else the
    architecture `name` (`app.sam.variants.ARCHS`, else `app.sam2.SAM2_ARCHS`) with random weights (seeded 0),
    labelled so."""
    import torch

    from app.sam.checkpoints import CHECKPOINTS, load_sam
    from app.sam.variants import ARCHS, build_sam

    info = CHECKPOINTS.get(name)
    here = info is not None and info.path.is_file()
    sam2 = info.family == "sam2" if info is not None else name not in ARCHS
    if sam2:
        from app.sam2 import SAM2_ARCHS, build_sam2, load_sam2

        if name not in SAM2_ARCHS:
            raise ValueError(f"unknown model {name!r}; known: {', '.join([*ARCHS, *SAM2_ARCHS])}")
        if here:
            return load_sam2(name, device="cpu").model, name
        torch.manual_seed(0)
        return build_sam2(name), f"{name} (random weights)"
    if here:
        return load_sam(name, device="cpu").sam, name
    torch.manual_seed(0)
    return build_sam(name), f"{name} (random weights)"
