"""The benchmarks stand above the trainer, not on the CLI: `mopeft bench adapt` takes the trainer options
from the same public module as `mopeft train`."""
import ast
from pathlib import Path

import pytest

import app.bench
from app.cli.main import main


@pytest.mark.slow
def test_no_benchmark_imports_the_cli():
    borrowed = []
    for module in Path(app.bench.__path__[0]).glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            borrowed += [f"{module.name}: {name}" for name in names if name.startswith("app.cli")]
    assert borrowed == []


@pytest.mark.parametrize("command", [["train"], ["bench", "adapt"]])
def test_train_and_bench_adapt_offer_the_trainer_options(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert "--kind-lr" in out and "--adapter-dropout" in out
