"""tsp3d bench: runs ``python -m tsp3d.bench`` (the benchmark suite) in a child process with the same arguments.

The benchmarks sit above every product layer, so the CLI starts them rather than importing them; ``tsp3d bench
--help`` prints the suite's own options.
"""
from __future__ import annotations

import typer

# Every argument, --help included, goes to the suite's parser.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def command(ctx: typer.Context) -> None:
    """Benchmark suite: sparse ops, end to end, the official code, scaling, pruning, pipeline times; verdicts;
    docs/BENCHMARKS.md (options: tsp3d bench --help)."""
    import subprocess
    import sys

    code = subprocess.call([sys.executable, "-m", "tsp3d.bench", *ctx.args])
    if code:
        raise typer.Exit(code)
