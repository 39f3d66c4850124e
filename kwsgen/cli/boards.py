"""kwsgen boards: the boards kwsgen can target."""

from __future__ import annotations

from rich.table import Table

from ..boards import Board, load_boards
from .main import app, console


def _allowed(rule: dict) -> str:
    if "choices" in rule:
        choices = [str(c) for c in rule["choices"]]
        return (
            "|".join(choices)
            if len(choices) <= 4
            else f"one of {len(choices)} values from {choices[0]} to {choices[-1]}"
        )
    return f"{rule['min']}..{rule['max']}"


def _details(b: Board) -> str:
    options = ", ".join(f"{k}={v} ({_allowed(b.option_values[k])})" for k, v in b.options.items())
    return f"{b.name}: {b.title}. Microphone: {b.microphone}. Options (--option KEY=VALUE): {options or 'none'}"


@app.command()
def boards() -> None:
    """List the boards kwsgen can target: CPU, memory, project type, microphone and build options."""
    table = Table(title="Boards (definitions in boards/*.toml)")
    table.add_column("name", no_wrap=True)
    table.add_column("core", no_wrap=True)
    for column in ("MHz", "flash KB", "RAM KB"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("project", no_wrap=True)
    table.add_column("board")
    found = load_boards().values()
    for b in found:
        mhz = str(b.clock_mhz) if b.clock_mhz else "-"
        table.add_row(b.name, b.core, mhz, str(b.flash_kb or "-"), str(b.ram_kb or "-"), b.project, b.mcu)
    console.print(table)
    for b in found:
        console.print(_details(b))
