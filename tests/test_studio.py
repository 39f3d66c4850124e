"""kwsgen studio: its API (through Starlette's test client) and the page in a real headless chromium."""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from kwsgen.cli.main import main as cli_main
from kwsgen.project import Project
from kwsgen.project.editing import file_segments, segments_version
from kwsgen.studio import RunningStudio
from kwsgen.studio import server as studio_server
from kwsgen.studio.api import PLUGINS
from kwsgen.studio.server import create_app

from .conftest import in_ci, start_virtual_device
from .project_helpers import clip, multi_word_recording, new_project, snapshot, write

TOKEN = "test-token-123"
HEADERS = {"X-Kwsgen-Token": TOKEN}
REPO = Path(__file__).resolve().parents[1]

needs_vendor = pytest.mark.skipif(
    studio_server.vendor_missing() is not None and not in_ci(),
    reason="the studio's npm libraries are not installed (npm ci --prefix kwsgen/studio/web; make setup does it)",
)


def small_project(tmp_path: Path) -> Project:
    """Three speakers, two keyword clips each and a longer recording; segments for some."""
    project = new_project(tmp_path)
    rng = np.random.default_rng(5)
    files = []
    for speaker in ("ann", "bob", "cy"):
        for word in ("yes", "no"):
            name = f"{speaker}/{word}.wav"
            write(project.recording_path(name), clip(rng, 1.5))
            files.append((name, speaker, word))
    audio, _ = multi_word_recording(rng, 3)
    write(project.recording_path("long/take.wav"), audio)
    md = project.load_metadata()
    for name, speaker, word in files:
        md.set(name, {"Set": "Train", "speaker": speaker, "keyword": word})
    md.set("long/take.wav", {"Set": "", "speaker": "", "keyword": "yes"})
    project.save_metadata(md)
    session = project.load_session("Training Session")
    session.add([project_segment("ann/yes.wav", 2000, 22000, "yes"), project_segment("bob/no.wav", 0, 20000, "no")])
    project.save_session(session)
    return project


def project_segment(file: str, start: int, end: int, label: str):
    from kwsgen.project import Segment

    return Segment(file, start, end, label)


@pytest.fixture
def proj(tmp_path):
    return small_project(tmp_path)


@pytest.fixture
def client(proj):
    return TestClient(create_app(proj.root, TOKEN), base_url="http://127.0.0.1:8765")


# ---- security ------------------------------------------------------------------------------------


def test_every_request_needs_the_token(client):
    for path in ("/", "/api/project", "/api/recordings", "/static/app.js", "/vendor/wavesurfer.esm.js"):
        bare = client.get(path)
        assert bare.status_code == 401 and "access token" in bare.json()["error"], path
        wrong = client.get(path, headers={"X-Kwsgen-Token": "guess"})
        assert wrong.status_code == 401, path
    assert client.get("/api/project", headers=HEADERS).status_code == 200
    assert client.get(f"/api/project?token={TOKEN}").status_code == 200


@needs_vendor
def test_the_page_sets_a_strict_cookie_that_its_module_and_audio_requests_use(client):
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "<title>kwsgen studio</title>" in page.text
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/vendor/plugins/regions.esm.js").status_code == 200  # the cookie alone
    assert client.get("/api/audio?file=ann/yes.wav").status_code == 200


def test_other_host_names_are_refused_against_dns_rebinding(proj):
    evil = TestClient(create_app(proj.root, TOKEN), base_url="http://attacker.example:8765")
    got = evil.get("/api/project", headers=HEADERS)
    assert got.status_code == 421 and "answers only for" in got.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/audio?file=../kwsgen.toml",
        "/api/audio?file=/etc/passwd",
        "/api/audio?file=..%2Fmetadata.csv",
        "/api/audio?file=ann/../../kwsgen.toml",
        "/api/segments?file=../kwsgen.toml",
        "/static/..%2Fapi.py",
        "/static/index.html",
        "/vendor/../../server.py",
        "/vendor/..%2F..%2Fpackage.json",
        "/vendor/plugins/record.esm.js",
        "/api/models/..%2F..%2Fkwsgen.toml/report",
    ],
)
def test_nothing_outside_the_project_and_the_page_is_served(client, path):
    got = client.get(path, headers=HEADERS)
    assert got.status_code in (400, 404), (path, got.status_code)
    assert "error" in got.json() and "Traceback" not in got.text


def test_audio_is_served_with_range_requests_for_seeking(client, proj):
    whole = proj.recording_path("ann/yes.wav").read_bytes()
    got = client.get("/api/audio?file=ann/yes.wav", headers={**HEADERS, "Range": "bytes=100-199"})
    assert got.status_code == 206 and got.content == whole[100:200]


def test_bad_requests_get_one_clear_json_error_never_a_traceback(client, monkeypatch):
    bad_json = client.put("/api/segments", content=b"{nope", headers=HEADERS)
    assert bad_json.status_code == 400 and bad_json.json() == {"error": "the request body is not JSON"}
    not_list = client.put("/api/segments", json={"file": "ann/yes.wav", "session": "x", "segments": 3}, headers=HEADERS)
    assert not_list.status_code == 400 and "list of {start, end, label}" in not_list.json()["error"]
    assert client.post("/api/project", headers=HEADERS).status_code == 405

    def broken(*args):
        raise RuntimeError("a bug")

    from kwsgen.studio import api

    monkeypatch.setattr(api, "recordings_table", broken)
    client = TestClient(client.app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)
    got = client.get("/api/recordings", headers=HEADERS)
    assert got.status_code == 500 and got.json()["error"].startswith("internal error (RuntimeError: a bug)")


def test_the_page_uses_no_cdn_and_a_wheel_carries_every_library_file_it_loads():
    import fnmatch
    import re
    import tomllib

    web = REPO / "kwsgen" / "studio" / "web"
    for name in ("index.html", "app.js", "style.css"):
        assert not re.search(r"(src|href|import)[^\n]*https?://", (web / name).read_text()), name
    imports = re.findall(r"from '/vendor/([^']+)'", (web / "app.js").read_text())
    assert sorted(imports) == sorted(["wavesurfer.esm.js", *(f"plugins/{p}.esm.js" for p in PLUGINS)])
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    lock = (web / "package-lock.json").read_text()
    assert '"node_modules/wavesurfer.js"' in lock  # npm ci installs exactly the pinned version
    for name in imports:
        path = f"kwsgen/studio/web/node_modules/wavesurfer.js/dist/{name}"
        assert any(fnmatch.fnmatch(path, pattern) for pattern in wheel["artifacts"]), path


# ---- reading ---------------------------------------------------------------------------------------


def test_the_recordings_table_has_lengths_metadata_and_segments_per_label(client):
    table = client.get("/api/recordings", headers=HEADERS).json()
    rows = {r["file"]: r for r in table["rows"]}
    assert len(rows) == 7 and table["columns"] == ["file", "Set", "speaker", "keyword"]
    assert rows["ann/yes.wav"]["seconds"] == 1.5 and rows["ann/yes.wav"]["labels"] == {"yes": 1}
    assert rows["cy/no.wav"]["segments"] == 0 and rows["cy/no.wav"]["speaker"] == "cy"


def test_the_summary_links_each_finding_to_its_recordings(client):
    summary = client.get("/api/summary", headers=HEADERS).json()
    assert summary["segments"]["yes"]["Train"] == 1
    unlabelled = next(i for i in summary["issues"] if "have no segments" in i["message"])
    # Every recording concerned, also those the message leaves out ("... and 2 more").
    assert unlabelled["files"] == ["ann/no.wav", "bob/yes.wav", "cy/no.wav", "cy/yes.wav", "long/take.wav"]
    assert "cy/yes.wav" not in unlabelled["message"]


# ---- editing segments ------------------------------------------------------------------------------


def segments_on_disk(proj: Project, session: str = "Training Session") -> list[tuple]:
    with open(proj.session_path(session)) as f:
        return [(r["file"], r["label"], int(r["start"]), int(r["end"])) for r in csv.DictReader(f)]


def test_a_segment_edit_is_saved_at_once_to_the_file_the_cli_reads(client, proj):
    before = snapshot(proj.recordings_dir)
    got = client.get("/api/segments?file=ann/yes.wav", headers=HEADERS).json()
    new = [*got["segments"], {"start": 3000, "end": 23000, "label": "no"}]
    put = client.put(
        "/api/segments",
        json={"session": "Training Session", "file": "ann/yes.wav", "version": got["version"], "segments": new},
        headers=HEADERS,
    )
    assert put.status_code == 200
    assert ("ann/yes.wav", "no", 3000, 23000) in segments_on_disk(proj)
    assert ("bob/no.wav", "no", 0, 20000) in segments_on_disk(proj)  # other recordings untouched
    reread = file_segments(Project.open(proj.root).load_session("Training Session"), "ann/yes.wav")
    assert put.json()["version"] == segments_version(reread)
    assert snapshot(proj.recordings_dir) == before  # recordings are never modified


def test_an_edit_on_a_stale_copy_is_refused_and_nothing_is_written(client, proj):
    got = client.get("/api/segments?file=ann/yes.wav", headers=HEADERS).json()
    # Meanwhile the CLI (or another tab) changes this recording's segments.
    session = proj.load_session("Training Session")
    session.segments.append(project_segment("ann/yes.wav", 4000, 24000, "yes"))
    proj.save_session(session)
    on_disk = proj.session_path("Training Session").read_bytes()
    put = client.put(
        "/api/segments",
        json={"session": "Training Session", "file": "ann/yes.wav", "version": got["version"], "segments": []},
        headers=HEADERS,
    )
    assert put.status_code == 409
    assert "changed on disk since they were loaded" in put.json()["error"] and "reload" in put.json()["error"]
    assert proj.session_path("Training Session").read_bytes() == on_disk


def test_a_failed_write_says_which_file_and_keeps_the_old_one(client, proj, monkeypatch):
    got = client.get("/api/segments?file=cy/no.wav", headers=HEADERS).json()
    before = proj.session_path("Training Session").read_bytes()
    from kwsgen import fsutil

    monkeypatch.setattr(fsutil, "_writes", 0)
    monkeypatch.setenv("KWSGEN_FAULT_WRITES", "1")  # the next file written fails as a full disk does
    body = {"session": "Training Session", "file": "cy/no.wav", "version": got["version"], "segments": []}
    put = client.put("/api/segments", json=body, headers=HEADERS)
    assert put.status_code == 500 and "Training Session.csv: No space left on device" in put.json()["error"]
    assert "nothing was saved" in put.json()["error"]
    assert proj.session_path("Training Session").read_bytes() == before


def test_an_edit_of_another_recording_is_not_stale(client, proj):
    got = client.get("/api/segments?file=cy/no.wav", headers=HEADERS).json()
    session = proj.load_session("Training Session")
    session.segments.append(project_segment("ann/yes.wav", 4000, 24000, "yes"))
    proj.save_session(session)
    segment = {"start": 0, "end": 20000, "label": "no"}
    body = {"session": "Training Session", "file": "cy/no.wav", "version": got["version"], "segments": [segment]}
    assert client.put("/api/segments", json=body, headers=HEADERS).status_code == 200
    assert {("cy/no.wav", "no", 0, 20000), ("ann/yes.wav", "yes", 4000, 24000)} <= set(segments_on_disk(proj))


@pytest.mark.parametrize(
    "segment, message",
    [
        ({"start": 10000, "end": 30000, "label": "yes"}, "runs past the end of the recording (24000 samples)"),
        ({"start": 500, "end": 500, "label": "yes"}, "must start at 0 or later and end after its start"),
        ({"start": -1, "end": 500, "label": "yes"}, "must start at 0 or later"),
        ({"start": 0.5, "end": 500, "label": "yes"}, "whole numbers of samples"),
        ({"start": 0, "end": 500, "label": "a/b"}, "contains a path separator"),
        ({"start": 0, "end": 500, "label": ""}, "must not be empty"),
    ],
)
def test_bad_segments_are_refused_with_a_message(client, proj, segment, message):
    got = client.get("/api/segments?file=cy/yes.wav", headers=HEADERS).json()
    body = {"session": "Training Session", "file": "cy/yes.wav", "version": got["version"], "segments": [segment]}
    before = proj.session_path("Training Session").read_bytes()
    put = client.put("/api/segments", json=body, headers=HEADERS)
    assert put.status_code == 400 and message in put.json()["error"]
    assert proj.session_path("Training Session").read_bytes() == before


def test_sessions_are_created_copied_and_renamed(client, proj):
    assert client.post(
        "/api/sessions", json={"name": "Mine", "copy_from": "Training Session"}, headers=HEADERS
    ).is_success
    assert segments_on_disk(proj, "Mine") == segments_on_disk(proj)
    assert client.post("/api/sessions", json={"name": "Empty"}, headers=HEADERS).json()["segments"] == 0
    again = client.post("/api/sessions", json={"name": "Mine"}, headers=HEADERS)
    assert again.status_code == 400 and "already exists" in again.json()["error"]
    assert client.post("/api/sessions/rename", json={"old": "Mine", "new": "Yours"}, headers=HEADERS).is_success
    assert Project.open(proj.root).session_names() == ["Empty", "Training Session", "Yours"]
    training = client.post("/api/sessions/rename", json={"old": "Training Session", "new": "x"}, headers=HEADERS)
    assert training.status_code == 400 and "copy it instead" in training.json()["error"]
    bad = client.post("/api/sessions", json={"name": "../evil"}, headers=HEADERS)
    assert bad.status_code == 400 and not (proj.root / "evil.csv").exists()


# ---- metadata and Sets -----------------------------------------------------------------------------


def test_metadata_edits_and_bulk_sets_are_saved_and_stale_ones_refused(client, proj):
    edits = {"ann/yes.wav": {"Set": "Test"}, "ann/no.wav": {"Set": "Test", "mic": "usb"}}
    base = {"ann/yes.wav": {"Set": "Train"}, "ann/no.wav": {"Set": "Train", "mic": ""}}
    assert client.patch("/api/metadata", json={"edits": edits, "base": base}, headers=HEADERS).json()["changed"] == 3
    md = Project.open(proj.root).load_metadata()
    assert md.get("ann/yes.wav", "Set") == "Test" and md.get("ann/no.wav", "mic") == "usb"
    stale = client.patch(
        "/api/metadata", json={"edits": {"ann/yes.wav": {"Set": "Validate"}}, "base": base}, headers=HEADERS
    )
    assert stale.status_code == 409 and "ann/yes.wav Set" in stale.json()["error"]
    assert Project.open(proj.root).load_metadata().get("ann/yes.wav", "Set") == "Test"
    wrong = client.patch(
        "/api/metadata", json={"edits": {"ann/yes.wav": {"Set": "train"}}, "base": {}}, headers=HEADERS
    )
    assert wrong.status_code == 400 and "Set 'train' is not a Set" in wrong.json()["error"]
    gone = client.patch("/api/metadata", json={"edits": {"nope.wav": {"Set": "Test"}}}, headers=HEADERS)
    assert gone.status_code == 400 and "not in recordings/: nope.wav" in gone.json()["error"]


def test_split_by_speaker_previews_then_gives_each_speaker_one_set(client, proj):
    before = proj.metadata_path.read_bytes()
    preview = client.post("/api/split", json={"column": "speaker", "validate": 34, "test": 34}, headers=HEADERS).json()
    assert proj.metadata_path.read_bytes() == before
    assert {s: c["values"] for s, c in preview["counts"].items()} == {"Train": 1, "Validate": 1, "Test": 1}
    assert preview["without_value"] == ["long/take.wav"]
    body = {"column": "speaker", "validate": 34, "test": 34, "apply": True}
    applied = client.post("/api/split", json=body, headers=HEADERS).json()
    md = Project.open(proj.root).load_metadata()
    for speaker in ("ann", "bob", "cy"):
        assert md.get(f"{speaker}/yes.wav", "Set") == md.get(f"{speaker}/no.wav", "Set")
    assert sorted(md.get(f"{s}/yes.wav", "Set") for s in ("ann", "bob", "cy")) == ["Test", "Train", "Validate"]
    assert applied["changed"] == 4 and md.get("long/take.wav", "Set") == ""


def test_data_split_on_the_command_line(proj, capsys):
    assert cli_main(["data", "split", "--by", "speaker", "--test", "34", "--validate", "0", "-p", str(proj.root)]) == 0
    out = capsys.readouterr().out
    assert "metadata.csv: 2 recordings changed Set" in out and "1 recordings have no speaker" in out
    assert cli_main(["data", "split", "--by", "mic", "-p", str(proj.root)]) == 1
    assert "metadata has no column 'mic'" in capsys.readouterr().err
    assert cli_main(["data", "split", "--by", "speaker", "--test", "60", "--validate", "40", "-p", str(proj.root)]) == 1
    assert "leave nothing to train on" in capsys.readouterr().err
    assert cli_main(["data", "-p", str(proj.root), "--json"]) in (0, 1)  # the summary still answers


def test_auto_label_adds_segments_only_where_there_are_none(client, proj):
    got = client.post(
        "/api/autolabel", json={"session": "Training Session", "files": ["long/take.wav"]}, headers=HEADERS
    )
    assert got.status_code == 200 and got.json()["added"] == 3
    labelled = [s for s in segments_on_disk(proj) if s[0] == "long/take.wav"]
    assert len(labelled) == 3 and {s[1] for s in labelled} == {"yes"}
    again = client.post(
        "/api/autolabel", json={"session": "Training Session", "files": ["long/take.wav"]}, headers=HEADERS
    )
    assert again.json()["added"] == 0 and "already has segments" in again.json()["skipped"][0]


def test_dropped_files_are_imported_with_kwsgen_imports_checks(client, proj, tmp_path):
    rng = np.random.default_rng(3)
    good = write(tmp_path / "dee yes.wav", clip(rng, 1.25))
    stereo = write(tmp_path / "stereo.wav", np.stack([clip(rng, 1.0)] * 2, axis=1))
    before = snapshot(proj.root)
    files = [("files", ("stereo.wav", stereo.read_bytes(), "audio/wav"))]
    refused = client.post("/api/import", files=files, data={"label": "yes"}, headers=HEADERS)
    assert refused.status_code == 400
    assert refused.json()["error"] == "stereo.wav: has 2 channels; kwsgen needs mono (use --mono to mix down)"
    assert snapshot(proj.root) == before  # nothing imported, nothing left behind
    files = [("files", ("dee yes.wav", good.read_bytes(), "audio/wav"))]
    data = {"label": "yes", "set": "Validate", "into": "dropped", "meta": "speaker=dee"}
    got = client.post("/api/import", files=files, data=data, headers=HEADERS)
    assert got.status_code == 200, got.text
    assert got.json()["files"] == ["dropped/dee yes.wav"] and got.json()["copied"] == 1
    project = Project.open(proj.root)
    assert project.recording_path("dropped/dee yes.wav").read_bytes() == good.read_bytes()
    md = project.load_metadata()
    assert md.get("dropped/dee yes.wav", "Set") == "Validate" and md.get("dropped/dee yes.wav", "speaker") == "dee"
    assert [s[1] for s in segments_on_disk(proj) if s[0] == "dropped/dee yes.wav"] == ["yes"]
    assert not list((proj.root / ".kwsgen" / "upload").iterdir())
    empty = client.post("/api/import", data={"label": "yes"}, headers=HEADERS)
    assert empty.status_code == 400 and "no files" in empty.json()["error"]


def test_a_dropped_file_that_cannot_be_written_gets_one_line_and_changes_nothing(client, proj, tmp_path, monkeypatch):
    from kwsgen import fsutil

    good = write(tmp_path / "dee yes.wav", clip(np.random.default_rng(4), 1.25))
    files = [("files", ("dee yes.wav", good.read_bytes(), "audio/wav"))]
    before = snapshot(proj.root)
    monkeypatch.setattr(fsutil, "_writes", 0)
    monkeypatch.setenv("KWSGEN_FAULT_WRITES", "1")  # the import's first write fails as a full disk does
    got = client.post("/api/import", files=files, data={"label": "yes"}, headers=HEADERS)
    error = got.json()["error"]
    assert got.status_code == 400 and error.startswith(str(proj.root / "recordings" / "dee yes.wav"))
    assert "No space left on device" in error and error.endswith("nothing was changed") and "\n" not in error
    monkeypatch.delenv("KWSGEN_FAULT_WRITES")
    assert snapshot(proj.root) == before  # all or nothing, and the staged upload is gone
    # Staging itself fails: .kwsgen/upload is not a folder.
    upload = proj.root / ".kwsgen" / "upload"
    shutil.rmtree(upload, ignore_errors=True)
    upload.write_text("in the way")
    got = client.post("/api/import", files=files, data={"label": "yes"}, headers=HEADERS)
    error = got.json()["error"]
    assert got.status_code == 500 and str(upload) in error and error.endswith("nothing was saved"), error
    assert "\n" not in error and not (proj.root / "recordings" / "dee yes.wav").exists()


# ---- a trained model -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(project, tmp_path_factory):
    """The conftest's small trained project, copied, with kwsgen.toml's thresholds (its calibration stays silent)."""
    root = tmp_path_factory.mktemp("studio") / "p"
    shutil.copytree(project.root, root, ignore=shutil.ignore_patterns(".kwsgen", "cache"))
    toml = root / "kwsgen.toml"
    toml.write_text(toml.read_text().replace('operating_point = "calibrated"', 'operating_point = "settings"'))
    return root


def test_models_are_listed_and_run_on_recordings_firmware_exactly(trained):
    client = TestClient(create_app(trained, TOKEN), base_url="http://127.0.0.1:8765")
    models = client.get("/api/models", headers=HEADERS).json()["models"]
    assert [m["name"] for m in models] == ["model"] and "Test" in models[0]["summary"]
    report = client.get("/api/models/model/report", headers=HEADERS)
    assert report.status_code == 200 and "<html" in report.text.lower()
    run = client.post("/api/run", json={"truth": "Training Session", "set": "Test"}, headers=HEADERS).json()
    assert run["events"] > 0 and run["predictions"] == "Model Testing"
    assert sum(f["events"] for f in run["files"].values()) == run["events"]
    assert sum(f["hits"] for f in run["files"].values()) == run["hits"]
    assert sum(f["false_alarms"] for f in run["files"].values()) == run["false_alarms"]
    assert (trained / "sessions" / "Model Testing.csv").is_file()
    missing = client.post("/api/run", json={"model": "nosuch"}, headers=HEADERS)
    assert missing.status_code == 400 and "nosuch" in missing.json()["error"]


# ---- the page in a real browser --------------------------------------------------------------------


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = Path(os.environ.get("KWSGEN_SCREENSHOTS", REPO / "build" / "studio-screenshots"))


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER) or studio_server.vendor_missing():
        why = (
            "no headless browser: Debian's chromium and chromium-driver are not installed (make setup installs them)"
            if not (CHROMIUM and CHROMEDRIVER)
            else studio_server.vendor_missing()
        )
        if in_ci():
            pytest.fail(f"{why}; CI must run the browser tests")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # a browser that cannot start is a reason to skip, stated
        if in_ci():
            raise
        pytest.skip(f"chromium did not start: {str(exc).splitlines()[0]}")
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait_for(condition, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def live_classes(driver) -> list[str]:
    """The class column of the live view's events, read in one step: the table grows while it is read."""
    script = "return [...document.querySelectorAll('#live-events tr')].slice(1).map(r => r.cells[2].innerText.trim())"
    return driver.execute_script(script)


def open_live_view(driver, url: str) -> None:
    """The live view, once its script has shown it (a fresh page keeps its views hidden until then)."""
    from selenium.webdriver.common.by import By

    driver.get(url + "#/live")
    wait_for(lambda: driver.find_element(By.ID, "live-port").is_displayed(), "the live view")


def settled(driver) -> None:
    """Wait until the page has saved and redrawn its segments (it marks body[data-saving] meanwhile)."""
    wait_for(lambda: not driver.execute_script("return document.body.dataset.saving"), "the page to redraw")


def choose(driver, css: str, value: str) -> None:
    """Pick an option in a menu the page may be redrawing (it redraws its lists after every save)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for _ in range(20):
        try:
            Select(driver.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
            return
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError(f"{css} kept being redrawn")


def shot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"studio-{name}.png"))


def test_label_a_recording_with_the_mouse_and_see_each_edit_on_disk(browser, trained):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    studio = RunningStudio(trained, TOKEN)
    d = browser
    try:
        d.get(studio.url)
        wait_for(lambda: d.find_elements(By.CSS_SELECTOR, "#recordings tbody tr"), "the recordings table")
        shot(d, "recordings")
        file = next(f for f in sorted(Project.open(trained).recording_files()) if f.endswith("yes.flac"))

        # Change a recording's Set in the table.
        row = d.find_element(By.CSS_SELECTOR, f'#recordings tr[data-file="{file}"]')
        Select(row.find_element(By.CSS_SELECTOR, 'select[data-column="Set"]')).select_by_value("Validate")
        wait_for(lambda: Project.open(trained).load_metadata().get(file, "Set") == "Validate", "the Set on disk")

        # Open it; right-click the waveform to add a segment centred there.
        d.get(studio.url + f"#/rec/{file}")
        wait_for(lambda: d.execute_script("return document.body.dataset.ready") == file, "the waveform")
        Select(d.find_element(By.ID, "new-label")).select_by_value("no")
        before = [s for s in segments_on_disk(Project.open(trained)) if s[0] == file]
        wave = d.find_element(By.ID, "waveform")
        width = wave.size["width"]
        frames = Project.open(trained).recording_info(file).frames
        ActionChains(d).move_to_element_with_offset(wave, 40, 0).context_click().perform()

        def added():
            now = [s for s in segments_on_disk(Project.open(trained)) if s[0] == file]
            return [s for s in now if s not in before] if len(now) == len(before) + 1 else None

        (new,) = wait_for(added, "the new segment on disk")
        settled(d)
        centre = int((width / 2 + 40) / width * frames)
        assert new[1] == "no" and new[3] - new[2] == 20000
        assert abs((new[2] + new[3]) / 2 - max(10000, centre)) < frames / width * 3  # centred at the click

        # Relabel it from the list.
        index = sorted(s[2] for s in [*before, new]).index(new[2])
        choose(d, f'#segments select[data-index="{index}"]', "yes")
        relabelled = (file, "yes", new[2], new[3])
        wait_for(lambda: relabelled in segments_on_disk(Project.open(trained)), "the new label on disk")
        settled(d)

        # Drag it to the right.
        before_move = set(segments_on_disk(Project.open(trained)))
        host = d.find_element(By.CSS_SELECTOR, "#waveform > div")
        region = host.shadow_root.find_element(By.CSS_SELECTOR, f'[part~="seg-{index}"]')
        ActionChains(d).click_and_hold(region).move_by_offset(30, 0).move_by_offset(30, 0).release().perform()

        def moved():
            now = set(segments_on_disk(Project.open(trained))) - before_move
            return next(iter(now), None) if relabelled not in segments_on_disk(Project.open(trained)) else None

        after_move = wait_for(moved, "the moved segment on disk")
        settled(d)
        assert abs((after_move[2] - new[2]) - 60 * frames / width) < 3 * frames / width
        shot(d, "recording")

        # Undo puts it back.
        d.find_element(By.ID, "undo").click()
        wait_for(lambda: relabelled in segments_on_disk(Project.open(trained)), "the undone move on disk")
        settled(d)

        # Keys: select the segment (its row), 3 relabels it with the third label, Delete removes it.
        labels = Project.open(trained).labels
        d.find_elements(By.CSS_SELECTOR, "#segments tbody tr")[index].find_element(By.TAG_NAME, "td").click()
        ActionChains(d).send_keys("3").perform()
        third = (file, labels[2], new[2], new[3])
        wait_for(lambda: third in segments_on_disk(Project.open(trained)), "the key's label on disk")
        settled(d)
        ActionChains(d).send_keys(Keys.DELETE).perform()
        wait_for(lambda: third not in segments_on_disk(Project.open(trained)), "the deletion on disk")
        settled(d)
        assert sorted(s for s in segments_on_disk(Project.open(trained)) if s[0] == file) == sorted(before)
        rows = "#segments tbody tr"
        wait_for(lambda: len(d.find_elements(By.CSS_SELECTOR, rows)) == len(before), "the list without it")

        # The CLI changes the file meanwhile: the page's next edit is refused, and it reloads.
        project = Project.open(trained)
        session = project.load_session("Training Session")
        session.segments.append(project_segment(file, 1000, 21000, "Unknown"))
        project.save_session(session)
        on_disk = project.session_path("Training Session").read_bytes()
        choose(d, '#segments select[data-index="0"]', "off")
        wait_for(lambda: "changed on disk" in d.find_element(By.ID, "message").text, "the stale-edit message")
        assert project.session_path("Training Session").read_bytes() == on_disk
        wait_for(lambda: len(d.find_elements(By.CSS_SELECTOR, "#segments tbody tr")) == len(before) + 1, "the reload")
    finally:
        studio.stop()


def test_run_a_model_on_recordings_and_see_its_predictions(browser, trained):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    studio = RunningStudio(trained, TOKEN)
    d = browser
    try:
        d.get(studio.url + "#/models")
        wait_for(lambda: "model" in d.find_element(By.ID, "models").text, "the models table")
        Select(d.find_element(By.ID, "run-set")).select_by_value("Test")
        d.find_element(By.ID, "run-start").click()
        summary = wait_for(lambda: d.find_element(By.ID, "run-summary").text, "the run's summary", timeout=120)
        assert "keywords detected" in summary and "Model Testing" in summary
        assert (trained / "sessions" / "Model Testing.csv").is_file()
        rows = d.find_elements(By.CSS_SELECTOR, "#run-files tr")
        assert len(rows) > 1
        shot(d, "models")
        # The first recording where the model reported something (hits or false alarms): a small test model may
        # stay silent on some files, and a silent file has no predictions to draw.
        reported = [r for r in rows[1:] if sum(int(c.text) for c in r.find_elements(By.TAG_NAME, "td")[2:5:2])]
        assert reported, "the model reported nothing on any Test recording"
        reported[0].find_element(By.TAG_NAME, "a").click()
        wait_for(lambda: d.execute_script("return document.body.dataset.ready"), "the recording")
        assert Select(d.find_element(By.ID, "compare-session")).first_selected_option.text == "Model Testing"
        host = d.find_element(By.CSS_SELECTOR, "#waveform > div")
        wait_for(lambda: host.shadow_root.find_elements(By.CSS_SELECTOR, '[part~="cmp-0"]'), "the predictions' lane")
        shot(d, "compare")
    finally:
        studio.stop()


def test_the_live_view_shows_a_virtual_devices_classifications_and_records_into_the_project(browser, trained):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from kwsgen.firmware.app import load_spec

    spec = load_spec(Project.open(trained))
    # Classification 0 is UNK (nothing above its threshold), then 1 + the index of every label, Unknown included.
    names = {spec.class_label(i) for i in range(len(spec.labels) + 1)}
    words = [str(trained / "recordings" / f"espeak-us-f5/{w}.flac") for w in ("yes", "off", "no")]
    device, port = start_virtual_device(*words, "-p", str(trained), "--speed", "2", "--loop")
    studio = RunningStudio(trained, TOKEN)
    d = browser
    try:
        open_live_view(d, studio.url)
        d.find_element(By.ID, "live-port").send_keys(port)
        d.find_element(By.ID, "live-connect").click()
        wait_for(lambda: len(d.find_elements(By.CSS_SELECTOR, "#live-events tr")) > 4, "classifications", timeout=30)
        shown = set(live_classes(d))
        assert shown and shown <= names  # named by the model's classes
        assert "classifications" in d.find_element(By.ID, "live-status").text
        d.find_element(By.ID, "live-disconnect").click()
    finally:
        studio.stop()
        device.terminate()
        device.wait(timeout=30)

    # Listen to a capture firmware: the audio drawn, classified here by the host build of the firmware.
    device, port = start_virtual_device(*words, "-p", str(trained), "--capture", "--loop")
    studio = RunningStudio(trained, TOKEN)
    try:
        open_live_view(d, studio.url)
        d.find_element(By.ID, "live-port").send_keys(port)
        d.find_element(By.ID, "live-listen").click()
        canvas = d.find_element(By.ID, "live-timeline")
        wait_for(lambda: int(canvas.get_attribute("data-hops") or 0) > 150, "the drawn audio", timeout=30)
        wait_for(lambda: "listening" in d.find_element(By.ID, "live-status").text, "the listening status")
        assert set(wait_for(lambda: live_classes(d), "classifications", timeout=30)) <= names
        time.sleep(3)  # a few seconds of audio on the canvas for the picture
        shot(d, "live")
        d.find_element(By.ID, "live-disconnect").click()
    finally:
        studio.stop()
        device.terminate()
        device.wait(timeout=30)

    source = trained / "recordings" / "espeak-us-f5" / "on.flac"
    device, port = start_virtual_device(str(source), "-p", str(trained), "--capture", "--loop", "--speed", "2")
    studio = RunningStudio(trained, TOKEN)
    try:
        open_live_view(d, studio.url)
        d.find_element(By.ID, "live-port").send_keys(port)
        Select(d.find_element(By.ID, "rec-label")).select_by_value("on")
        Select(d.find_element(By.ID, "rec-set")).select_by_value("Train")
        seconds = d.find_element(By.ID, "rec-seconds")
        seconds.clear()
        seconds.send_keys("1")
        d.find_element(By.ID, "rec-meta").send_keys("speaker=live-test")
        d.find_element(By.ID, "rec-start").click()
        result = wait_for(
            lambda: "added" in d.find_element(By.ID, "rec-result").text and d.find_element(By.ID, "rec-result").text,
            "the recording",
            timeout=30,
        )
        assert "none lost" in result
        [path] = list((trained / "recordings" / "recorded" / "on").glob("*.wav"))
        md = Project.open(trained).load_metadata()
        name = f"recorded/on/{path.name}"
        assert md.get(name, "Set") == "Train" and md.get(name, "speaker") == "live-test"
        assert Project.open(trained).recording_info(name).frames == 16000
    finally:
        studio.stop()
        device.terminate()
        device.wait(timeout=30)


def test_import_from_the_page_and_see_the_summary(browser, proj, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    source = write(tmp_path / "eve_no.wav", clip(np.random.default_rng(9), 1.25))
    studio = RunningStudio(proj.root, TOKEN)
    d = browser
    try:
        d.get(studio.url)
        wait_for(lambda: d.find_elements(By.CSS_SELECTOR, "#recordings tbody tr"), "the recordings table")
        Select(d.find_element(By.ID, "import-label")).select_by_value("no")
        Select(d.find_element(By.ID, "import-set")).select_by_value("Test")
        d.find_element(By.ID, "import-files").send_keys(str(source))
        wait_for(lambda: "imported: 1 copied" in d.find_element(By.ID, "message").text, "the import")
        assert Project.open(proj.root).load_metadata().get("eve_no.wav", "Set") == "Test"
        wait_for(lambda: d.find_elements(By.CSS_SELECTOR, '#recordings tr[data-file="eve_no.wav"]'), "the new row")
        d.get(studio.url + "#/summary")
        wait_for(lambda: "have no segments" in d.find_element(By.ID, "issues").text, "the findings")
        shot(d, "summary")
        issue = next(li for li in d.find_elements(By.CSS_SELECTOR, "#issues li") if "have no segments" in li.text)
        link = issue.find_element(By.TAG_NAME, "a")
        named = link.text.strip("[] ")
        assert named in issue.text.split(" [")[0]  # the link goes to a recording the message names
        link.click()
        wait_for(lambda: d.execute_script("return document.body.dataset.ready") == named, "the linked recording")
    finally:
        studio.stop()


# ---- listening to a capture firmware ------------------------------------------------------------------


class ScriptedPort:
    """A capture firmware's byte stream, replayed: a header, then the frames after "connect"."""

    def __init__(self, audio: np.ndarray, per_frame: int = 256, drop: int | None = None) -> None:
        from kwsgen.devices.protocol import encode_frame

        self.header = b'{"sample_rate": 16000, "samples_per_packet": %d}\n' % per_frame
        frames = [
            encode_frame(i, audio[start : start + per_frame])
            for i, start in enumerate(range(0, len(audio), per_frame))
            if i != drop
        ]
        self.stream = bytearray(b"".join(frames))
        self.pending = bytearray(self.header)
        self.connected = False
        self.written = bytearray()

    @property
    def in_waiting(self) -> int:
        return min(len(self.pending), 4096)

    def read(self, n: int) -> bytes:
        if not self.pending:
            time.sleep(0.01)
            return b""
        out = bytes(self.pending[:n])
        del self.pending[:n]
        if not self.pending and not self.connected:
            self.pending += self.header  # repeated until connect, as the firmware does
        return out

    def write(self, data: bytes) -> None:
        self.written += data
        if data == b"connect\n" and not self.connected:
            self.connected = True
            self.pending = bytearray(self.stream)

    def close(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return self.connected and not self.pending


def test_listening_classifies_the_stream_exactly_as_the_firmware_would(trained):
    from kwsgen.audio import read_audio
    from kwsgen.devices.live import LiveListener
    from kwsgen.devices.monitor import Labeler, parse_line
    from kwsgen.firmware.app import load_spec
    from kwsgen.firmware.engines import build_host_firmware, run_engine

    spec = load_spec(Project.open(trained))
    audio = np.concatenate([read_audio(trained / "recordings" / f"espeak-us-f5/{w}.flac") for w in ("yes", "off")])
    port = ScriptedPort(audio)
    labeler = Labeler(spec.labels)
    listener = LiveListener("scripted", lambda: port, 16000, build_host_firmware(spec), labeler).start()
    wait_for(lambda: port.done and listener.samples == len(audio), "the stream", timeout=30)
    listener.stop()
    got = [
        (e["classification"], e["device_time"], e["score"])
        for e in listener.since(0)["events"]
        if e["kind"] == "classification"
    ]
    expected = [parse_line(line, labeler) for line in run_engine("python", spec, audio).lines]
    assert got and got == [(c.classification, c.device_time, c.score) for c in expected]
    hops = listener.hops_since(0)
    first = hops["first_sample"]
    assert hops["next"] == (len(audio) - first) // 320 and len(hops["columns"][0]) == 64
    for i in (0, 7, hops["next"] - 1):
        assert hops["peaks"][i] == np.abs(audio[first + 320 * i : first + 320 * (i + 1)].astype(np.int32)).max()
    assert port.written.endswith(b"disconnect\n")


def test_listening_counts_lost_frames_and_keeps_time_with_silence():
    from kwsgen.devices.live import LiveListener
    from kwsgen.devices.monitor import Labeler

    audio = (np.random.default_rng(2).standard_normal(16000) * 1000).astype(np.int16)
    port = ScriptedPort(audio, per_frame=512, drop=10)
    listener = LiveListener("scripted", lambda: port, 16000, None, Labeler()).start()
    wait_for(lambda: port.done and listener.samples == len(audio), "the stream")
    listener.stop()
    assert listener.lost_frames == 1
    hops = listener.hops_since(0)
    silent = -(-(10 * 512 - hops["first_sample"]) // 320)  # the hop wholly inside the lost frame
    assert hops["first_sample"] + 320 * (silent + 1) <= 11 * 512
    assert hops["peaks"][silent] == 0 and hops["peaks"][silent - 2] > 0 and hops["peaks"][silent + 2] > 0


def test_listening_to_a_device_that_sends_no_header_says_what_to_run():
    from kwsgen.devices.live import LiveListener
    from kwsgen.devices.monitor import Labeler

    class Silent:
        in_waiting = 0

        def read(self, n):
            time.sleep(0.01)
            return b""

        def write(self, data):
            pass

        def close(self):
            pass

    listener = LiveListener("quiet", Silent, 16000, None, Labeler()).start()
    wait_for(lambda: "no capture header" in listener.status, "the status", timeout=10)
    assert "kwsgen build --capture" in listener.status
    listener.stop()


# ---- the command --------------------------------------------------------------------------------------


@needs_vendor
def test_kwsgen_studio_prints_its_address_serves_with_the_token_and_stops_on_ctrl_c(proj):
    import signal
    import subprocess
    import sys

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "kwsgen", "studio", "-p", str(proj.root), "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"kwsgen studio for {proj.root.resolve()}: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(": ", 1)[1].strip()
        base, token = url.split("/?token=")
        assert len(token) >= 32
        assert httpx.get(f"{base}/api/project", headers={"X-Kwsgen-Token": token}).json()["labels"] == [
            "yes",
            "no",
            "Unknown",
        ]
        assert httpx.get(f"{base}/api/project").status_code == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_kwsgen_studio_without_its_npm_library_says_how_to_install_it(proj, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(studio_server, "VENDOR_DIR", tmp_path / "none")
    assert cli_main(["studio", "-p", str(proj.root), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "front-end libraries are not installed" in err and "npm ci --prefix" in err and "Traceback" not in err
    monkeypatch.undo()
    assert cli_main(["studio", "-p", str(tmp_path / "nothing"), "--no-browser"]) == 1
    assert "not a kwsgen project" in capsys.readouterr().err
