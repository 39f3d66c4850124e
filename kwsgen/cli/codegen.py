"""Model compiler commands: export-c."""

from __future__ import annotations

from pathlib import Path

import typer

from .main import app, console


@app.command("export-c")
def export_c(
    model: Path = typer.Argument(..., help="An int8 .tflite model (int8 input and output)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the C files (created if missing)."),
    prefix: str = typer.Option("kws_model", "--prefix", help="Name of the API: <prefix>.h, <prefix>_invoke(), ..."),
    board: str = typer.Option(None, "--board", "-b", help="Check that the model fits this board (see kwsgen boards)."),
    force: bool = typer.Option(False, "--force", help="Overwrite files in OUT that differ (they may hold your edits)."),
) -> None:
    """Compile an int8 TFLite model into standalone C: weights as const arrays,
    a static memory plan, one function per inference.

    The folder builds on its own with any C99 compiler; on a Cortex-M with the
    DSP extension the kernels use it automatically (-DKWS_USE_DSP=0 forces the
    portable path). The API, in <prefix>.h:

      <prefix>_init()     once at start-up

      <prefix>_input()    where to write <PREFIX>_INPUT_SIZE int8 values

      <prefix>_invoke()   run the network

      <prefix>_output()   the <PREFIX>_OUTPUT_SIZE int8 results

    The output equals TensorFlow Lite Micro's, bit for bit.
    """
    from ..boards import get_board
    from ..codegen.emit import export_c as run
    from ..codegen.footprint import measure_footprint

    target = get_board(board) if board else None
    gen, files = run(model, out, prefix=prefix, force=force, board=target)
    fp = measure_footprint(gen)
    how = "measured with arm-none-eabi-gcc for Cortex-M4" if fp.measured else "estimated (no Arm toolchain)"
    console.print(f"wrote {len(files)} files to {out}: {gen.prefix}.h, {gen.prefix}.c and the int8 kernels")
    console.print(
        f"{len(gen.layers)} operators, {gen.macs:,} MACs; flash {fp.flash:,} bytes "
        f"({fp.model_data:,} weights and tables), RAM {fp.ram:,} bytes ({fp.arena:,} activations, "
        f"{fp.stack:,} stack); {how}"
    )
