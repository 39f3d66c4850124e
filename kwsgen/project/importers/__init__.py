"""Bringing recordings and labels into a project.

Every importer first builds a complete plan (which files to copy or convert,
which metadata and segments to add) and validates all of it; only a plan
without errors is applied. Bad input therefore leaves the project exactly as
it was. Sources are only read: recordings are copied into recordings/, and
converted copies are written there when --resample/--mono is given.

One module per format, mirroring exporters.py; plan.py is the engine they share.
"""

from .audacity import plan_audacity, read_audacity_labels
from .audio import plan_audio
from .dcli import plan_dcli
from .edge_impulse import plan_edge_impulse
from .metadata import plan_metadata
from .plan import ImportPlan, ImportSummary, PlannedRecording, apply_plan, check_set, parse_meta
from .speech_commands import plan_speech_commands, speech_commands_speaker, split_by_key

__all__ = [
    "ImportPlan",
    "ImportSummary",
    "PlannedRecording",
    "apply_plan",
    "check_set",
    "parse_meta",
    "plan_audacity",
    "plan_audio",
    "plan_dcli",
    "plan_edge_impulse",
    "plan_metadata",
    "plan_speech_commands",
    "read_audacity_labels",
    "speech_commands_speaker",
    "split_by_key",
]
