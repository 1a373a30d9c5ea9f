"""Factories shared by the tests."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from alertrouter.config import LoadedConfig, load_config_text
from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import RoutingTree

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_text(text: str, environ: dict[str, str] | None = None) -> LoadedConfig:
    return load_config_text(textwrap.dedent(text), "test.yml", environ or {})


ALLOW_UNSUPPORTED = "\nnotifications: {allow_unsupported: true}\n"


def load_alertmanager_yml(*, allow_unsupported: bool = True) -> LoadedConfig:
    """tests/data/alertmanager.yml, a plain Alertmanager file (amtool reads it too, so it holds
    no alertrouter key) with an opsgenie receiver and Go templates: loadable only with
    notifications.allow_unsupported, appended here (lines stay those of the file)."""
    path = DATA / "alertmanager.yml"
    text = path.read_text() + (ALLOW_UNSUPPORTED if allow_unsupported else "")
    return load_config_text(text, str(path), {})


def routing_tree(text: str) -> RoutingTree:
    config = load_text(text).config
    return RoutingTree(config, SeverityMapper(config.severity))


@pytest.fixture
def example_config_path() -> Path:
    return REPO / "config.example.yaml"
