"""Where benchmark figures live: bench/results/<name>.json, with the commit they were measured at.

Each benchmark prints its JSON and saves it here; the README's measured
tables quote these files, and tests/test_readme_figures.py checks that they
do, so a figure in the README always comes from a run that is on record.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _commit() -> str:
    repo = RESULTS.parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
        dirty = subprocess.run(  # results files themselves do not make the code dirty
            ["git", "status", "--porcelain", "--", ".", ":!bench/results"], cwd=repo, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.strip() else "")


def save(name: str, report: dict) -> Path:
    """Print the report as JSON and keep it, stamped, as bench/results/<name>.json."""
    stamped = {
        "benchmark": name,
        "commit": _commit(),
        "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{k: v for k, v in report.items() if k != "benchmark"},
    }
    text = json.dumps(stamped, indent=1) + "\n"
    print(text, end="")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
