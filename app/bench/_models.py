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
    """(sam, label) on the CPU: the registered checkpoint `name` when its file is here, else the architecture `name`
    with random weights (seeded 0), labelled so."""
    import torch

    from app.sam.checkpoints import CHECKPOINTS, load_sam
    from app.sam.variants import build_sam

    if name in CHECKPOINTS and CHECKPOINTS[name].path.is_file():
        return load_sam(name, device="cpu").sam, name
    torch.manual_seed(0)
    return build_sam(name), f"{name} (random weights)"
