"""The README and the architecture point only at files in the repository, and at ones that
exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests import readme

DOCUMENTS = (readme.README, readme.REPO / "docs" / "ARCHITECTURE.md")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:\.\./)*[\w.-]+(?:/[\w.-]+)+/?)`")


def references(document: Path) -> list[Path]:
    """Relative link targets (from the document's folder), and paths in code spans that go up
    a folder or start with a top-level entry of the repository (from its root)."""
    text = document.read_text(encoding="utf-8")
    found = [
        document.parent / target.split("#", 1)[0]
        for target in LINK.findall(text)
        if not re.match(r"[a-z]+:|#", target)
    ]
    top = {entry.name for entry in readme.REPO.iterdir()}
    for path in CODE_PATH.findall(text):
        if path.startswith("../") or path.split("/", 1)[0] in top:
            found.append(readme.REPO / path)
    return found


def test_the_readme_and_the_architecture_point_inside_the_repository():
    outside, missing = [], []
    for document in DOCUMENTS:
        assert document.exists(), document
        for target in references(document):
            resolved = target.resolve()
            if not resolved.is_relative_to(readme.REPO):
                outside.append(f"{document.name}: {target}")
            elif not resolved.exists():
                missing.append(f"{document.name}: {target}")
    assert outside == []
    assert missing == []
