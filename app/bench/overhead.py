"""`mopeft bench overhead`: what MoPEFT costs and what the cached path saves, measured side by side."""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from app.bench._timing import median, time_interleaved
from app.mopeft import MoPEFTConfig, encode_from, encode_until, frozen_prefix_length, trainable_parameters, wrap
from app.sam.variants import ARCHS, build_sam


def register(sub) -> None:
    p = sub.add_parser("overhead", help="wrapped vs plain encoder time, trainable parameters, cached vs full step")
    p.add_argument("--arch", default="vit_b", choices=sorted(ARCHS), help="SAM architecture (random weights)")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds per measurement (after one warm-up)")
    p.add_argument("--cached-blocks", type=int, default=4, help="N of the last:N cached path")
    p.set_defaults(run=run)


def training_step(sam, optimizer, forward_embedding):
    """One one-click training step: embedding, mask decoder, BCE on the low-res logits, backward, update."""
    emb = forward_embedding()
    size = emb.shape[-1] * 4
    sparse, dense = sam.prompt_encoder(points=(torch.tensor([[[size * 2.0, size * 2.0]]]), torch.ones(1, 1)),
                                       boxes=None, masks=None)
    low, _ = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                              sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                              multimask_output=False)
    target = torch.zeros_like(low)
    target[..., size // 4: size * 3 // 4, size // 4: size * 3 // 4] = 1
    loss = F.binary_cross_entropy_with_logits(low, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@dataclass
class StepModels:
    """Random-weight SAM of one architecture, plain and wrapped two ways, with one image and its cached tokens."""

    plain: torch.nn.Module
    full: torch.nn.Module  # MoPEFT on every block
    last: torch.nn.Module  # MoPEFT on the last N blocks
    image: torch.Tensor
    start: int  # first wrapped block of `last`
    tokens: torch.Tensor  # output of `last`'s frozen blocks on `image`

    @classmethod
    def build(cls, arch: str, cached_blocks: int) -> "StepModels":
        torch.manual_seed(0)
        plain = build_sam(arch)
        full = wrap(copy.deepcopy(plain), MoPEFTConfig())
        last = wrap(copy.deepcopy(plain), MoPEFTConfig(blocks=f"last:{cached_blocks}"))
        side = plain.image_encoder.img_size
        image = torch.randn(1, 3, side, side)
        start = frozen_prefix_length(last)
        with torch.no_grad():
            tokens = encode_until(last, image, start)
        return cls(plain, full, last, image, start, tokens)

    def encode_call(self, model: torch.nn.Module) -> Callable[[], None]:
        """A no-grad encoder forward of `model` on the image."""
        def run():
            with torch.no_grad():
                model.image_encoder(self.image)
        return run

    def step_calls(self) -> dict[str, Callable[[], None]]:
        """One training step each: "full" (every block), "uncached" (last N, frozen blocks rerun), "cached"."""
        opt_full = torch.optim.AdamW([p for p in self.full.parameters() if p.requires_grad], lr=1e-4)
        opt_last = torch.optim.AdamW([p for p in self.last.parameters() if p.requires_grad], lr=1e-4)
        return {
            "full": lambda: training_step(self.full, opt_full, lambda: self.full.image_encoder(self.image)),
            "uncached": lambda: training_step(self.last, opt_last, lambda: self.last.image_encoder(self.image)),
            "cached": lambda: training_step(self.last, opt_last,
                                            lambda: encode_from(self.last, self.tokens, self.start)),
        }


def measure(arch: str, repeat: int, cached_blocks: int, emit) -> None:
    """Measure one architecture, calling emit(measure, value) for each row as soon as it is known."""
    m = StepModels.build(arch, cached_blocks)
    side = m.image.shape[-1]
    t = time_interleaved({"plain": m.encode_call(m.plain), "wrapped": m.encode_call(m.full)}, repeat)
    emit(f"encoder forward, plain SAM ({side}x{side})", f"{median(t['plain']):.3f} s")
    emit("encoder forward, MoPEFT all blocks (lora+prefix+adapter)", f"{median(t['wrapped']):.3f} s")
    emit("  ratio wrapped / plain (goal <= 1.2)", f"{median(t['wrapped']) / median(t['plain']):.3f}x")

    counts = trainable_parameters(m.full)
    for kind, n in counts.per_kind.items():
        emit(f"trainable parameters, {kind}", f"{n:,} ({n / counts.total:.2%})")
    emit("trainable parameters, all kinds (goal <= 2 %)", f"{counts.trainable:,} ({counts.share:.2%})")
    emit("model parameters", f"{counts.total:,}")

    t = time_interleaved(m.step_calls(), repeat)
    emit("training step, full path (MoPEFT on all blocks)", f"{median(t['full']):.3f} s")
    emit(f"training step, last:{cached_blocks} without the cache", f"{median(t['uncached']):.3f} s")
    emit(f"training step, cached last:{cached_blocks} path", f"{median(t['cached']):.3f} s")
    emit("  speed-up cached vs full (goal >= 3)", f"{median(t['full']) / median(t['cached']):.2f}x")
    emit(f"  speed-up of the cache alone (last:{cached_blocks})", f"{median(t['uncached']) / median(t['cached']):.2f}x")


def run(args) -> int:
    torch.set_grad_enabled(True)
    print(f"mopeft bench overhead --arch {args.arch} --repeat {args.repeat} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeat})")
    width = 58
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    measure(args.arch, args.repeat, args.cached_blocks,
            lambda name, value: print(f"| {name.ljust(width)} | {value} |", flush=True))
    return 0
