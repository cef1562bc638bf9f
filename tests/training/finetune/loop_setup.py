"""The tiny SAM and toy images the training-loop tests share."""
import numpy as np
import torch

from app.metrics.dataset import EvalImage
from app.mopeft import wrap
from app.sam.variants import build_sam
from app.training.finetune.examples import model_inputs
from app.training.finetune.loop import prepare
from fixture_paths import TINY_SAM
from toy_shapes import scenes


def examples(n=3):
    """`n` inverted toy scenes as training images, one object each."""
    out = []
    for i, (image, mask, _) in enumerate(scenes(n, seed=5, invert=True)):
        out.append(EvalImage(f"img{i}.png", image.permute(1, 2, 0).numpy().astype(np.uint8), [mask.numpy() > 0], [i]))
    return out


def wrapped_and_prepared(settings):
    """The tiny SAM wrapped with `settings.mopeft`, and the toy examples prepared for its loop."""
    sam = build_sam("tiny")
    sam.load_state_dict(torch.load(TINY_SAM, weights_only=True))
    wrap(sam, settings.mopeft)
    return sam, prepare(sam, [model_inputs(sam, e) for e in examples()])
