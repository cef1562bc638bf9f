"""The code that runs only on a GPU (CUDA or MPS), forced on the CPU: segment_anything's attention composition,
torch's mask up-scaling (SAM 1's and SAM 2.1's), the engine and the trainer under CUDA's bf16 autocast, the out-of-memory retry, giving
the allocator's cache back after a run, and picking the device. tests/test_gpu_cuda.py runs the same on a GPU."""
import functools
import gc
import weakref

import numpy as np
import pytest
import torch

import app.device
import app.mopeft.block
import app.sam.attention as attention
import app.sam.engine as engine_module
import app.training.finetune.loop as loop
import app.training.finetune.run as run_module
from fixture_paths import TINY_SAM
from app.device import choose_device, release_cached_memory
from app.metrics.dataset import EvalImage
from app.mopeft import MoPEFTConfig, wrap
from app.sam.attention import _BiasedSoftmax, attention_probabilities
from app.sam.engine import SamEngine, full_size_masks, postprocessed_masks
from app.sam.variants import build_sam
from app.synth.scenes import make_scene
from app.training.finetune.events import TrainingError
from app.training.finetune.examples import model_inputs
from app.training.finetune.loop import prepare, train_loop
from app.training.finetune.run import fine_tune
from app.training.finetune.settings import TrainSettings

FIXTURE = TINY_SAM


def _tiny_sam():
    sam = build_sam("tiny")
    sam.load_state_dict(torch.load(FIXTURE, weights_only=True))
    return sam


def _refuse_in_place(monkeypatch):
    def refuse(*args):
        raise AssertionError("the CPU's in-place path ran")

    monkeypatch.setattr(_BiasedSoftmax, "apply", refuse)


def _gpu_attention(monkeypatch):
    """Every encoder attention (SAM's blocks and MoPEFT's) takes the GPU's composition, and only that."""
    forced = functools.partial(attention.attention_probabilities, in_place=False)
    monkeypatch.setattr(attention, "attention_probabilities", forced)
    monkeypatch.setattr(app.mopeft.block, "attention_probabilities", forced)
    _refuse_in_place(monkeypatch)


def _cuda_precision(monkeypatch):
    """bf16 autocast for inference and training, as on a CUDA GPU with bf16, here on the CPU."""
    monkeypatch.setenv(app.device.PRECISION_ENV, "bf16")


# --- attention -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(4, 4), (3, 5)])
def test_the_gpu_composition_gives_the_in_place_probabilities_and_gradients(size):
    torch.manual_seed(0)
    h, w = size
    q = torch.randn(6, h * w, 8, requires_grad=True)
    k = torch.randn(6, h * w, 8, requires_grad=True)
    rel_pos = (torch.randn(2 * h - 1, 8, requires_grad=True), torch.randn(2 * w - 1, 8, requires_grad=True))
    leaves, upstream = [q, k, *rel_pos], torch.randn(6, h * w, h * w)

    gpu = attention_probabilities(q, k, 0.3, rel_pos, size, in_place=False)
    gpu_grads = torch.autograd.grad((gpu * upstream).sum(), leaves)
    cpu = attention_probabilities(q, k, 0.3, rel_pos, size)
    cpu_grads = torch.autograd.grad((cpu * upstream).sum(), leaves)
    torch.testing.assert_close(gpu, cpu, atol=1e-6, rtol=1e-5)
    for g, c in zip(gpu_grads, cpu_grads):
        torch.testing.assert_close(g, c, atol=1e-5, rtol=1e-4)


def test_in_place_picks_the_path_on_any_device(monkeypatch):
    used = []
    real = _BiasedSoftmax.apply
    monkeypatch.setattr(_BiasedSoftmax, "apply", lambda *args: used.append(args[0].device.type) or real(*args))
    rel_pos = (torch.randn(5, 8), torch.randn(7, 8))
    attention_probabilities(torch.randn(2, 12, 8), torch.randn(2, 12, 8), 0.3, rel_pos, (3, 4), in_place=False)
    assert used == []
    attention_probabilities(torch.randn(2, 12, 8), torch.randn(2, 12, 8), 0.3, rel_pos, (3, 4))
    assert used == ["cpu"]
    meta = torch.empty(2, 12, 8, device="meta")
    attention_probabilities(meta, meta, 0.3, [r.to("meta") for r in rel_pos], (3, 4), in_place=True)
    assert used == ["cpu", "meta"]


@pytest.mark.slow
def test_sam_and_mopeft_blocks_encode_alike_on_the_gpu_composition(monkeypatch):
    torch.manual_seed(3)
    sam = wrap(_tiny_sam(), MoPEFTConfig(blocks="last:2"))  # blocks 0-1 are SAM's, 2-3 MoPEFT's
    image = torch.randn(1, 3, 128, 128, requires_grad=True)
    leaves = [image, *(p for p in sam.parameters() if p.requires_grad)]  # the PEFT parameters

    def encode():
        out = sam.image_encoder(image)
        return out, torch.autograd.grad(out.square().sum(), leaves, allow_unused=True)

    cpu, cpu_grads = encode()
    _gpu_attention(monkeypatch)
    gpu, gpu_grads = encode()
    torch.testing.assert_close(gpu, cpu, atol=1e-5, rtol=1e-5)
    for g, c in zip(gpu_grads, cpu_grads):
        if c is not None:
            torch.testing.assert_close(g, c, atol=1e-5, rtol=1e-4)


# --- the engine ------------------------------------------------------------------------------------------------

def test_logits_off_the_cpu_are_up_scaled_by_torch(monkeypatch):
    calls = []
    monkeypatch.setattr(engine_module, "postprocessed_masks", lambda *args: calls.append(args[1].device.type))
    sam = build_sam("tiny")
    full_size_masks(sam, torch.empty(1, 3, 32, 32, device="meta"), (96, 128), (96, 128))
    assert calls == ["meta"]


def test_sam2_logits_off_the_cpu_are_up_scaled_by_torch(monkeypatch, tiny_sam2):
    import app.sam2.engine as sam2_engine

    calls = []
    monkeypatch.setattr(sam2_engine, "_upscaled", lambda low, size: calls.append(low.device.type) or torch.zeros(1))
    sam2_engine.Sam2Engine(tiny_sam2)._masks(torch.empty(3, 32, 32, device="meta"), (40, 60))
    assert calls == ["meta"]


@pytest.mark.parametrize("original, input_size", [((96, 128), (96, 128)), ((300, 700), (55, 128))])
def test_torchs_up_scaling_gives_the_opencv_masks(original, input_size):
    torch.manual_seed(5)
    sam = build_sam("tiny")
    low = torch.randn(1, 3, 32, 32) * 4
    logits = sam.postprocess_masks(low, input_size, original)[0]
    gpu, cpu = postprocessed_masks(sam, low, input_size, original), full_size_masks(sam, low, input_size, original)
    assert gpu.shape == (3, *original) and gpu.dtype == bool
    assert np.all(logits.abs().numpy()[gpu != cpu] < 1e-4)  # only where the logit is within rounding of 0


def _click_masks(engine, scene):
    engine.set_image(scene.image)
    ys, xs = np.nonzero(scene.masks[0])
    return engine.predict(points=[[xs[len(xs) // 2], ys[len(ys) // 2]]], labels=[1], multimask=False)


@pytest.mark.slow
def test_the_engine_under_cudas_bf16_autocast_and_attention(monkeypatch):
    scene = make_scene("shapes", 0, 1, 128)
    sam = _tiny_sam()
    plain = SamEngine(sam)
    reference, fp32_key = _click_masks(plain, scene), plain.cache_key(scene.image)
    _cuda_precision(monkeypatch)
    _gpu_attention(monkeypatch)
    bf16 = SamEngine(sam)
    assert bf16.precision == "bf16" and bf16.cache_key(scene.image) != fp32_key  # never served each other's
    prediction = _click_masks(bf16, scene)
    assert bf16.image_embedding.dtype == torch.float32 and not torch.equal(bf16.image_embedding, plain.image_embedding)
    torch.testing.assert_close(bf16.image_embedding, plain.image_embedding, atol=0.1, rtol=0.05)
    union = np.logical_or(prediction.masks, reference.masks).sum()
    assert np.logical_and(prediction.masks, reference.masks).sum() / union > 0.95


# --- the trainer -----------------------------------------------------------------------------------------------

def _scenes_data(sam, count=3, objects=4):
    """Prepared training images of synthetic shapes scenes, `objects` instances each."""
    examples = []
    for index in range(40):
        scene = make_scene("shapes", 0, index, 128)
        if len(scene.masks) >= objects:
            examples.append(EvalImage(f"s{index}", scene.image, scene.masks[:objects], list(range(objects))))
        if len(examples) == count:
            return prepare(sam, [model_inputs(sam, e) for e in examples])
    raise AssertionError("too few scenes with enough objects")


@pytest.mark.slow
def test_the_trainer_under_cudas_bf16_autocast_and_attention(monkeypatch):
    _cuda_precision(monkeypatch)
    _gpu_attention(monkeypatch)
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=2)
    sam = wrap(_tiny_sam(), settings.mopeft)
    data = _scenes_data(sam)
    assert all(p.tokens.dtype == torch.float32 for p in data)  # cached under autocast, kept in fp32
    before = {k: v.clone() for k, v in sam.state_dict().items()}
    real, autocast_to = loop.interactive_loss, []

    def watched(*args, **kwargs):
        autocast_to.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu"))
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "interactive_loss", watched)
    events = []
    assert train_loop(sam, data, settings, on_step=events.append) == 2
    assert autocast_to == [torch.bfloat16] * 2 and all(np.isfinite(e.loss) for e in events)
    changed = {k for k, v in sam.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".peft." in k for k in changed)
    assert all(p.dtype == torch.float32 for p in sam.parameters())


@pytest.mark.slow
def test_out_of_memory_halves_images_then_objects_and_frees_the_step_first(monkeypatch):
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=2, images_per_step=2, objects_per_image=4)
    sam = wrap(_tiny_sam(), settings.mopeft)
    data = _scenes_data(sam)
    real, tried, failed_steps, released = loop.interactive_loss, [], [], []

    def flaky(sam_, embeddings, targets, *args, **kwargs):
        tried.append((len(targets), len(targets[0])))
        if tried[-1] != (1, 1):
            activations = embeddings * 2  # what the failed step held
            failed_steps.append(weakref.ref(activations))
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(sam_, embeddings, targets, *args, **kwargs)

    def release(device):
        assert failed_steps[-1]() is None, "the failed step's tensors were still alive"
        released.append(device.type)

    monkeypatch.setattr(loop, "interactive_loss", flaky)
    monkeypatch.setattr(loop, "release_cached_memory", release)
    events = []
    assert train_loop(sam, data, settings, on_step=events.append) == 2
    assert tried == [(2, 4), (1, 4), (1, 2), (1, 1), (1, 1)]
    assert released == ["cpu"] * 3 and [e.batch_images for e in events] == [1, 1]


@pytest.mark.slow
def test_mps_out_of_memory_is_retried_and_other_runtime_errors_are_not(monkeypatch):
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=1, images_per_step=2)
    sam = wrap(_tiny_sam(), settings.mopeft)
    data = _scenes_data(sam)
    real, released = loop.interactive_loss, []

    def mps(sam_, embeddings, targets, *args, **kwargs):
        if len(targets) > 1:
            raise RuntimeError("MPS backend out of memory (MPS allocated: 17.00 GB, other allocations: 1.00 GB)")
        return real(sam_, embeddings, targets, *args, **kwargs)

    monkeypatch.setattr(loop, "interactive_loss", mps)
    monkeypatch.setattr(loop, "release_cached_memory", released.append)
    assert train_loop(sam, data, settings) == 1 and len(released) == 1

    def broken(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(loop, "interactive_loss", broken)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied") as caught:
        train_loop(sam, data, settings)
    assert not isinstance(caught.value, TrainingError) and len(released) == 1


# --- giving memory back ----------------------------------------------------------------------------------------

def test_release_cached_memory_empties_the_cache_of_the_devices_allocator(monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append("cuda"))
    monkeypatch.setattr(torch.mps, "empty_cache", lambda: emptied.append("mps"))
    for device in ("cuda", "mps", "cpu", "cuda:0"):
        release_cached_memory(torch.device(device))
    assert emptied == ["cuda", "mps", "cuda"]


def _fine_tune_watched(monkeypatch, tmp_path, adapt):
    """Run fine_tune with `adapt` in place of the real one; returns (released devices, each with whether the
    run's model copy was gone by then)."""
    released = []
    copies = []

    def watched_adapt(sam, *args, **kwargs):
        copies.append(weakref.ref(sam))
        return adapt(sam, *args, **kwargs)

    def release(device):
        released.append((device.type, copies[-1]() is None))

    monkeypatch.setattr(run_module, "adapt", watched_adapt)
    monkeypatch.setattr(run_module, "release_cached_memory", release)
    examples = [EvalImage(f"s{i}", s.image, s.masks[:2], [0, 1])
                for i, s in enumerate(make_scene("shapes", 0, i, 128) for i in range(12)) if len(s.masks) >= 2][:3]
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=2)
    gc.disable()  # the copy must go by reference counting alone: the window's worker threads never collect
    try:
        return released, fine_tune(_tiny_sam(), examples, settings, tmp_path)
    except TrainingError:
        return released, None
    finally:
        gc.enable()


@pytest.mark.slow
def test_fine_tune_gives_the_runs_memory_back_when_it_ends(monkeypatch, tmp_path):
    released, outcome = _fine_tune_watched(monkeypatch, tmp_path, run_module.adapt)
    assert outcome is not None and outcome.adapter_path.is_file()
    assert released == [("cpu", True)]


@pytest.mark.slow
def test_fine_tune_gives_the_runs_memory_back_when_it_fails(monkeypatch, tmp_path):
    def failing(sam, *args, **kwargs):
        raise TrainingError("out of GPU memory even with one image and one object per step")

    released, outcome = _fine_tune_watched(monkeypatch, tmp_path, failing)
    assert outcome is None and released == [("cpu", True)]


# --- the device and its precision ------------------------------------------------------------------------------

def test_a_visible_cuda_gpu_is_chosen_first_and_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake H200")
    choice = choose_device()
    assert choice.device.type == "cuda" and "Fake H200" in choice.reason
    assert choose_device("cuda").device.type == "cuda"


def test_apple_mps_is_chosen_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert choose_device().device.type == "mps" and choose_device("mps").device.type == "mps"


@pytest.mark.filterwarnings("ignore:.*CUDA is not available")
@pytest.mark.parametrize("training", [False, True])
def test_cuda_autocast_is_bf16_for_inference_and_training(monkeypatch, training):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    context = app.device.autocast(torch.device("cuda"), training=training, precision="auto")
    assert isinstance(context, torch.autocast) and (context.device, context.fast_dtype) == ("cuda", torch.bfloat16)
