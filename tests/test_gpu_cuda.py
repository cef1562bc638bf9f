"""On a CUDA GPU: the attention composition CUDA takes against the CPU's, autocast, the engines (SAM 1's, SAM 2.1's
fast path), two trainer steps and the memory a run gives back. Marked `gpu` and skipped without CUDA;
`.ci/gpu-check` runs them (`pytest -m gpu`). tests/test_gpu_branches.py forces the same code on the CPU."""
import copy

import numpy as np
import pytest
import torch

from fixture_paths import TINY_SAM
from app.device import autocast, choose_precision, release_cached_memory
from app.metrics.dataset import EvalImage
from app.mopeft import MoPEFTConfig, wrap
from app.sam.attention import attention_probabilities
from app.sam.engine import SamEngine
from app.sam.variants import build_sam
from app.synth.scenes import make_scene
from app.training.finetune.examples import model_inputs
from app.training.finetune.loop import prepare, train_loop
from app.training.finetune.run import fine_tune
from app.training.finetune.settings import TrainSettings

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CUDA = torch.device("cuda")
FIXTURE = TINY_SAM
MIB = 2 ** 20


def _tiny_sam():
    sam = build_sam("tiny")
    sam.load_state_dict(torch.load(FIXTURE, weights_only=True))
    return sam


def _attention_inputs(device, size=(6, 5)):
    torch.manual_seed(0)
    h, w = size
    tensors = [torch.randn(12, h * w, 16), torch.randn(12, h * w, 16), torch.randn(2 * h - 1, 16),
               torch.randn(2 * w - 1, 16)]
    return [t.to(device).requires_grad_() for t in tensors], torch.randn(12, h * w, h * w).to(device)


@pytest.mark.parametrize("in_place", [None, True])  # None: the composition CUDA takes by default
def test_attention_on_cuda_gives_the_cpus_probabilities_and_gradients(in_place):
    (q, k, rh, rw), upstream = _attention_inputs("cpu")
    cpu = attention_probabilities(q, k, 0.25, (rh, rw), (6, 5))
    cpu_grads = torch.autograd.grad((cpu * upstream).sum(), [q, k, rh, rw])
    (q, k, rh, rw), upstream = _attention_inputs(CUDA)
    gpu = attention_probabilities(q, k, 0.25, (rh, rw), (6, 5), in_place=in_place)
    gpu_grads = torch.autograd.grad((gpu * upstream).sum(), [q, k, rh, rw])
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-4)
    for g, c in zip(gpu_grads, cpu_grads):
        torch.testing.assert_close(g.cpu(), c, atol=1e-4, rtol=1e-3)


def test_attention_under_cuda_autocast_keeps_its_softmax_in_float32():
    (q, k, rh, rw), _ = _attention_inputs(CUDA)
    with torch.no_grad():
        exact = attention_probabilities(q, k, 0.25, (rh, rw), (6, 5))
        with autocast(CUDA, precision="auto"):
            reduced = attention_probabilities(q, k, 0.25, (rh, rw), (6, 5))
    assert reduced.dtype == torch.float32
    torch.testing.assert_close(reduced, exact, atol=2e-2, rtol=0)


@pytest.mark.parametrize("training", [False, True])
def test_autocast_follows_this_gpu(training):
    expected = choose_precision(CUDA, "auto", training).dtype
    if torch.cuda.is_bf16_supported():
        assert expected is torch.bfloat16
    a = torch.randn(8, 8, device=CUDA)
    with autocast(CUDA, training, precision="auto"):
        assert (a @ a).dtype == (expected or torch.float32)


def _click(engine, scene):
    engine.set_image(scene.image)
    ys, xs = np.nonzero(scene.masks[0])
    return engine.predict(points=[[xs[len(xs) // 2], ys[len(ys) // 2]]], labels=[1], multimask=True)


def test_the_engine_on_cuda_gives_the_cpus_masks():
    scene = make_scene("shapes", 0, 1, 128)
    sam = _tiny_sam()
    cpu = _click(SamEngine(copy.deepcopy(sam)), scene)
    gpu_engine = SamEngine(sam, device=CUDA, precision="auto")
    gpu = _click(gpu_engine, scene)
    exact = _click(SamEngine(sam, fast=False), scene)  # the same model, now on CUDA: SamPredictor's path
    assert gpu_engine.image_embedding.device.type == "cuda" and gpu_engine.image_embedding.dtype == torch.float32
    assert gpu_engine.precision == {torch.bfloat16: "bf16", torch.float16: "fp16"}[choose_precision(CUDA, "auto").dtype]
    for other in (cpu, exact):
        best = other.best
        iou = np.logical_and(gpu.masks[best], other.masks[best]).sum() / np.logical_or(gpu.masks[best],
                                                                                         other.masks[best]).sum()
        assert iou > 0.9  # bf16 (or fp16) embeddings against fp32 ones
        np.testing.assert_allclose(gpu.scores, other.scores, atol=0.1)


def test_the_sam2_fast_path_on_cuda_gives_the_cpus_masks(tiny_sam2):
    from app.sam2.engine import Sam2Engine

    rgb = (np.random.default_rng(0).random((97, 161, 3)) * 255).astype(np.uint8)
    cpu, gpu = Sam2Engine(copy.deepcopy(tiny_sam2)), Sam2Engine(tiny_sam2, device=CUDA, precision="fp32")
    cpu.set_image(rgb), gpu.set_image(rgb)
    assert gpu.features[-1].device.type == "cuda"
    for points, labels, box in [([[80, 50]], [1], None), ([[30, 20], [120, 70]], [1, 0], [10, 5, 150, 90])]:
        for multimask in (True, False):
            want, got = (e.predict(points, labels, box, multimask=multimask) for e in (cpu, gpu))
            np.testing.assert_allclose(got.scores, want.scores, atol=0.05)  # TF32 convolutions in the encoder
            for a, b in zip(got.masks, want.masks):
                assert np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()) > 0.9


def _examples(count=3, objects=2, side=128):
    scenes = (make_scene("shapes", 0, index, side) for index in range(40))
    chosen = [s for s in scenes if len(s.masks) >= objects][:count]
    return [EvalImage(f"s{s.index}", s.image, s.masks[:objects], list(range(objects))) for s in chosen]


def test_two_trainer_steps_on_cuda():
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=2, precision="auto")
    sam = wrap(_tiny_sam(), settings.mopeft).to(CUDA)
    data = prepare(sam, [model_inputs(sam, e) for e in _examples()])
    assert data[0].tokens.device.type == "cuda" and data[0].tokens.dtype == torch.float32
    before = {k: v.clone() for k, v in sam.state_dict().items()}
    events = []
    assert train_loop(sam, data, settings, on_step=events.append) == 2
    assert all(np.isfinite(e.loss) for e in events)
    changed = {k for k, v in sam.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".peft." in k for k in changed)
    assert all(p.device.type == "cuda" and p.dtype == torch.float32 for p in sam.parameters())


def test_release_cached_memory_gives_the_cache_back():
    torch.cuda.synchronize()
    block = torch.empty(256 * MIB, dtype=torch.uint8, device=CUDA)
    del block
    cached = torch.cuda.memory_reserved()
    release_cached_memory(CUDA)
    assert torch.cuda.memory_reserved() <= cached - 256 * MIB


def test_a_fine_tuning_run_on_cuda_leaves_only_the_base_model(tmp_path):
    base = build_sam("demo").to(CUDA)
    examples = _examples(4, side=256)
    settings = TrainSettings(MoPEFTConfig(blocks="last:4"), steps=2, precision="auto")
    fine_tune(base, examples, settings, tmp_path / "warm-up")  # CUDA's libraries keep their workspaces from here on
    allocated = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    outcome = fine_tune(base, examples, settings, tmp_path / "run")
    assert outcome.steps == 2
    assert torch.cuda.memory_allocated() <= allocated + MIB  # the run's copy, data and optimiser are gone
    assert torch.cuda.memory_reserved() < torch.cuda.max_memory_reserved()  # and the cache was given back
