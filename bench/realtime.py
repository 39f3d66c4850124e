"""Real time on each board: worst-case CPU load and audio buffer for every base model and device mode.

The same arithmetic as `kwsgen build` (kwsgen/firmware/realtime.py), applied
to the figures saved by bench/frontend.py (instructions per hop) and
bench/inference.py (instructions per inference and the cycles per
instruction of each model's executed mix; the front end's hop at its own
mix's cycles per instruction, from bench/frontend.py), so the table covers models and
modes a project has not trained yet. Filter mode uses kwsgen.toml's defaults
(delay 25, backoff 0: at worst one inference every 26 hops, speech that never
stops); continuous mode infers every 4 hops (the default) or every 8. The
reference in the same run is the front end alone (no inference).

Usage: python bench/realtime.py   (after bench/frontend.py and bench/inference.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from results import RESULTS, save  # noqa: E402  (bench/results.py)

from kwsgen.boards import get_board  # noqa: E402
from kwsgen.firmware.realtime import HEADROOM, Counts, budget  # noqa: E402
from kwsgen.frontend.config import EnergyFilterConfig, FrontendConfig  # noqa: E402

BOARDS = ("nano33", "quickfeather", "esp32s3")
PIPELINE_PER_HOP = 110  # kws_pipeline_process and scaling beyond the front end bench's hop (QEMU, example model)
MODES = {"filter": None, "continuous every 4": 4, "continuous every 8": 8}


def spec_for(every: int | None) -> SimpleNamespace:
    """What budget() reads of a FirmwareSpec."""
    return SimpleNamespace(
        frontend=FrontendConfig(),
        energy_filter=EnergyFilterConfig(),
        continuous=every is not None,
        rule=SimpleNamespace(every=every or 4),
    )


def main() -> None:
    frontend = json.loads((RESULTS / "frontend.json").read_text())
    inference = json.loads((RESULTS / "inference.json").read_text())
    hop = frontend["cortex_m4"]["dsp_path"]
    per_hop = hop["instructions_per_hop_median"] + PIPELINE_PER_HOP
    hop_cpi = hop["estimated_cycles_per_instruction"]
    table = {}
    for template, t in inference["templates"].items():
        dsp = t["cortex_m4"]["dsp"]
        counts = Counts(
            per_hop, dsp["instructions_per_inference"], True, dsp["estimated_cycles_per_instruction"], hop_cpi
        )
        for board_name in BOARDS:
            board = get_board(board_name)
            for mode, every in MODES.items():
                b = budget(spec_for(every), board, counts)  # type: ignore[arg-type]
                table[f"{template} {board_name} {mode}"] = {
                    "template": template,
                    "board": board_name,
                    "mode": mode,
                    "clock_mhz": board.clock_mhz,
                    "cycles_per_instruction": b.cycles_per_instruction,
                    "hop_cycles_per_instruction": b.hop_cycles_per_instruction,
                    "load": round(b.load, 3),
                    "keeps_up": b.fits,
                    "inference_ms": round(b.inference_ms, 1),
                    "buffer_samples": b.buffer_samples,
                }
    # The reference: the front end alone, no inference, at its own mix's cycles per instruction.
    idle = Counts(per_hop, 0, True, hop_cpi, hop_cpi)
    front_end_only = {name: round(budget(spec_for(None), get_board(name), idle).load, 3) for name in BOARDS}  # type: ignore
    save(
        "realtime",
        {
            "from": {"frontend": frontend["commit"], "inference": inference["commit"]},
            "headroom": HEADROOM,
            "reference_front_end_only_load": front_end_only,
            "table": table,
        },
    )


if __name__ == "__main__":
    main()
