"""docs/training.md's settings tables give every setting of their section, with the default the code uses.

Why: the tables are what users read, and a default changed in kwsgen/project/settings.py (resample_to went
from smallest to median to largest and back) once left the table saying the old one.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from kwsgen.project.settings import SECTION_TYPES

DOC = Path(__file__).resolve().parent.parent / "docs" / "training.md"
ROW = re.compile(r"^\| `(?P<key>[a-z_]+)` \| `(?P<default>[^`]*)` \|")


def documented(section: str) -> dict[str, str]:
    """{setting: default as written} of the table whose header cell is `[section]`."""
    rows: dict[str, str] = {}
    inside = False
    for line in DOC.read_text().splitlines():
        if line.startswith(f"| `[{section}]` |"):
            inside = True
        elif inside and not line.startswith("|"):
            break
        elif inside and (m := ROW.match(line)):
            rows[m["key"]] = m["default"]
    return rows


def as_toml(written: str):
    """The cell's value: TOML, or a bare word (tables write strings without quotes, as `kws25k`)."""
    try:
        return tomllib.loads(f"v = {written}")["v"]
    except tomllib.TOMLDecodeError:
        return written


@pytest.mark.parametrize("section", ["training", "augmentation", "negatives", "detection"])
def test_table_lists_every_setting_with_its_default(section: str) -> None:
    rows = documented(section)
    defaults = {f.name: getattr(SECTION_TYPES[section](), f.name) for f in dataclasses.fields(SECTION_TYPES[section])}
    assert sorted(rows) == sorted(defaults), f"docs/training.md's [{section}] table"
    for key, written in rows.items():
        value = as_toml(written)
        assert value == defaults[key], f"[{section}] {key}: docs/training.md says {written}, the code {defaults[key]!r}"
