"""kwsgen build --verify: the three engines on the project's Test recordings, line for line."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..audio import read_audio
from ..errors import KwsgenError
from ..project import Project
from ..project.store import canonical_set
from .app import FirmwareSpec
from .engines import run_host, run_python, run_qemu


@dataclass
class VerifyReport:
    recordings: int = 0
    seconds: float = 0.0
    lines: int = 0
    differences: list[str] = field(default_factory=list)
    hop_instructions: list[int] = field(default_factory=list)
    inference_hop_instructions: list[int] = field(default_factory=list)

    @property
    def instructions_per_hop(self) -> int:
        return int(np.median(self.hop_instructions)) if self.hop_instructions else 0

    @property
    def instructions_per_inference(self) -> int:
        if not self.inference_hop_instructions:
            return 0
        return int(np.median(self.inference_hop_instructions)) - self.instructions_per_hop

    def summary_lines(self) -> list[str]:
        out = [
            f"verified {self.recordings} Test recordings ({self.seconds:.0f} s of audio, then all of them as one "
            f"stream): {self.lines} lines from python, host and qemu"
            + (" all identical" if not self.differences else f"; {len(self.differences)} differences"),
        ]
        if self.hop_instructions:
            out.append(
                f"Cortex-M4 (QEMU): {self.instructions_per_hop:,} instructions per hop, "
                f"{self.instructions_per_inference:,} per inference"
            )
        return out


def recordings_of_test_set(project: Project) -> list[str]:
    md = project.load_metadata()
    files = sorted(f for f, row in md.rows.items() if canonical_set(row.get("Set", "")) == "Test")
    return [f for f in files if project.recording_path(f).is_file()]


def _compare(name: str, runs: dict[str, list[str]], report: VerifyReport) -> None:
    ref = runs["python"]
    report.lines += len(ref)
    for engine, lines in runs.items():
        if lines != ref:
            first = next(
                (i for i, (a, b) in enumerate(zip(ref, lines, strict=False)) if a != b), min(len(ref), len(lines))
            )
            report.differences.append(
                f"{name}: {engine} differs from python at line {first + 1} ({len(lines)} lines against {len(ref)})"
            )


def verify_engines(
    project: Project, spec: FirmwareSpec, progress: bool = True, limit: int | None = None
) -> VerifyReport:
    from ..progress import progress_bar

    files = recordings_of_test_set(project)[:limit]
    if not files:
        raise KwsgenError(
            "no Test recordings to verify with: give some recordings Set = Test", project.root / "metadata.csv"
        )
    report = VerifyReport()
    audios = []
    with progress_bar(progress) as bar:
        task = bar.add_task("verifying", total=len(files) + 1)
        for f in files:
            audio = read_audio(project.recording_path(f))
            audios.append(audio)
            report.recordings += 1
            report.seconds += len(audio) / spec.frontend.sample_rate
            qemu = run_qemu(spec, audio, count=True)
            _compare(
                f,
                {"python": run_python(spec, audio).lines, "host": run_host(spec, audio).lines, "qemu": qemu.lines},
                report,
            )
            plain, inferring = qemu.hops_split()
            report.hop_instructions += plain
            report.inference_hop_instructions += inferring
            bar.update(task, advance=1)
        stream = np.concatenate(audios)
        _compare(
            "all Test recordings as one stream",
            {
                "python": run_python(spec, stream).lines,
                "host": run_host(spec, stream, chunk=333).lines,
                "qemu": run_qemu(spec, stream).lines,
            },
            report,
        )
        bar.update(task, advance=1)
    return report
