"""Auto-labelling whole recordings of a project (kwsgen label auto)."""

from __future__ import annotations

from ..audio import read_audio
from ..errors import KwsgenError
from ..progress import progress_bar
from .autolabel import label_keyword_recording, label_noise_recording
from .project import Project
from .settings import UNKNOWN
from .transaction import project_lock


def auto_label(
    project: Project, files: list[str] | None, session: str, label: str | None = None, progress: bool = True
) -> tuple[int, int, list[str]]:
    """Add centred segments for each utterance; returns (segments added, recordings labelled, skipped notes).

    Recordings that already have segments in the session are left alone:
    auto-labelling adds labels, it never replaces a person's.
    """
    if label is not None and label not in project.labels:
        raise KwsgenError(f"label {label!r} is not in the project ({', '.join(project.labels)})")
    sess = project.load_session(session, create=True)
    md = project.load_metadata()
    present = set(project.recording_files())
    have = {s.file for s in sess.segments}
    if files:
        missing = [f for f in files if f not in present]
        if missing:
            raise KwsgenError(f"not in recordings/: {', '.join(missing[:3])}", project.root)
        targets = files
    else:
        targets = [f for f in sorted(present) if f not in have and (label or md.get(f, "keyword"))]
    skipped, new, labelled = [], [], 0
    with progress_bar(progress and len(targets) > 5) as bar:
        task = bar.add_task("auto-labelling", total=len(targets))
        for f in targets:
            bar.advance(task)
            if f in have:
                skipped.append(f"{f} already has segments in {session!r}")
                continue
            name = label or md.get(f, "keyword")
            if not name:
                skipped.append(f"{f} has no keyword in metadata.csv (give --label)")
                continue
            if name not in project.labels:
                skipped.append(f"{f}: its keyword {name!r} is not a project label")
                continue
            samples = read_audio(project.recording_path(f))
            cfg, seg = project.settings.autolabel, project.settings.segments
            if name == UNKNOWN:
                segs = label_noise_recording(f, len(samples), name, cfg, seg)
            else:
                segs = label_keyword_recording(f, samples, name, cfg, seg)
            if not segs:
                skipped.append(f"{f}: no utterance found (too quiet or too short?)")
                continue
            new += segs
            labelled += 1
    with project_lock(project.root):
        # Another command may have labelled some of these meanwhile: its segments win.
        sess = project.load_session(session, create=True)
        now_labelled = {s.file for s in sess.segments} - have
        added = sess.add([s for s in new if s.file not in now_labelled])
        project.save_session(sess)
    return added, labelled, skipped
