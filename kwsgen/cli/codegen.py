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
    check: int = typer.Option(
        0,
        "--check",
        metavar="N",
        help="Then run N random inputs and the extremes through the C (host build under ASan/UBSan, and the "
        "emulated Cortex-M4 when the Arm toolchain and QEMU are installed) and through TensorFlow Lite Micro, "
        "and compare every tensor.",
    ),
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
    from ..check.footprint import fits_board, measure_footprint
    from ..codegen.emit import export_c as run

    target = get_board(board) if board else None
    fits = fits_board(target, model.name) if target else None
    gen, files = run(model, out, prefix=prefix, force=force, before_writing=fits)
    fp = measure_footprint(gen)
    how = "measured with arm-none-eabi-gcc for Cortex-M4" if fp.measured else "estimated (no Arm toolchain)"
    console.print(f"wrote {len(files)} files to {out}: {gen.prefix}.h, {gen.prefix}.c and the int8 kernels")
    console.print(
        f"{len(gen.layers)} operators, {gen.macs:,} MACs; flash {fp.flash:,} bytes "
        f"({fp.model_data:,} weights and tables), RAM {fp.ram:,} bytes ({fp.arena:,} activations, "
        f"{fp.stack:,} stack); {how}"
    )
    if check > 0:
        _check(model, gen, check)


def _check(model: Path, gen, n_random: int) -> None:
    from ..check.verify import check_against_tflm, probe_inputs
    from ..codegen.model import read_tflite
    from ..errors import KwsgenError
    from ..hosttools.build import have_m4_toolchain

    engines = ["host", "qemu"] if have_m4_toolchain() else ["host"]
    data = model.read_bytes()
    with console.status(f"running {n_random + 4} inputs through C ({', '.join(engines)}) and TFLite Micro"):
        results = check_against_tflm(
            data, read_tflite(data, model.name), gen, engines, probe_inputs(gen.input_size, n_random), sanitize=True
        )
    for r in results:
        where = {"host": "host (ASan, UBSan)", "qemu": "Cortex-M4 (QEMU)"}[r.engine]
        if r.mismatches:
            raise KwsgenError(
                f"the generated C differs from TFLite Micro on {where}: {r.mismatches[0]} "
                f"({len(r.mismatches)} tensors differ); please report this",
                model,
            )
        console.print(f"  {where}: all {r.tensors:,} tensors of {r.inputs} inputs identical to TFLite Micro")
    if "qemu" not in engines:
        console.print("  (Cortex-M4 check skipped: arm-none-eabi-gcc or qemu-system-arm is not installed)")
