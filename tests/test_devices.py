"""Devices: the capture protocol (C framing equals the Python parser's, resynchronisation, lost and corrupted
frames), the serial monitor (partial lines, resets, garbage, reconnects, Open Gateway lines), the virtual
device end to end with monitor and record, port auto-detection, the PlatformIO monitor filter."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
import serial
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from kwsgen.audio import read_audio
from kwsgen.boards import get_board, load_boards
from kwsgen.devices.monitor import (
    Classification,
    DeviceLog,
    Labeler,
    LineSplitter,
    find_board_port,
    parse_line,
    run_monitor,
)
from kwsgen.devices.protocol import CONNECT, Frame, FrameParser, Header, crc16, encode_frame
from kwsgen.devices.record import record_from_port
from kwsgen.errors import KwsgenError
from kwsgen.firmware.build import render_board
from kwsgen.firmware.engines import build_host_capture, run_python
from kwsgen.project.store import Segment

from .conftest import start_virtual_device

SPP = 240


def header_bytes(rate=16000, spp=SPP):
    return (
        json.dumps({"sample_rate": rate, "samples_per_packet": spp, "column_location": {"Microphone": 0}}) + "\r\n"
    ).encode()


# ---- protocol --------------------------------------------------------------------------------------------


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1  # the standard check value of CRC-16/CCITT-FALSE


@pytest.mark.parametrize("sanitize", [False, True])
def test_c_capture_firmware_sends_exactly_the_frames_python_encodes(spec, sanitize):
    firmware = build_host_capture(spec, sanitize=sanitize)
    rng = np.random.default_rng(3)
    audio = np.concatenate([rng.integers(-32768, 32768, 5000), [-32768, 32767, 0, -1] * 100]).astype(np.int16)
    read, write = os.pipe()
    os.write(write, CONNECT)
    os.close(write)
    got = subprocess.run(
        [str(firmware), str(read)],
        input=audio.astype("<i2").tobytes(),
        capture_output=True,
        pass_fds=(read,),
        check=True,
    )
    os.close(read)
    assert got.stderr == b""
    # "connect" was there before the first audio, so no header: frames from sequence 0.
    frames = got.stdout
    expected = b"".join(encode_frame(i, audio[i * SPP : (i + 1) * SPP]) for i in range(len(audio) // SPP))
    assert frames == expected


def test_capture_firmware_repeats_its_header_until_connect(spec):
    firmware = build_host_capture(spec)
    got = subprocess.run([str(firmware)], input=bytes(2 * 16000 * 3), capture_output=True, check=True)
    lines = got.stdout.split(b"\r\n")
    assert len([line for line in lines if line.startswith(b'{"sample_rate"')]) == 3 and lines[-1] == b""
    fields = json.loads(lines[0])
    assert fields["sample_rate"] == 16000 and fields["samples_per_packet"] == SPP


frames_and_damage = st.lists(
    st.tuples(
        st.integers(1, SPP),  # samples in the frame (the header says at most SPP)
        st.sampled_from(["ok", "ok", "ok", "drop", "corrupt", "garbage"]),
        st.binary(min_size=1, max_size=40),  # garbage before it
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(frames_and_damage, st.integers(1, 64), st.integers(0, 2**32 - 1))
def test_parser_keeps_good_frames_in_order_and_counts_what_was_lost(plan, read_size, seed):
    rng = np.random.default_rng(seed)
    stream, expected, lost_before, lost = bytearray(header_bytes()), [], [], 0
    for seq, (n, damage, junk) in enumerate(plan):
        samples = rng.integers(-32768, 32768, n).astype(np.int16)
        frame = bytearray(encode_frame(seq, samples))
        if damage == "drop":
            lost += 1
            continue
        if damage == "corrupt":
            frame[6 + int(rng.integers(0, 2 * n))] ^= 0x5A  # a sample byte changed on the way
            lost += 1
            stream += frame
            continue
        if damage == "garbage":
            stream += junk.replace(b"\xa5", b"\x00").replace(b"{", b"(")  # junk with no start marker in it
        stream += frame
        expected.append(samples)
        lost_before.append(lost if expected[:-1] else 0)
        lost = 0
    parser = FrameParser()
    items = []
    for i in range(0, len(stream), read_size):
        items += parser.feed(bytes(stream[i : i + read_size]))
    assert isinstance(items[0], Header)
    frames = [i for i in items if isinstance(i, Frame)]
    assert [f.samples.tolist() for f in frames] == [e.tolist() for e in expected]
    assert [f.lost_before for f in frames] == lost_before


def feed_in_background(port, data: bytes):
    """Write to a loop:// port from another thread, as a device would: its queue is small."""
    import threading

    def run():
        for i in range(0, len(data), 256):
            port.write(data[i : i + 256])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class DeviceEnd:
    """The host's end of a loop:// port: what the host writes ("connect") goes to the device, not back."""

    def __init__(self, port, after_connect=b""):
        self.port, self.after_connect = port, after_connect
        self.sent = b""

    @property
    def in_waiting(self):
        return self.port.in_waiting

    def read(self, n):
        return self.port.read(n)

    def write(self, data):
        self.sent += data
        if data == CONNECT:
            feed_in_background(self.port, self.after_connect)


def test_record_over_loop_reports_lost_and_corrupted_frames_and_keeps_time(tmp_path):
    port = serial.serial_for_url("loop://", timeout=0.05)
    audio = (np.arange(SPP * 10) % 2000 - 1000).astype(np.int16)
    stream = bytearray()
    port.write(b"\x00garbage\xff" + header_bytes() + encode_frame(700, audio[:SPP]))  # and a stale frame
    for seq in range(10):
        frame = bytearray(encode_frame(seq, audio[seq * SPP : (seq + 1) * SPP]))
        if seq == 3:
            continue  # lost
        if seq == 6:
            frame[10] ^= 1  # corrupted
        stream += bytes(frame) + (b"\xa5\x5a\x01" if seq == 7 else b"")  # and a false start
    host = DeviceEnd(port, after_connect=bytes(stream))
    capture = record_from_port(host, SPP * 10 / 16000, tmp_path / "r.wav", 16000, source="loop://")
    assert host.sent == b"connect\ndisconnect\n"
    assert capture.stats.lost_frames == 2 and capture.stats.crc_errors >= 1 and not capture.interrupted
    got = sf.read(tmp_path / "r.wav", dtype="int16")[0]
    assert len(got) == SPP * 10
    want = audio.copy()
    want[3 * SPP : 4 * SPP] = 0
    want[6 * SPP : 7 * SPP] = 0
    assert np.array_equal(got, want)
    assert "2 frames lost (30 ms" in capture.summary()


def test_record_stops_with_a_clear_error_without_capture_firmware(tmp_path):
    port = serial.serial_for_url("loop://", timeout=0.05)
    port.write(b'{"ModelNumber":0,"Classification":1}\n')
    import kwsgen.devices.record as rec

    old = rec.HEADER_TIMEOUT_S
    rec.HEADER_TIMEOUT_S = 0.3
    try:
        with pytest.raises(KwsgenError, match="kwsgen build --capture"):
            record_from_port(port, 1.0, tmp_path / "r.wav", 16000, source="loop://")
    finally:
        rec.HEADER_TIMEOUT_S = old
    port.write(header_bytes(rate=8000))
    with pytest.raises(KwsgenError, match="8000 Hz"):
        record_from_port(port, 1.0, tmp_path / "r.wav", 16000, source="loop://")


# ---- monitor ---------------------------------------------------------------------------------------------


def test_line_splitter_handles_partial_lines_crlf_garbage_and_endless_lines():
    s = LineSplitter()
    assert s.feed(b'{"Model') == []
    assert s.feed(b'Number":0}\r\nboot ok\n\xff\xfe\n') == ['{"ModelNumber":0}', "boot ok", "\ufffd\ufffd"]
    assert len(s.feed(b"x" * 5000)) == 1 and s.feed(b"y\n") == ["y"]


def test_parse_line_names_classes_and_survives_resets_mid_line():
    labels = Labeler(["yes", "no", "Unknown"])
    line = '{"ModelNumber":0,"Classification":2,"label":"no","score":0.93,"sample":32159}'
    event = parse_line(line, labels, now=1.0)
    assert isinstance(event, Classification) and (event.label, event.score, event.sample) == ("no", 0.93, 32159)
    assert event.device_time == pytest.approx(32159 / 16000)
    cut = parse_line('{"ModelNumber":0,"Classifi' + line, labels)
    assert isinstance(cut, Classification) and cut.label == "no"
    gateway = parse_line('{"ModelNumber":0,"Classification":1,"FeatureLength":2,"FeatureVector":[1,2]}', labels)
    assert isinstance(gateway, Classification) and gateway.label == "yes" and gateway.score is None
    assert parse_line('{"ModelNumber":0,"Classification":0}', labels).label == "UNK"
    assert parse_line('{"ModelNumber":0,"Classification":9}', labels).label.startswith("class 9")
    assert parse_line('{"ModelNumber":0,"Classification":1,"label":"yes"}', Labeler()).label == "yes"
    for text in ("booting...", '{"error":"audio lost"}', '{"ModelNumber":0,"Classification":"x"}', "{"):
        assert isinstance(parse_line(text, labels), DeviceLog)


def test_monitor_reconnects_after_unplug_and_resets(monkeypatch):
    line = b'{"ModelNumber":0,"Classification":1,"score":0.9,"sample":15679}\n'

    class Unplugged:
        in_waiting = 0

        def __init__(self, chunks):
            self.chunks = list(chunks)

        def read(self, n):
            if not self.chunks:
                raise serial.SerialException("device disconnected")
            return self.chunks.pop(0)

        def close(self):
            pass

    opens = iter(
        [
            serial.SerialException("no such port"),  # not plugged in yet
            Unplugged([b"boot\n", line[:20]]),  # unplugged mid-line
            Unplugged([b"\x00\xffgarbage", b"\n", line, line[:10] + line]),  # a reset mid-line
        ]
    )

    def opener():
        item = next(opens)
        if isinstance(item, Exception):
            raise item
        return item

    events, statuses = [], []
    run_monitor(
        opener,
        events.append,
        Labeler(["yes"]),
        should_stop=lambda: len(events) >= 4 or len(statuses) > 10,
        on_status=statuses.append,
        reconnect_delay=0.0,
    )
    kinds = [(type(e).__name__, getattr(e, "label", getattr(e, "text", ""))) for e in events]
    assert kinds[0] == ("DeviceLog", "boot")
    assert kinds.count(("Classification", "yes")) == 2  # the half line before the unplug is dropped, not glued
    assert sum(s.startswith("connected") for s in statuses) == 2


def test_port_auto_finds_known_boards_by_usb_id():
    def port(device, vid, pid):
        return SimpleNamespace(device=device, vid=vid, pid=pid)

    boards = load_boards().values()
    assert (
        find_board_port(boards, [port("/dev/ttyS0", None, None), port("/dev/ttyACM0", 0x2341, 0x805A)])[0]
        == "/dev/ttyACM0"
    )
    assert "XIAO" in find_board_port(boards, [port("/dev/ttyACM1", 0x2886, 0x0056)])[1].title
    assert find_board_port(boards, [port("/dev/ttyACM1", 0x303A, 0x1001)])[0] == "/dev/ttyACM1"
    with pytest.raises(KwsgenError, match="no known board.*2341:805a.*give --port"):
        find_board_port(boards, [port("/dev/ttyUSB0", 0x0403, 0x6001)])


def test_platformio_monitor_filter_names_the_classes(project, spec, tmp_path, monkeypatch):
    out = tmp_path / "nano"
    render_board(spec, get_board("nano33"), out, project.root, {})
    assert "monitor_filters = default, kwsgen" in (out / "platformio.ini").read_text()
    monkeypatch.chdir(out)
    module_spec = importlib.util.spec_from_file_location("filter_kwsgen", out / "monitor" / "filter_kwsgen.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    f = module.Kwsgen({"project_dir": str(out)})
    assert f.NAME == "kwsgen"
    assert f.rx('boot\r\n{"ModelNumber":0,"Classifica') == "boot\n"
    assert (
        f.rx('tion":2,"label":"no","score":0.93,"sample":16000}\n')
        == f"{spec.labels[1]:>12}  score 0.93  at     1.00 s\n"
    )


def test_capture_builds_only_where_kwsgen_generates_it(project, spec, tmp_path):
    from platformio.project.config import ProjectConfig

    files = render_board(spec, get_board("nano33"), tmp_path / "cap", project.root, {}, capture=True)
    text = (tmp_path / "cap" / "src" / "main.cpp").read_text()
    assert "kws_capture_push" in text and "kws_pipeline" not in text and "monitor/filter_kwsgen.py" not in files
    assert ProjectConfig.lint(str(tmp_path / "cap" / "platformio.ini")) == {"errors": [], "warnings": []}
    esp = render_board(spec, get_board("esp32s3"), tmp_path / "esp", project.root, {}, capture=True)
    text = (tmp_path / "esp" / "src" / "main.c").read_text()
    assert "usb_serial_jtag_write_bytes" in text and "kws_capture_push" in text and "kws_pipeline" not in text and esp
    assert ProjectConfig.lint(str(tmp_path / "esp" / "platformio.ini")) == {"errors": [], "warnings": []}
    for board in ("quickfeather", "qemu"):
        with pytest.raises(KwsgenError, match="capture firmware"):
            render_board(spec, get_board(board), tmp_path / board, project.root, {}, capture=True)


# ---- the virtual device, end to end -----------------------------------------------------------------------


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "kwsgen", *args], capture_output=True, text=True, **kw)


def test_monitor_shows_a_virtual_devices_classifications_by_name(project, spec, tmp_path):
    words = [project.recording_path(f"espeak-us-f5/{w}.flac") for w in ("yes", "off", "no")]
    proc, port = start_virtual_device(*map(str, words), "-p", str(project.root), "--speed", "3")
    try:
        got = cli(
            "monitor", "--port", port, "-p", str(project.root), "--seconds", "8", "--log", str(tmp_path / "m.jsonl")
        )
    finally:
        proc.wait(timeout=30)
    assert got.returncode == 0, got.stderr
    logged = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    expected = run_python(spec, np.concatenate([read_audio(w) for w in words])).lines
    assert logged, got.stdout
    # The monitor opened the port a moment after the device started: what it saw is one unbroken run of
    # the firmware's lines, exactly as the Python simulation predicts them.
    raw = [e["raw"] for e in logged]
    assert raw[0] in expected and len(raw) >= 3
    first = expected.index(raw[0])
    assert raw == expected[first : first + len(raw)]
    for e in logged:
        assert e["label"] == spec.class_label(e["classification"]) and e["label"] in got.stdout


def test_record_captures_from_a_capture_mode_virtual_device_into_the_project(project, tmp_path):
    source = project.recording_path("espeak-us-f5/on.flac")
    loop_audio = read_audio(source)
    proc, port = start_virtual_device(str(source), "-p", str(project.root), "--capture", "--loop", "--speed", "2")
    try:
        got = cli(
            "record",
            "--port",
            port,
            "--label",
            "on",
            "--set",
            "Train",
            "--meta",
            "speaker=vd",
            "--seconds",
            "2",
            "-p",
            str(project.root),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert got.returncode == 0, got.stderr
    assert "none lost" in got.stdout
    [path] = list((project.root / "recordings" / "recorded" / "on").glob("*.wav"))
    recorded = read_audio(path)
    assert len(recorded) == 32000
    # Frames are whole, in order: the recording is a contiguous stretch of the looped audio.
    looped = np.concatenate([loop_audio] * 8)
    starts = np.flatnonzero(looped[: len(loop_audio)] == recorded[0])
    assert any(np.array_equal(looped[s : s + 32000], recorded) for s in starts)
    md = (project.root / "metadata.csv").read_text()
    assert f"recorded/on/{path.name},Train" in md and "vd" in md
    assert not list((project.root / ".kwsgen" / "recording").glob("*.wav"))  # the temporary file is gone
    bad = cli("record", "--port", port, "--label", "maybe", "--seconds", "1", "-p", str(project.root))
    assert bad.returncode == 1 and "not one of the project's labels" in bad.stderr


def test_a_device_that_disappears_mid_recording_leaves_an_imported_recording(project, tmp_path):
    """The virtual device plays 2 s of audio and closes its port, as an unplugged board does."""
    source = project.recording_path("espeak-us-f5/yes.flac")
    proc, port = start_virtual_device(str(source), "-p", str(project.root), "--capture")
    try:
        got = cli(
            "record", "--port", port, "--label", "yes", "--set", "Train", "--seconds", "30", "-p", str(project.root)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    assert "stopped early because" in got.stdout and "the audio so far is kept" in got.stdout
    assert "added recordings/recorded/yes/" in got.stdout
    name = got.stdout.split("added recordings/", 1)[1].split()[0]
    recorded = read_audio(project.recording_path(name))
    assert 0 < len(recorded) <= len(read_audio(source))
    assert name in (project.root / "metadata.csv").read_text()
    assert not list((project.root / ".kwsgen" / "recording").glob("*.wav"))


def test_monitor_prints_device_text_literally_without_terminal_escapes(tmp_path):
    from kwsgen.devices.monitor import printable

    lines = [
        "[   512][D][esp32-hal-i2s.c:812] i2s_begin(): OK",
        "E (1234) vfs: mount [/spiffs] failed",
        "\x1b[0;32mI (99) boot: [green]\x1b[0m\x1b]0;retitled\x07 done",
    ]
    assert printable(lines[2]) == "I (99) boot: [green] done"
    master, slave = os.openpty()  # a port like a board's: the test writes the device's side
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kwsgen", "monitor", "--port", os.ttyname(slave), "--seconds", "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        time.sleep(1.5)
        os.write(master, ("\r\n".join(lines) + "\r\n").encode())
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
        os.close(slave)
    got = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    assert "[   512][D][esp32-hal-i2s.c:812] i2s_begin(): OK" in got.stdout
    assert "E (1234) vfs: mount [/spiffs] failed" in got.stdout
    assert "I (99) boot: [green] done" in got.stdout and "\x1b" not in got.stdout


# ---- model testing on files --------------------------------------------------------------------------------


def test_event_scoring_counts_hits_misses_false_alarms_repeats_and_latency():
    from kwsgen.firmware.events import Detection, score_events

    window = 15840
    truth = [
        Segment("a.wav", 10000, 30000, "yes"),
        Segment("a.wav", 50000, 70000, "no"),
        Segment("a.wav", 0, 9000, "Unknown"),
    ]

    def det(centre, label):
        return Detection("a.wav", centre + window // 2 - 1, label, 0.9)

    found = [det(20000, "yes"), det(22000, "yes"), det(60000, "yes"), det(90000, "no"), det(20000, "yes")]
    report = score_events(truth, found, ["yes", "no"], window, seconds=3600.0)
    assert vars(report.classes["yes"]) == {"events": 1, "hits": 1, "misses": 0, "false_alarms": 1, "repeats": 2}
    assert vars(report.classes["no"]) == {"events": 1, "hits": 0, "misses": 1, "false_alarms": 1, "repeats": 0}
    assert report.false_alarms_per_hour == 2.0 and report.miss_rate == 0.5
    assert report.latencies == [pytest.approx((20000 + window // 2 - 1 - 20000) / 16000)]


def test_run_truth_scores_the_test_set_and_writes_predictions_beside_the_labels(project, spec):
    # The fixture's two-epoch model is calibrated to stay silent; kwsgen.toml's own thresholds make it speak.
    toml = project.root / "kwsgen.toml"
    settings = toml.read_text()
    toml.write_text(settings.replace('operating_point = "calibrated"', 'operating_point = "settings"'))
    try:
        run_truth_checks(project)
    finally:
        toml.write_text(settings)


def run_truth_checks(project):
    truth_before = (project.root / "sessions" / "Training Session.csv").read_text()
    got = cli("run", "--truth", "Training Session", "--set", "Test", "-p", str(project.root))
    assert got.returncode == 0, got.stderr
    assert "keywords detected" in got.stdout and "per hour" in got.stdout and "latency median" in got.stdout
    assert (project.root / "sessions" / "Training Session.csv").read_text() == truth_before  # never touched
    predictions = (project.root / "sessions" / "Model Testing.csv").read_text()
    folder = project.root / "model_testing" / "Model_Testing"
    report = json.loads((folder / "events.json").read_text())
    assert report["events"] > 0 and report["hits"] + report["misses"] == report["events"]
    detections = sum(c["hits"] + c["false_alarms"] + c["repeats"] for c in report["classes"].values())
    assert detections > 0 and predictions.count("\n") == 1 + detections  # a header, then one segment each
    assert list((folder / "audacity").rglob("*.txt"))
    # Same numbers from the firmware itself.
    host = cli("run", "--truth", "Training Session", "--set", "Test", "-p", str(project.root), "--engine", "host")
    assert host.returncode == 0 and json.loads((folder / "events.json").read_text())["classes"] == report["classes"]
    review = cli(
        "label", "review", "-p", str(project.root), "--session", "Training Session", "--session", "Model Testing"
    )
    assert review.returncode == 0, review.stderr
    for args, message in (
        (("--truth", "nosuch"), "no label session 'nosuch'"),
        (("--truth", "Training Session", "--predictions", "Training Session"), "would replace the labels"),
        (("--truth", "Training Session", "/etc/hostname"), "is not one of the project's recordings"),
    ):
        bad = cli("run", *args, "-p", str(project.root))
        assert bad.returncode == 1 and message in bad.stderr and "Traceback" not in bad.stderr


def test_run_truth_writes_its_files_under_the_project_lock(project, spec, monkeypatch):
    """The predictions session and the files made from it are one change: no other run may interleave them."""
    import kwsgen.fsutil
    import kwsgen.project.exporters
    from kwsgen.firmware.events import evaluate_files
    from kwsgen.project import transaction

    held = []
    export, write = kwsgen.project.exporters.export_audacity, kwsgen.fsutil.atomic_write_text

    def watched(real):
        def call(*args, **kwargs):
            held.append(transaction._held.get(project.root.resolve(), 0))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(kwsgen.project.exporters, "export_audacity", watched(export))
    monkeypatch.setattr(kwsgen.fsutil, "atomic_write_text", watched(write))
    evaluate_files(project, spec, "Training Session", progress=False, set_name="Test", predictions_session="Locked")
    assert len(held) >= 2 and all(depth >= 1 for depth in held)


def test_an_interrupted_recording_keeps_what_was_captured_in_a_valid_file(tmp_path):
    audio = (np.arange(SPP * 5) % 3000 - 1500).astype(np.int16)
    frames = [encode_frame(i, audio[i * SPP : (i + 1) * SPP]) for i in range(5)]

    class Interrupted:
        in_waiting = 0

        def __init__(self):
            self.chunks = [header_bytes(), *frames]

        def read(self, n):
            if not self.chunks:
                raise KeyboardInterrupt  # Ctrl-C while waiting for more audio
            return self.chunks.pop(0)

        def write(self, data):
            pass

    capture = record_from_port(Interrupted(), 10.0, tmp_path / "r.wav", 16000)
    assert capture.interrupted and "interrupted" in capture.summary()
    got, rate = sf.read(tmp_path / "r.wav", dtype="int16")
    assert rate == 16000 and np.array_equal(got, audio)


def test_record_from_the_microphone_needs_sounddevice_or_says_so(project):
    if importlib.util.find_spec("sounddevice") is not None:
        pytest.skip("sounddevice is installed here; without a microphone there is nothing to check")
    got = cli("record", "--mic", "--label", "yes", "--seconds", "1", "-p", str(project.root))
    assert got.returncode == 1 and "pip install sounddevice" in got.stderr and "Traceback" not in got.stderr
    both = cli("record", "--mic", "--port", "loop://", "--label", "yes", "--seconds", "1", "-p", str(project.root))
    assert both.returncode == 1 and "either --port" in both.stderr
