"""Projects: recordings, label sessions, metadata sets, imports and the feature cache."""

from pathlib import Path

from .check import CheckReport, Issue, check_session
from .features import FeatureCache
from .importers import (
    apply_plan,
    plan_audacity,
    plan_audio,
    plan_dcli,
    plan_edge_impulse,
    plan_metadata,
    plan_speech_commands,
)
from .project import TRAINING_SESSION, Project
from .query import Condition, Query, parse_condition, select
from .settings import SETS, UNKNOWN, ProjectSettings
from .store import Metadata, Segment, Session


def example_project_dir() -> Path:
    """The committed example project (kwsgen init --example copies it)."""
    from ..resources import package_data

    return package_data("example_project")


__all__ = [
    "SETS",
    "TRAINING_SESSION",
    "UNKNOWN",
    "CheckReport",
    "Condition",
    "FeatureCache",
    "Issue",
    "Metadata",
    "Project",
    "ProjectSettings",
    "Query",
    "Segment",
    "Session",
    "apply_plan",
    "check_session",
    "example_project_dir",
    "parse_condition",
    "plan_audacity",
    "plan_audio",
    "plan_dcli",
    "plan_edge_impulse",
    "plan_metadata",
    "plan_speech_commands",
    "select",
]
