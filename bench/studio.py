"""kwsgen studio with a big project: 10,000 recordings, and a 10-minute recording.

Measures, in one run on one machine:
  - the recordings table's API call (every recording's length, metadata and
    segment counts), cold (first call: every audio header read) and warm;
  - reference: `kwsgen data`'s summary (project_summary) of the same project,
    which reads the same files;
  - in Debian's headless chromium (skipped with a reason when it is missing):
    from opening the page to the table's first page drawn, and from opening
    the 10-minute recording to its waveform and segments drawn.

Prints JSON and saves bench/results/studio.json.
Usage: python bench/studio.py [--recordings N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from results import save  # noqa: E402  (bench/results.py)

from kwsgen.project import Project, Segment  # noqa: E402
from kwsgen.project.overview import project_summary  # noqa: E402
from kwsgen.studio import RunningStudio  # noqa: E402

RATE = 16000
LONG = "long/ten_minutes.wav"


def build(root: Path, n: int) -> Project:
    """n one-second clips from n / 10 speakers (one segment each), and a 10-minute take with 300 segments."""
    project = Project.create(root, ["yes", "no", "Unknown"])
    rng = np.random.default_rng(1)
    md = project.load_metadata()
    session = project.load_session("Training Session")
    clip = (rng.standard_normal(RATE) * 300).astype(np.int16)
    for i in range(n):
        speaker = f"s{i // 10:04d}"
        name = f"{speaker}/{i:05d}.wav"
        path = project.recording_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, clip, RATE, subtype="PCM_16")
        md.set(name, {"Set": "Train", "speaker": speaker, "keyword": "yes"})
        session.segments.append(Segment(name, 0, RATE, "yes"))
    take = (rng.standard_normal(600 * RATE) * 300).astype(np.int16)
    project.recording_path(LONG).parent.mkdir(parents=True)
    sf.write(project.recording_path(LONG), take, RATE, subtype="PCM_16")
    md.set(LONG, {"Set": "Train", "speaker": "long", "keyword": "yes"})
    session.segments += [Segment(LONG, k * 2 * RATE, k * 2 * RATE + 20000, "yes") for k in range(300)]
    project.save_metadata(md)
    project.save_session(session)
    return Project.open(root)


def timed(work, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def api_timings(studio: RunningStudio, project: Project) -> dict:
    import httpx

    headers = {"X-Kwsgen-Token": studio.token}
    base = studio.url.split("/?")[0]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        cold = timed(lambda: client.get("/api/recordings").raise_for_status())
        warm = timed(lambda: client.get("/api/recordings").raise_for_status(), repeat=5)
        size = len(client.get("/api/recordings").content)
        segments = timed(lambda: client.get(f"/api/segments?file={LONG}").raise_for_status(), repeat=5)
    reference = timed(lambda: project_summary(Project.open(project.root), "Training Session"), repeat=3)
    return {
        "recordings_table_cold_s": round(cold, 3),
        "recordings_table_warm_s": round(warm, 3),
        "recordings_table_bytes": size,
        "long_recording_segments_s": round(segments, 3),
        "reference_kwsgen_data_summary_s": round(reference, 3),
    }


def browser_timings(studio: RunningStudio) -> dict:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return {"skipped": "Debian's chromium and chromium-driver are not installed"}
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)

    def wait(script: str, expected) -> None:
        deadline = time.monotonic() + 60
        while driver.execute_script(script) != expected:
            if time.monotonic() > deadline:
                raise TimeoutError(script)
            time.sleep(0.01)

    try:
        table, long_view = [], []
        for _ in range(3):
            driver.get("about:blank")
            start = time.perf_counter()
            driver.get(studio.url)
            wait("return document.querySelectorAll('#recordings tbody tr').length", 200)
            table.append(time.perf_counter() - start)
            start = time.perf_counter()
            driver.execute_script(f"location.hash = '#/rec/{LONG}'")
            wait("return document.body.dataset.ready", LONG)
            long_view.append(time.perf_counter() - start)
    finally:
        driver.quit()
    return {
        "page_to_table_s": round(statistics.median(table), 3),
        "ten_minute_recording_shown_s": round(statistics.median(long_view), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--recordings", type=int, default=10000, help="recordings in the generated project (default: %(default)s)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        project = build(Path(tmp) / "big", args.recordings)
        built = time.perf_counter() - start
        with RunningStudio(project.root) as studio:
            report = {
                "recordings": args.recordings + 1,
                "project_built_s": round(built, 1),
                "api": api_timings(studio, project),
                "browser": browser_timings(studio),
                "notes": "recordings table: one JSON answer with every row, filtered and sorted in the page, drawn "
                "200 rows a page; the 10-minute recording shows its waveform without a spectrogram (over 120 s)",
            }
    save("studio", report)


if __name__ == "__main__":
    main()
