"""Transfer-learning benchmark: accuracy on speakers never heard, and training time.

Prints one JSON document. Two datasets, each trained with the defaults of
kwsgen.toml (transfer from the shipped kws25k base) and evaluated on its Test
Set, int8 and float, for several seeds:

  - the shipped example project (synthetic speakers; Test voices heard
    nowhere else);
  - a user-like project built here from ../shared/data/speech_commands_v2:
    yes, no, on, off, and Unknown (the other words, silence clips and the
    background-noise recordings), from the speakers the base model never
    saw in pretraining only, split by speaker into Train / Validate / Test.

The named reference is the base model itself, used without training: its
pretraining classes mapped onto the project's labels (the other words and
silence to Unknown), on the same Test inputs.

Usage: python bench/transfer.py [--seeds 1,2,3] [--only example|speech-commands]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from results import save  # noqa: E402  (bench/results.py)

from kwsgen.project import UNKNOWN, Project, apply_plan, example_project_dir, plan_speech_commands  # noqa: E402
from kwsgen.train.basemodel import base_keras_model, find_base, load_base  # noqa: E402
from kwsgen.train.dataset import project_data  # noqa: E402
from kwsgen.train.pretrain import PretrainConfig, speaker_bucket, speaker_of  # noqa: E402
from kwsgen.train.tfutil import predict  # noqa: E402
from kwsgen.train.transfer import train_project  # noqa: E402

SHARED = Path(os.environ.get("KWSGEN_SHARED_DATA", REPO.parent / "shared" / "data"))
KEYWORDS = ["yes", "no", "on", "off"]


def zero_shot(project: Project) -> float:
    """Test accuracy of the base model without transfer: its classes mapped to the project's labels."""
    base = load_base(find_base(project.settings.training.base))
    data = project_data(project, base.minmax, progress=False)
    test = data.splits["Test"]
    model = base_keras_model(base)
    pred = predict(model, test.x).argmax(axis=1)
    labels = data.labels
    mapped = np.array([labels.index(c) if c in labels else labels.index(UNKNOWN) for c in base.classes])[pred]
    return round(float(np.mean(mapped == test.y)), 4)


def run_seeds(project: Project, seeds: list[int]) -> dict:
    runs = []
    for seed in seeds:
        lines: list[str] = []
        result = train_project(
            project, force=True, progress=False, log=lines.append, seed=seed, model=f"bench-seed{seed}"
        )
        s, m = result.metrics["summary"], result.metrics
        runs.append(
            {
                "seed": seed,
                "test_int8_accuracy": s["Test"]["int8_accuracy"],
                "test_float_accuracy": s["Test"]["float_accuracy"],
                "validate_int8_accuracy": s["Validate"]["int8_accuracy"],
                "epochs": m["epochs_run"],
                "seconds": m["seconds"],
                "stage_seconds": m["stage_seconds"],
                # What `kwsgen train` prints last (the README's `make demo` transcript quotes seed 1's).
                "log_tail": [line for line in lines if line.startswith(("operating point", "time:"))],
                "summary": s,
            }
        )
        print(f"  seed {seed}: test int8 {runs[-1]['test_int8_accuracy']:.3f}, {m['seconds']} s", file=sys.stderr)
    test = [r["test_int8_accuracy"] for r in runs]
    return {
        "runs": runs,
        "test_int8_accuracy_mean": round(float(np.mean(test)), 4),
        "test_int8_accuracy_min": round(float(np.min(test)), 4),
        "seconds_max": max(r["seconds"] for r in runs),
        "reference_base_model_without_training": zero_shot(project),
    }


def counts(project: Project) -> dict:
    md = project.load_metadata()
    speakers = {s: Counter() for s in ("Train", "Validate", "Test")}
    for row in md.rows.values():
        speakers[row["Set"]][row.get("speaker", "")] += 1
    return {s: len(v) for s, v in speakers.items()}


def example(seeds: list[int], work: Path) -> dict:
    root = work / "example"
    shutil.copytree(example_project_dir(), root)
    project = Project.open(root)
    return {"speakers": counts(project), **run_seeds(project, seeds)}


def speech_commands_project(work: Path) -> tuple[Project, int]:
    """The user-like project from held-out speakers, and how many clips it took."""
    source = SHARED / "speech_commands_v2"
    held = PretrainConfig().held_out_percent
    # Only speakers pretraining never saw, linked into a Speech Commands layout.
    layout = work / "sc_held_out"
    n_files = 0
    for word_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        for f in sorted(word_dir.glob("*.flac")):
            if speaker_bucket(speaker_of(f)) >= 100 - held:
                (layout / word_dir.name).mkdir(parents=True, exist_ok=True)
                (layout / word_dir.name / f.name).symlink_to(f)
                n_files += 1
    root = work / "speech_commands"
    Project.create(root, [*KEYWORDS, UNKNOWN])
    project = Project.open(root)
    plan = plan_speech_commands(project, layout, split=(50, 15, 35), noise_dirs=[SHARED / "background_noise"])
    apply_plan(project, plan, progress=False)
    return Project.open(root), n_files


def speech_commands(seeds: list[int], work: Path) -> dict:
    if not (SHARED / "speech_commands_v2").is_dir():
        return {"skipped": f"{SHARED / 'speech_commands_v2'} not found"}
    project, n_files = speech_commands_project(work)
    return {
        "source": f"{n_files} clips of speakers held out of pretraining, plus silence clips and background noise",
        "speakers": counts(project),
        **run_seeds(project, seeds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated training seeds (default: %(default)s)")
    parser.add_argument(
        "--only", choices=["example", "speech-commands"], help="measure one dataset only (default: both)"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "seeds": seeds}
    with tempfile.TemporaryDirectory(prefix="kwsgen-bench-") as tmp:
        if args.only in (None, "example"):
            print("example project", file=sys.stderr)
            results["example_project"] = example(seeds, Path(tmp))
        if args.only in (None, "speech-commands"):
            print("speech commands, held-out speakers", file=sys.stderr)
            results["speech_commands_held_out"] = speech_commands(seeds, Path(tmp))
    if args.only is None:
        save("transfer", results)  # the README quotes the full run
    else:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
