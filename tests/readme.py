"""What the README says, read by the tests that hold the code to it."""

from __future__ import annotations

import functools

from tests.conftest import REPO

README = REPO / "README.md"


@functools.cache
def text() -> str:
    return README.read_text(encoding="utf-8")


def table(first_header: str) -> list[list[str]]:
    """The body rows (cells stripped) of the Markdown table whose first column is headed
    `first_header`."""
    lines = text().splitlines()
    for i, line in enumerate(lines):
        cells = _cells(line)
        if cells and cells[0] == first_header:
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(_cells(row))
            return rows
    raise AssertionError(f"README has no table headed {first_header!r}")


def _cells(line: str) -> list[str]:
    if not line.startswith("|"):
        return []
    return [cell.strip() for cell in line.strip().strip("|").split("|")]
