"""Where the files shipped beside the code are: inside the installed wheel, or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """`templates` or `migrations`: `alertrouter/<name>` in a wheel, `<checkout>/<name>` in an
    editable install."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"alertrouter's {name} directory is missing from the installation")
