"""Factories shared by the tests."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from alertrouter.config import LoadedConfig, load_config_text
from alertrouter.routing import RoutingTree
from alertrouter.severity import SeverityMapper

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_text(text: str, environ: dict[str, str] | None = None) -> LoadedConfig:
    return load_config_text(textwrap.dedent(text), "test.yml", environ or {})


def routing_tree(text: str) -> RoutingTree:
    config = load_text(text).config
    return RoutingTree(config, SeverityMapper(config.severity))


@pytest.fixture
def example_config_path() -> Path:
    return REPO / "config.example.yaml"


@pytest.fixture
def alertmanager_yml_path() -> Path:
    return DATA / "alertmanager.yml"
