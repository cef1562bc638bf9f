"""`mopeft bench overhead`: what MoPEFT costs and what the cached path saves, measured side by side, on SAM 1 or
SAM 2.1."""
from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from app.bench._timing import median, time_interleaved
from app.mopeft import MoPEFTConfig, encode_from, encode_until, frozen_prefix_length, trainable_parameters, wrap
from app.mopeft.families import family
from app.models.any_family import build_any_sam, check_arch


def register(sub) -> None:
    p = sub.add_parser("overhead", help="wrapped vs plain encoder time, trainable parameters, cached vs full step")
    p.add_argument("--arch", default="vit_b", help="SAM architecture, random weights (vit_b, vit_l, vit_h, demo, "
                                                   "tiny; SAM 2.1: sam2.1_hiera_t, _s, _b+, _l, sam2_tiny)")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds per measurement (after one warm-up)")
    p.add_argument("--cached-blocks", type=int, default=4, help="N of the last:N cached path")
    p.set_defaults(run=run)


def input_side(model) -> int:
    """The model's square input side in pixels."""
    return model.config.prompt_encoder_config.image_size if family(model) == "sam2" else model.image_encoder.img_size


def full_encoder(model) -> Callable[[torch.Tensor], object]:
    """The whole image encoder: preprocessed images -> what the mask decoder reads (SAM 2.1: its three maps)."""
    if family(model) == "sam2":
        from app.sam2.encoder import image_features

        return lambda x: image_features(model, x)
    return model.image_encoder


def one_click_logits(sam, emb) -> torch.Tensor:
    """The single-mask low-res logits (1, 1, S, S) for one positive click at the centre, from the encoder's output."""
    size = (emb[-1] if family(sam) == "sam2" else emb).shape[-1] * 4
    point = torch.tensor([[[size * 2.0, size * 2.0]]])
    if family(sam) == "sam2":
        out = sam(image_embeddings=emb, input_points=point[None], input_labels=torch.ones(1, 1, 1, dtype=torch.int),
                  multimask_output=False)
        return out.pred_masks[:, 0]
    sparse, dense = sam.prompt_encoder(points=(point, torch.ones(1, 1)), boxes=None, masks=None)
    low, _ = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                              sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                              multimask_output=False)
    return low


def training_step(sam, optimizer, forward_embedding):
    """One one-click training step: embedding, mask decoder, BCE on the low-res logits, backward, update."""
    low = one_click_logits(sam, forward_embedding())
    size = low.shape[-1]
    target = torch.zeros_like(low)
    target[..., size // 4: size * 3 // 4, size // 4: size * 3 // 4] = 1
    loss = F.binary_cross_entropy_with_logits(low, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@dataclass
class StepModels:
    """Random-weight SAM (1 or 2.1) of one architecture, plain and wrapped two ways, with one image and its cached
    tokens."""

    plain: torch.nn.Module
    full: torch.nn.Module  # MoPEFT on every block
    last: torch.nn.Module  # MoPEFT on the last N blocks
    image: torch.Tensor
    start: int  # first wrapped block of `last`
    tokens: torch.Tensor  # output of `last`'s frozen blocks on `image`

    @classmethod
    def build(cls, arch: str, cached_blocks: int) -> "StepModels":
        plain = build_any_sam(arch)
        full = wrap(copy.deepcopy(plain), MoPEFTConfig())
        last = wrap(copy.deepcopy(plain), MoPEFTConfig(blocks=f"last:{cached_blocks}"))
        side = input_side(plain)
        image = torch.randn(1, 3, side, side)
        start = frozen_prefix_length(last)
        with torch.no_grad():
            tokens = encode_until(last, image, start)
        return cls(plain, full, last, image, start, tokens)

    def encode_call(self, model: torch.nn.Module) -> Callable[[], None]:
        """A no-grad encoder forward of `model` on the image."""
        encoder = full_encoder(model)

        def run():
            with torch.no_grad():
                encoder(self.image)
        return run

    def step_calls(self) -> dict[str, Callable[[], None]]:
        """One training step each: "full" (every block), "uncached" (last N, frozen blocks rerun), "cached"."""
        opt_full = torch.optim.AdamW([p for p in self.full.parameters() if p.requires_grad], lr=1e-4)
        opt_last = torch.optim.AdamW([p for p in self.last.parameters() if p.requires_grad], lr=1e-4)
        full, last = full_encoder(self.full), full_encoder(self.last)
        return {
            "full": lambda: training_step(self.full, opt_full, lambda: full(self.image)),
            "uncached": lambda: training_step(self.last, opt_last, lambda: last(self.image)),
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
    try:
        check_arch(args.arch)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    torch.set_grad_enabled(True)
    print(f"mopeft bench overhead --arch {args.arch} --repeat {args.repeat} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeat})")
    width = 58
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    measure(args.arch, args.repeat, args.cached_blocks,
            lambda name, value: print(f"| {name.ljust(width)} | {value} |", flush=True))
    return 0
