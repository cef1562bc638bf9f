"""Entry point of `mopeft`: collects the subcommands from the modules of this package."""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import app.cli
from app.device import PRECISION_ENV, PRECISIONS
from app.memory import use_tuned_malloc


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per command module in app.cli."""
    parser = argparse.ArgumentParser(prog="mopeft", description="MoPEFT Annotator, headless tools.")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help=f"SAM's precision for every command: auto (bf16 on GPUs that have it), fp32 or "
                             f"bf16 (default: ${PRECISION_ENV}, else auto; `mopeft info` says which and why)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(app.cli.__path__), key=lambda m: m.name):
        if info.name == "main" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"app.cli.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; returns its exit status."""
    args = build_parser().parse_args(argv)
    if args.precision:  # the engine, the trainer and their child processes all read it from there
        os.environ[PRECISION_ENV] = args.precision
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def script() -> None:
    """The `mopeft` console script: `main` in a process with the tuned malloc settings (app.memory)."""
    use_tuned_malloc()
    sys.exit(main())


if __name__ == "__main__":
    script()
