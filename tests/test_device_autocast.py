"""The one precision rule: bf16 on CUDA GPUs that have it (fp16 for inference on older ones), bf16 on CPUs with
bfloat16 units, fp32 elsewhere and whenever asked; what a user asks for, and why each is chosen."""
import contextlib

import pytest
import torch

import app.device
from app.device import PRECISION_ENV, autocast, choose_precision, cpu_bf16_units


@pytest.mark.parametrize("bf16, training, expected", [(True, False, torch.bfloat16), (True, True, torch.bfloat16),
                                                      (False, False, torch.float16), (False, True, None)])
def test_cuda_precision_follows_the_gpu(monkeypatch, bf16, training, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert choose_precision(torch.device("cuda"), "auto", training).dtype is expected


@pytest.mark.parametrize("switched_on", [False, True])
@pytest.mark.parametrize("units", ["AMX", "AVX512-BF16", None])
def test_auto_on_the_cpu_is_bf16_only_with_units_and_once_switched_on(monkeypatch, units, switched_on):
    monkeypatch.setattr(app.device, "cpu_bf16_units", lambda: units)
    monkeypatch.setattr(app.device, "CPU_AUTO_BF16", switched_on)
    choice = choose_precision("cpu", "auto")
    assert choice.dtype is (torch.bfloat16 if units and switched_on else None)
    assert (units or "no bfloat16 units") in choice.reason
    asked = choose_precision("cpu", "bf16")  # asked for: bf16 even without units, and the reason says it is slow
    assert asked.dtype is torch.bfloat16 and asked.name == "bf16" and ("emulated" in asked.reason) == (units is None)
    assert choose_precision("cpu", "fp32").dtype is None


def test_no_precision_given_follows_the_environment_then_auto(monkeypatch):
    monkeypatch.setattr(app.device, "cpu_bf16_units", lambda: "AMX")
    monkeypatch.setattr(app.device, "CPU_AUTO_BF16", True)
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert choose_precision("cpu").name == "fp32" and isinstance(autocast("cpu"), contextlib.nullcontext)
    monkeypatch.delenv(PRECISION_ENV)
    assert choose_precision("cpu").name == "bf16"
    context = autocast("cpu", training=True)
    assert isinstance(context, torch.autocast) and context.fast_dtype == torch.bfloat16


def test_what_cannot_run_is_refused_by_name(monkeypatch):
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        choose_precision("cpu", "fp8")
    with pytest.raises(ValueError, match="not on mps"):
        choose_precision("mps", "bf16")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match="does not support bfloat16"):
        choose_precision("cuda", "bf16")
    assert choose_precision("mps", "auto").dtype is None


def test_the_cpu_flags_are_read_from_proc_cpuinfo(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    monkeypatch.setattr(app.device, "Path", lambda path: cpuinfo if path == "/proc/cpuinfo" else path)
    for flags, expected in (("fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile", "AMX"),
                            ("fpu avx2 avx512f avx512_bf16", "AVX512-BF16"), ("fpu sse avx2 fma", None)):
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        cpu_bf16_units.cache_clear()  # read once per process: each machine here is a new one
        assert cpu_bf16_units() == expected
    cpuinfo.unlink()
    cpu_bf16_units.cache_clear()
    assert cpu_bf16_units() is None  # no /proc/cpuinfo: not known to have them
    cpu_bf16_units.cache_clear()  # the next call reads this machine's own flags again
