"""The CLI entry point and `mopeft info`."""
import pytest
import torch

from app.cli.main import main
from app.device import choose_device


def test_info_prints_versions_and_device(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"torch                    {torch.__version__}" in out
    assert f"device: {choose_device().device}" in out


def test_info_names_the_checkpoint_folder_and_what_is_in_it(capsys, tmp_path, monkeypatch):
    from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS

    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    (tmp_path / CHECKPOINTS["vit_b"].filename).write_bytes(b"copied here by hand")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"checkpoint folder: {tmp_path}" in out
    assert f"vit_b    {CHECKPOINTS['vit_b'].filename:24s} present" in out
    assert "vit_l" in out and "not there (mopeft download vit_l)" in out
    assert " SAM 1:" in out and " SAM 2.1:" in out
    assert f"sam2.1_hiera_b+ {CHECKPOINTS['sam2.1_hiera_b+'].filename:25s} not there" in out


def test_device_falls_back_to_cpu_with_reason(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    choice = choose_device()
    assert choice.device.type == "cpu"
    assert "CPU" in choice.reason


def test_unavailable_preferred_device_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="cuda"):
        choose_device("cuda")


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def _parsers(parser):
    """`parser` and every subcommand parser below it."""
    yield parser
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for sub in action.choices.values():
            yield from _parsers(sub)


def test_every_command_prints_its_help():
    from app.cli.main import build_parser

    parsers = list(_parsers(build_parser()))
    assert {p.prog for p in parsers} >= {"mopeft train", "mopeft bench adapt", "mopeft export"}
    for parser in parsers:
        assert parser.prog in parser.format_help()  # argparse's %-expansion of every help text succeeds


def test_precision_is_said_with_its_reason_and_the_flag_reaches_every_command(capsys, monkeypatch):
    import os

    import app.device

    monkeypatch.setattr(app.device, "cpu_bf16_units", lambda: None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(app.device.PRECISION_ENV, "fp32")
    assert main(["info"]) == 0
    assert "precision: fp32  (float32, as asked)" in capsys.readouterr().out
    assert main(["--precision", "bf16", "info"]) == 0
    assert "precision: bf16  (bfloat16 autocast: asked for; this CPU has no bfloat16 units" in capsys.readouterr().out
    assert os.environ[app.device.PRECISION_ENV] == "bf16"  # what the engine and the trainer read
    with pytest.raises(SystemExit):
        main(["--precision", "fp8", "info"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
