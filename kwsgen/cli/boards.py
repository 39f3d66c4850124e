"""kwsgen boards: the boards kwsgen can target."""

from __future__ import annotations

from rich.table import Table

from ..boards import load_boards
from .main import app, console


@app.command()
def boards() -> None:
    """List the boards kwsgen can target, with their CPU, memory and microphone."""
    table = Table(title="Boards (definitions in boards/*.toml)")
    for column in ("name", "board", "core", "MHz", "flash KB", "RAM KB", "microphone", "project"):
        table.add_column(column)
    for b in load_boards().values():
        mhz = str(b.clock_mhz) if b.clock_mhz else "-"
        table.add_row(
            b.name, b.title, b.core, mhz, str(b.flash_kb or "-"), str(b.ram_kb or "-"), b.microphone, b.project
        )
    console.print(table)
