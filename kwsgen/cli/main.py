"""The kwsgen command line: a thin layer over the Python API."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from .. import __version__
from ..errors import Interrupted, KwsgenError

app = typer.Typer(
    name="kwsgen",
    help="Keyword spotting from recordings to bit-exact microcontroller firmware.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# markup=False: file names, labels and device lines are printed literally ("[D]", "[/spiffs]");
# styled words go through styled() instead of markup.
err_console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True, markup=False)


def styled(style: str, word: str, rest: str = "") -> Text:
    """A styled word followed by literal text: styled("red", "error:", message)."""
    return Text.assemble((word, style), (" " + rest) if rest else "")


def on_interrupt(what_is_kept: str) -> Callable:
    """Ctrl-C during the command ends with "interrupted; <what_is_kept>" and exit status 130."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except KeyboardInterrupt:
                raise Interrupted(f"interrupted; {what_is_kept}") from None

        return wrapper

    return decorate


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
        err_console.print(styled("bold red", "error:", str(exc)), soft_wrap=True)
        return 130 if isinstance(exc, Interrupted) else 1
    except OSError as exc:
        # A write that failed (read-only folder, full disk): one line naming the path.
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(styled("bold red", "error:", f"{where}{exc.strerror or exc}"), soft_wrap=True)
        return 1
    return 0


def run() -> None:
    sys.exit(main())
