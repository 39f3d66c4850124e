"""The studio's routes: each one a few lines over the project API (no project logic lives here)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse

from ..errors import KwsgenError
from ..project import TRAINING_SESSION, Project, check_session
from ..project.editing import (
    apply_split,
    create_session,
    file_segments,
    plan_split,
    rename_session,
    segments_version,
    set_file_segments,
    set_metadata,
)
from ..project.overview import issues_with_files, project_summary, recordings_table
from ..project.store import check_model_name

PLUGINS = ("regions", "timeline", "zoom", "spectrogram")
AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac"}


class NotFound(KwsgenError):
    """A recording, session or model the request names does not exist."""


def _text(body: dict, key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise KwsgenError(f"the request needs {key!r} as text")
    return value


def _recording(project: Project, file: str | None) -> str:
    """A recording the request names: only files listed under recordings/ are ever served."""
    if not file or not project.is_recording(file):
        raise NotFound(f"no recording {file!r} in this project")
    return file


def _session_name(request: Request, body: dict) -> str:
    return body.get("session") or request.query_params.get("session") or TRAINING_SESSION


# ---- reading ---------------------------------------------------------------------


def get_project(project: Project, request: Request, body: dict) -> dict:
    seg, fe = project.settings.segments, project.settings.frontend
    return {
        "name": project.root.name,
        "root": str(project.root),
        "labels": project.labels,
        "sessions": project.session_names(),
        "training_session": TRAINING_SESSION,
        "sample_rate": fe.sample_rate,
        "segment_length": seg.length,
        "min_length": seg.min_length,
        "model_input_samples": fe.cascade_samples,
    }


def get_recordings(project: Project, request: Request, body: dict) -> dict:
    return recordings_table(project, _session_name(request, body))


def get_summary(project: Project, request: Request, body: dict) -> dict:
    session = _session_name(request, body)
    report = check_session(project, session)
    summary = project_summary(project, session, report)
    summary["issues"] = issues_with_files(report)
    return summary


def get_audio(project: Project, request: Request, body: dict) -> FileResponse:
    file = _recording(project, request.query_params.get("file"))
    path = project.recording_path(file)
    return FileResponse(path, media_type=AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream"))


def get_peaks(project: Project, request: Request, body: dict) -> dict:
    """The waveform's outline (peak level per 1/per_second s), so a long recording shows without decoding it."""
    import numpy as np

    from ..audio import read_audio

    file = _recording(project, request.query_params.get("file"))
    try:
        per_second = int(request.query_params.get("per_second", "100"))
    except ValueError:
        raise KwsgenError("'per_second' must be a whole number") from None
    if not 1 <= per_second <= 1000:
        raise KwsgenError("'per_second' must be between 1 and 1000")
    audio = read_audio(project.recording_path(file))
    rate = project.settings.frontend.sample_rate
    step = max(1, rate // per_second)
    padded = np.pad(np.abs(audio.astype(np.int32)), (0, -len(audio) % step))
    peaks = padded.reshape(-1, step).max(axis=1) / 32768.0
    return {"duration": len(audio) / rate, "peaks": np.round(peaks, 3).tolist()}


def get_segments(project: Project, request: Request, body: dict) -> dict:
    file = _recording(project, request.query_params.get("file"))
    session = _session_name(request, body)
    segments = file_segments(project.load_session(session, create=True), file)
    return {
        "session": session,
        "file": file,
        "frames": project.recording_info(file).frames,
        "version": segments_version(segments),
        "segments": [{"start": s.start, "end": s.end, "label": s.label} for s in segments],
    }


# ---- writing ---------------------------------------------------------------------


def _segment_tuples(body: dict) -> list[tuple[Any, Any, Any]]:
    segments = body.get("segments")
    if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
        raise KwsgenError("'segments' must be a list of {start, end, label}")
    return [(s.get("start"), s.get("end"), s.get("label")) for s in segments]


def put_segments(project: Project, request: Request, body: dict) -> dict:
    file = _recording(project, body.get("file"))
    session = _text(body, "session")
    version = set_file_segments(project, session, file, _segment_tuples(body), _text(body, "version"))
    return {"version": version}


def patch_metadata(project: Project, request: Request, body: dict) -> dict:
    edits, base = body.get("edits"), body.get("base", {})
    rows = (edits or {}).values() if isinstance(edits, dict) else []
    valid = all(isinstance(row, dict) and all(isinstance(v, str) for v in row.values()) for row in rows)
    if not isinstance(edits, dict) or not isinstance(base, dict) or not valid:
        raise KwsgenError("'edits' must map each recording to {column: text}")
    set_metadata(project, edits, base)
    return {"changed": sum(len(row) for row in edits.values())}


def post_session(project: Project, request: Request, body: dict) -> dict:
    copy_from = body.get("copy_from") or None
    session = create_session(project, _text(body, "name"), copy_from)
    return {"name": session.name, "segments": len(session.segments)}


def post_session_rename(project: Project, request: Request, body: dict) -> dict:
    rename_session(project, _text(body, "old"), _text(body, "new"))
    return {"name": body["new"]}


def post_split(project: Project, request: Request, body: dict) -> dict:
    try:
        validate, test = float(body.get("validate", 10)), float(body.get("test", 10))
    except (TypeError, ValueError):
        raise KwsgenError("'validate' and 'test' must be percentages") from None
    plan = plan_split(project, _text(body, "column"), validate, test)
    changed = apply_split(project, plan) if body.get("apply") else 0
    counts = {s: {"values": v, "recordings": n} for s, (v, n) in plan.counts().items()}
    return {"counts": counts, "without_value": plan.without_value, "changed": changed}


def post_autolabel(project: Project, request: Request, body: dict) -> dict:
    from ..project.labelling import auto_label

    files = body.get("files") or None
    if files is not None and not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        raise KwsgenError("'files' must be a list of recordings")
    added, labelled, skipped = auto_label(project, files, _text(body, "session"), progress=False)
    return {"added": added, "labelled": labelled, "skipped": skipped}


def import_uploads(project: Project, folder, names: list[str], form: dict) -> dict:
    """Files dropped on the page, saved in ``folder``: imported exactly as kwsgen import audio imports them."""
    from dataclasses import asdict

    from ..project import apply_plan, plan_audio
    from ..project.importers import parse_meta

    label = form.get("label") or None
    meta = parse_meta([m.strip() for m in (form.get("meta") or "").split(",") if m.strip()])
    plan = plan_audio(
        project,
        [folder / name for name in names],
        label=label,
        set_name=form.get("set") or None,
        meta=meta,
        session=form.get("session") or TRAINING_SESSION,
        into=(form.get("into") or "").strip(),
        resample=form.get("resample") == "true",
        mono=form.get("mono") == "true",
    )
    summary = apply_plan(project, plan, progress=False)
    return {"files": [r.dest for r in plan.recordings], **asdict(summary)}


# ---- models ----------------------------------------------------------------------


def get_models(project: Project, request: Request, body: dict) -> dict:
    import json

    models = []
    folders = sorted(p for p in project.models_dir.iterdir() if p.is_dir()) if project.models_dir.is_dir() else []
    for folder in folders:
        if not (folder / "model.tflite").is_file():
            continue
        entry: dict[str, Any] = {"name": folder.name, "report": (folder / "report.html").is_file()}
        try:
            metrics = json.loads((folder / "metrics.json").read_text())
            entry["summary"] = metrics.get("summary", {})
            entry["seconds"] = metrics.get("seconds")
        except (OSError, ValueError):
            entry["summary"] = {}
        models.append(entry)
    return {"models": models}


def get_model_report(project: Project, request: Request, body: dict) -> FileResponse:
    name = check_model_name(request.path_params["name"])
    path = project.model_dir(name) / "report.html"
    if not path.is_file():
        raise NotFound(f"model {name!r} has no report.html (train it with kwsgen train)")
    return FileResponse(path, media_type="text/html")


def post_run_model(project: Project, request: Request, body: dict) -> dict:
    """Run a model over recordings with the firmware-exact engine and score it against a session."""
    from ..firmware.app import load_spec
    from ..firmware.events import PREDICTIONS_SESSION, evaluate_files, events_by_file
    from ..project.settings import UNKNOWN

    files = body.get("files") or None
    if files is not None:
        files = [_recording(project, f) for f in files]
    spec = load_spec(project, body.get("model") or None)
    truth = body.get("truth") or TRAINING_SESSION
    predictions = body.get("predictions") or PREDICTIONS_SESSION
    report, _ = evaluate_files(
        project, spec, truth, files, "python", predictions, progress=False, set_name=body.get("set") or None
    )
    keywords = [label for label in spec.labels if label != UNKNOWN]
    truth_segments = project.load_session(truth).segments
    per_file = events_by_file(truth_segments, report.detections, keywords, spec.frontend.cascade_samples, report.files)
    summary = report.as_dict()
    return {"model": spec.model_name, "truth": truth, "predictions": predictions, **summary, "files": per_file}


# ---- live: a board or kwsgen virtual-device -------------------------------------------------


def _baud(body: dict) -> int | None:
    baud = body.get("baud")
    if baud in (None, ""):
        return None
    if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
        raise KwsgenError("'baud' must be a positive whole number")
    return baud


def stop_live(app) -> None:
    live = getattr(app.state, "live", None)
    if live is not None:
        live.stop()
        app.state.live = None


def post_live_connect(project: Project, request: Request, body: dict) -> dict:
    """Watch a device's classifications (kwsgen monitor's reader), named by the model's classes."""
    from ..devices.live import LiveMonitor
    from ..devices.monitor import Labeler
    from ..devices.ports import port_opener
    from ..firmware.app import load_spec

    try:
        labels = load_spec(project, body.get("model") or None).labels
    except KwsgenError:
        labels = None  # no trained model yet: classes are shown by number
    port, opener, _ = port_opener(_text(body, "port"), _baud(body))
    stop_live(request.app)
    request.app.state.live = LiveMonitor(port, opener, Labeler(labels)).start()
    return {"port": port, "labels": labels}


def post_live_listen(project: Project, request: Request, body: dict) -> dict:
    """Listen to a capture firmware: its audio drawn, and classified by the host build of the project's firmware."""
    from ..devices.live import LiveListener
    from ..devices.monitor import Labeler
    from ..devices.ports import port_opener
    from ..firmware.app import load_spec
    from ..firmware.engines import build_host_firmware

    try:
        spec = load_spec(project, body.get("model") or None)
    except KwsgenError:
        spec = None  # no trained model yet: the audio only
    firmware = build_host_firmware(spec) if spec else None
    port, opener, _ = port_opener(_text(body, "port"), _baud(body))
    stop_live(request.app)
    rate = project.settings.frontend.sample_rate
    labeler = Labeler(spec.labels if spec else None, rate)
    request.app.state.live = LiveListener(port, opener, rate, firmware, labeler).start()
    return {"port": port, "model": spec.model_name if spec else None}


def post_live_disconnect(project: Project, request: Request, body: dict) -> dict:
    stop_live(request.app)
    return {"connected": False}


def get_live_events(project: Project, request: Request, body: dict) -> dict:
    live = getattr(request.app.state, "live", None)
    if live is None:
        return {"port": None, "status": "not connected", "events": [], "next": 0}
    try:
        since = int(request.query_params.get("since", "0"))
    except ValueError:
        raise KwsgenError("'since' must be a whole number") from None
    answer = live.since(since)
    if hasattr(live, "hops_since"):
        try:
            since_hop = int(request.query_params.get("since_hop", "0"))
        except ValueError:
            raise KwsgenError("'since_hop' must be a whole number") from None
        answer["hops"] = live.hops_since(since_hop)
        answer["sample_rate"] = live.rate
    return answer


def post_live_record(project: Project, request: Request, body: dict) -> dict:
    """kwsgen record --port: capture firmware's audio into recordings/recorded/LABEL/ with its metadata."""
    from ..devices.ports import port_opener
    from ..devices.record import record_port_into_project

    meta = body.get("meta") or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise KwsgenError("'meta' must map metadata columns to text")
    try:
        seconds = float(body.get("seconds", 0))
    except (TypeError, ValueError):
        raise KwsgenError("'seconds' must be a number") from None
    port, opener, _ = port_opener(_text(body, "port"), _baud(body))
    stop_live(request.app)  # one reader per port
    capture, dest = record_port_into_project(
        project, port, opener, _text(body, "label"), seconds, body.get("set") or None, meta
    )
    return {"file": dest, "summary": capture.summary()}


ROUTES = [
    ("/api/project", "GET", get_project),
    ("/api/recordings", "GET", get_recordings),
    ("/api/summary", "GET", get_summary),
    ("/api/audio", "GET", get_audio),
    ("/api/peaks", "GET", get_peaks),
    ("/api/segments", "GET", get_segments),
    ("/api/segments", "PUT", put_segments),
    ("/api/metadata", "PATCH", patch_metadata),
    ("/api/sessions", "POST", post_session),
    ("/api/sessions/rename", "POST", post_session_rename),
    ("/api/split", "POST", post_split),
    ("/api/autolabel", "POST", post_autolabel),
    ("/api/models", "GET", get_models),
    ("/api/models/{name}/report", "GET", get_model_report),
    ("/api/run", "POST", post_run_model),
    ("/api/live/connect", "POST", post_live_connect),
    ("/api/live/listen", "POST", post_live_listen),
    ("/api/live/disconnect", "POST", post_live_disconnect),
    ("/api/live/events", "GET", get_live_events),
    ("/api/live/record", "POST", post_live_record),
]
