"""`alertrouter schedules who` answers exactly as the rotation table pins the semantics (DST
in Berlin and New York, negative shift indexes, shift lengths above 1, gaps): each row of
tests/unit/people/test_rotation.py's SHIFT_TABLE, asked through the command line from a
configuration file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.unit.people.test_rotation import SHIFT_TABLE

CONFIG = """
route: {{receiver: team}}
receivers: [{{name: team}}]
users: [{{name: ann}}, {{name: bob}}, {{name: cid}}]
schedules:
  - name: table
    time_zone: {zone}
    layers:
      - name: primary
        rotation: {rotation}
        shift_length: {length}
        handoff: "{handoff}"
        users: [ann, bob, cid]
"""


@pytest.mark.parametrize(
    ("rotation", "handoff", "length", "zone", "at", "k", "start", "end", "user"), SHIFT_TABLE
)
def test_who_agrees_with_the_rotation_table(
    tmp_path: Path, rotation, handoff, length, zone, at, k, start, end, user
):
    path = tmp_path / "schedule.yml"
    path.write_text(
        CONFIG.format(
            zone=zone.key, rotation=rotation, length=length, handoff=handoff.replace(" ", "T")
        )
    )
    instant = at.replace(" ", "T") + ("Z" if len(at) > 16 else ":00Z")
    args = ["schedules", "who", "table", "--at", instant, "--config", str(path)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output == f"{user}\n"
    result = CliRunner().invoke(main, [*args, "--format", "json"], catch_exceptions=False)
    assert json.loads(result.output)["users"] == [user]
