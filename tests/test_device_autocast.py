"""Reduced precision by device: bf16 on CUDA GPUs that have it, fp16 for inference on older ones, fp32 elsewhere."""
import contextlib

import pytest
import torch

from app.device import autocast, autocast_dtype


def test_cpu_runs_in_float32():
    assert autocast_dtype(torch.device("cpu")) is None
    assert isinstance(autocast(torch.device("cpu")), contextlib.nullcontext)


@pytest.mark.parametrize("bf16, training, expected", [(True, False, torch.bfloat16), (True, True, torch.bfloat16),
                                                      (False, False, torch.float16), (False, True, None)])
def test_cuda_precision_follows_the_gpu(monkeypatch, bf16, training, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert autocast_dtype(torch.device("cuda"), training) is expected
