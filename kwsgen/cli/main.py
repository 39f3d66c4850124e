"""The kwsgen command line: a thin layer over the Python API."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from .. import __version__
from ..errors import KwsgenError

app = typer.Typer(
    name="kwsgen",
    help="Keyword spotting from recordings to bit-exact microcontroller firmware.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err_console = Console(stderr=True, highlight=False)
console = Console(highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"kwsgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Keyword spotting from recordings to bit-exact microcontroller firmware."""


def _register() -> None:
    from . import boards, codegen, devices, features, firmware, project, train  # noqa: F401  (their commands register on app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 error, 2 usage error)."""
    _register()
    try:
        app(args=argv, prog_name="kwsgen")  # standalone: usage errors print and exit 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KwsgenError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 1
    return 0


def run() -> None:
    sys.exit(main())
