"""A base model's own head as a yes/no/on/off detector on bench/detection.py's held-out streams (zero-shot).

Pretraining changes are judged here first: a base is scored in a minute or
two, where bench/detection.py trains two transfer projects per base (about
nine minutes) and adds the transfer's own seed noise. The last stop's
measurements found the two agree (the trained user project detects no better
than its base's own head), so a base that loses here is not worth the
transfer benchmark.

The streams are bench/detection.py's (same seed, same held-out speakers and
sentences, both folds together). The head runs as continuous mode does: a
classification every 4 hops, a keyword reported when it ranks first at or
above the threshold, then one second of suppression. Reported per base: the
DET curve (false alarms per hour on the negative stream against keywords
missed on the positive stream as one threshold moves), the fewest missed at
20 and at 50 false alarms per hour or fewer, that figure averaged over budgets
from 10 to 50 per hour (steadier: see det_mean_miss), and the fewest false alarms per
hour with at most 25% missed (even at a threshold of 0.4 the shipped kws25k
misses 19% of these keywords, so 10% is out of its reach). The first base named is the reference the others
are compared with.

A name "A+B+..." is an ensemble: the average of those bases' heads, scored
the same way. No device runs one (it would cost the sum of their
computations); it shows how much several bases' disagreement removes, which
is what `kwsgen pretrain --teacher` tries to teach one base.

Usage: python bench/base_detection.py [--seed 1] BASE [BASE ...]   (kws10k|kws25k|kws50k|FOLDER|A+B...; default kws25k)
Run on exactly the README's rows (seed 1), it saves bench/results/base_detection.json:
    python bench/base_detection.py kws25k kws10k kws50k kws10k+kws25k kws10k+kws50k kws25k+kws50k kws10k+kws25k+kws50k
Any other list prints its JSON and leaves the saved run alone (a part of it would drop the README's other rows).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from detection import (  # noqa: E402
    DATA,
    FOLDS,
    KEYWORDS,
    RATE,
    det_at_most,
    det_mean_miss,
    negative_stream,
    noises,
    positive_stream,
)
from results import save  # noqa: E402  (bench/results.py)

from kwsgen.firmware.app import threshold_probability  # noqa: E402
from kwsgen.frontend import EnergyFilterConfig  # noqa: E402
from kwsgen.train.basemodel import BaseModel, base_keras_model, find_base, load_base  # noqa: E402
from kwsgen.train.calibrate import Q_GRID, Stream, audio_stream  # noqa: E402
from kwsgen.train.devstream import head_curve  # noqa: E402
from kwsgen.train.pretrain import float_outputs  # noqa: E402

EVERY, SUPPRESS = 4, 50
# the README's table, in its order: the shipped bases, then every ensemble of them
README_ROWS = ["kws25k", "kws10k", "kws50k", "kws10k+kws25k", "kws10k+kws50k", "kws25k+kws50k", "kws10k+kws25k+kws50k"]


def streams(seed: int) -> tuple[list[np.ndarray], list[tuple]]:
    """bench/detection.py's streams for this seed, drawn in its order: (negatives, positives with truth)."""
    rng, beds = np.random.default_rng(seed), noises()
    negatives, positives = [], []
    for fold in range(FOLDS):
        negatives.append(negative_stream(fold, rng, beds)[0])
        positives.append(positive_stream(fold, rng, beds))
    return negatives, positives


def head_streams(name: str, negatives: list[np.ndarray], positives: list[tuple]) -> tuple[list, list, BaseModel]:
    """One base's head along every stream: (negative streams, positive streams, the base)."""
    base = load_base(find_base(name))
    outputs = float_outputs(base_keras_model(base))

    def along(audio, truth):
        return audio_stream(audio, truth, outputs, True, EVERY, base.frontend, EnergyFilterConfig(), base.minmax)

    return [along(a, []) for a in negatives], [along(a, t) for a, t in positives], base


def averaged(streams: list[list[Stream]]) -> list[Stream]:
    """The members' probabilities averaged, stream by stream (the same frames: one front end, one rule)."""
    return [
        dataclasses.replace(s[0], probs=np.round(np.mean([m.probs for m in s], axis=0)).astype(np.int64))
        for s in zip(*streams, strict=True)
    ]


def measure(name: str, negatives: list[np.ndarray], positives: list[tuple], heads: dict) -> dict:
    """A base, or with "A+B+..." an ensemble: the average of those bases' heads (bases of the same classes)."""
    started = time.time()
    names = name.split("+")
    for member in names:
        if member not in heads:  # a base in several ensembles runs along the streams once
            heads[member] = head_streams(member, negatives, positives)
    members = [heads[member] for member in names]
    base, config = members[0][2], members[0][2].frontend
    if any(m[2].classes != base.classes or m[2].frontend != config for m in members):
        sys.exit(f"{name}: an ensemble needs bases of the same classes and front end")
    negative, positive = averaged([m[0] for m in members]), averaged([m[1] for m in members])
    false_alarms, _, _ = head_curve(negative, base.classes, tuple(KEYWORDS), config, SUPPRESS)
    _, hits, events = head_curve(positive, base.classes, tuple(KEYWORDS), config, SUPPRESS)
    hours = sum(len(a) for a in negatives) / RATE / 3600
    per_hour, missed = false_alarms / hours, 1 - hits / events
    det = [
        {
            "threshold": threshold_probability(int(q)),
            "false_alarms_per_hour": round(float(f), 1),
            "miss_rate": round(float(m), 4),
        }
        for q, f, m in zip(Q_GRID[:-1], per_hour[:-1], missed[:-1], strict=True)
    ]
    return {
        "base": name,
        "held_out_accuracy_int8": base_card(name).get("held_out_accuracy_int8") if "+" not in name else None,
        "fewest_missed_at_most_20_per_hour": det_at_most(det, 20.0),
        "fewest_missed_at_most_50_per_hour": det_at_most(det, 50.0),
        "mean_missed_10_to_50_per_hour": det_mean_miss(det),
        "false_alarms_per_hour_at_25_percent_missed": fewest_false_alarms(det, 0.25),
        "det": det[::4],
        "seconds": round(time.time() - started, 1),
    }


def fewest_false_alarms(det: list[dict], miss_rate: float) -> dict | None:
    reach = [p for p in det if p["miss_rate"] <= miss_rate]
    return min(reach, key=lambda p: (p["false_alarms_per_hour"], p["miss_rate"])) if reach else None


def gain(reference: dict | None, point: dict | None) -> float | None:
    """Keywords missed by the reference minus by this base, at the same false-alarm budget."""
    return round(reference["miss_rate"] - point["miss_rate"], 4) if reference and point else None


def base_card(name: str) -> dict:
    path = find_base(name) / "card.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bases", nargs="*", default=["kws25k"], help="the first is the reference")
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the streams' order, gaps and noise (default: %(default)s, as the docs quote)",
    )
    args = parser.parse_args()
    if not (DATA / "speech_commands_v2").is_dir() or not (DATA / "sentences").is_dir():
        sys.exit(f"real speech not found at {DATA} (set KWSGEN_SHARED_DATA)")
    negatives, positives = streams(args.seed)
    heads: dict = {}
    results = [measure(name, negatives, positives, heads) for name in args.bases]
    for r in results:
        r["fewer_missed_than_reference"] = {
            key: gain(results[0][key], r[key])
            for key in ("fewest_missed_at_most_20_per_hour", "fewest_missed_at_most_50_per_hour")
        }
        reference_mean, mean = results[0]["mean_missed_10_to_50_per_hour"], r["mean_missed_10_to_50_per_hour"]
        r["fewer_missed_than_reference"]["mean_missed_10_to_50_per_hour"] = (
            round(reference_mean - mean, 4) if reference_mean is not None and mean is not None else None
        )
        print(
            f"  {r['base']}: {r['fewest_missed_at_most_20_per_hour']}, mean missed at 10-50 per hour {mean}",
            file=sys.stderr,
        )
    out = {
        "what": "a base's own head as a yes/no/on/off detector on bench/detection.py's held-out streams",
        "seed": args.seed,
        "reference": args.bases[0],
        "negative_minutes": round(sum(len(a) for a in negatives) / RATE / 60, 1),
        "keywords": sum(len(t) for _, t in positives),
        "bases": results,
    }
    if args.bases == README_ROWS and args.seed == 1:
        save("base_detection", out)  # the README quotes these rows
    else:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
