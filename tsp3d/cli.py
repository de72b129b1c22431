"""The ``tsp3d`` command line: a thin Typer shell over library functions.

Each command lives in ``tsp3d/commands/<name>.py`` as a function ``command(...)`` whose body imports what it
needs (so ``tsp3d --help`` stays fast and works without TensorRT, a GPU or the compiled plugins). Errors derived
from ``tsp3d.errors.Tsp3dError`` print one line (plus a hint) and exit nonzero; ``--debug`` shows the traceback.
"""
from __future__ import annotations

import importlib
import os
import sys

import click
import typer

# (command name, module under tsp3d.commands, sub-group or None). Adding a command = one line here.
COMMANDS = [
    ("doctor", "doctor", None),
    ("quickstart", "quickstart", None),
    ("synth", "data_synth", "data"),
    ("train", "train", None),
    ("eval", "evaluate", None),
    ("convert-official", "convert_official", None),
    ("export", "export", None),
    ("validate", "validate", None),
    ("ground", "ground", None),
    ("build-engine", "build_engine", None),
    ("check-engine", "check_engine", None),
    ("calibrate", "calibrate", None),
    ("bench-engine", "bench_engine", None),
    ("bench", "bench", None),
]

app = typer.Typer(
    name="tsp3d",
    help="Train, export and deploy TSP3D 3D visual grounding (PyTorch -> ONNX -> ONNX Runtime / TensorRT).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_groups = {"data": typer.Typer(help="Datasets: generate the synthetic grounding benchmark.", no_args_is_help=True)}
app.add_typer(_groups["data"], name="data")


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
          roberta_path: str = typer.Option(None, "--roberta-path", metavar="DIR",
                                           help="Local roberta-base folder (weights + tokenizer) for every command "
                                                "that loads the paper's text encoder; or set TSP3D_ROBERTA_PATH.")
          ) -> None:
    if debug:
        os.environ["TSP3D_DEBUG"] = "1"
    if roberta_path:
        os.environ["TSP3D_ROBERTA_PATH"] = roberta_path  # read by tsp3d.text.registry (ROBERTA_ENV)


def _missing(name: str, error: Exception):
    def command() -> None:
        from tsp3d.errors import DependencyError

        raise DependencyError(f"the '{name}' command is unavailable here: {error}")

    command.__doc__ = f"(unavailable: {error})"
    return command


def _register() -> None:
    for name, module, group in COMMANDS:
        target = _groups[group] if group else app
        try:
            mod = importlib.import_module(f"tsp3d.commands.{module}")
            fn = mod.command
        except Exception as e:  # a broken install: the command says why when called, the others still work
            mod, fn = None, _missing(name, e)
        target.command(name, context_settings=getattr(mod, "CONTEXT_SETTINGS", None))(fn)


_register()


def _plain_flags(command) -> None:
    """On/off flags take no value, so their help shows no metavar (typer would print ``<bool>``)."""
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub)


def _click_command():
    command = typer.main.get_command(app)
    _plain_flags(command)
    return command


def _exception_types():
    """typer >= 0.29 carries its own copy of click: catch both its and click's exception classes."""
    usage, exits, aborts = [click.ClickException], [click.exceptions.Exit, typer.Exit], [click.exceptions.Abort,
                                                                                      typer.Abort]
    try:
        from typer._click.exceptions import ClickException as TyperClickException

        usage.append(TyperClickException)
    except ImportError:  # older typer: click's classes are the only ones
        pass
    return tuple(usage), tuple(exits), tuple(aborts)


_USAGE_ERRORS, _EXITS, _ABORTS = _exception_types()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns (and exits with) the process exit code."""
    from tsp3d.errors import Tsp3dError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("TSP3D_DEBUG") == "1"
    try:
        code = _click_command().main(args=argv, prog_name="tsp3d", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except Tsp3dError as e:
        if debug:
            raise
        typer.secho(f"error: {e}", err=True, fg="red")
        if e.hint:
            typer.echo(f"hint: {e.hint}", err=True)
        code = e.exit_code
    except _EXITS as e:
        code = e.exit_code
    except _USAGE_ERRORS as e:
        e.show()
        code = e.exit_code
    except _ABORTS:
        typer.echo("aborted", err=True)
        code = 130
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    except Exception as e:  # an unexpected failure: one line unless --debug
        if debug:
            raise
        typer.secho(f"internal error: {type(e).__name__}: {e}", err=True, fg="red")
        typer.echo("hint: rerun with --debug for the traceback, and please report it", err=True)
        code = 1
    return code


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
