"""Trainer options on a command line, shared by `mopeft train` and `mopeft bench adapt`: their flags and help."""
from __future__ import annotations

from app.mopeft.kinds.bottleneck import DROPOUT_FROM, BottleneckConfig
from app.training.finetune.settings import KIND_LR, kind_lr_text


def add_trainer_options(parser) -> None:
    """--kind-lr and --adapter-dropout, with the trainer's defaults in their help."""
    parser.add_argument("--kind-lr", default="", metavar="KIND=SCALE,...",
                        help=f"learning-rate scales per PEFT kind over the trainer's defaults "
                             f"({kind_lr_text(KIND_LR)}), e.g. lora=1 (docs/benchmarks.md measures them)")
    parser.add_argument("--adapter-dropout", type=float, default=BottleneckConfig.dropout, metavar="P",
                        help=f"dropout on the bottleneck adapters' units after the first {DROPOUT_FROM * 100:.0f}%% of "
                             f"the steps (default {BottleneckConfig.dropout}; 0: none)")
