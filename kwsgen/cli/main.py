"""The kwsgen command line: a thin layer over the Python API."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

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
console = Console(highlight=False)


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
    from . import features  # noqa: F401  (registers its commands on app)


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        rc = app(args=argv, standalone_mode=False)
    except KwsgenError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code or 0
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except Exception as exc:  # click usage errors carry their own exit codes
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return rc if isinstance(rc, int) else 0


def run() -> None:
    sys.exit(main())
