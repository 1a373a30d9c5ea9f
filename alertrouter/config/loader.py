"""Load a configuration file: YAML, ${ENV}, typed validation, whole-config checks, warnings.

Every problem is reported at once, each with its YAML path and line, e.g.
`route.routes[2].matchers[0] (line 31): unterminated quoted string`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from alertrouter.config.checks import check_references
from alertrouter.config.gotemplates import load_library
from alertrouter.config.models import Config
from alertrouter.config.unsupported import audit
from alertrouter.config.yamlsource import Path, YamlSource, format_path, load_yaml
from alertrouter.core.values import ConfigError, ConfigIssue
from alertrouter.gotemplate import Library

CONFIG_ENV = "ALERTROUTER_CONFIG"
DEFAULT_CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    warnings: tuple[ConfigIssue, ...]
    source: str | None
    # The Go template defines receivers' Go-template fields use (config.gotemplates); None:
    # Alertmanager's own only.
    go_library: Library | None = None


def default_config_path() -> str:
    return os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE


def load_config_file(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    name = os.fspath(path)
    try:
        text = FsPath(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        issue = ConfigIssue("", f"cannot read config file: {reason}", source=name)
        raise ConfigError([issue]) from None
    return load_config_text(text, name, environ)


def load_config_text(
    text: str, name: str | None = None, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    source = load_yaml(text, name, environ)
    errors = list(source.issues)
    if source.data is None and not errors:
        errors.append(ConfigIssue("", "the configuration is empty", None, name))
    elif source.data is not None and not isinstance(source.data, dict):
        errors.append(ConfigIssue("", "the configuration must be a YAML mapping", 1, name))
    if errors:
        raise ConfigError(errors)

    reference_errors, warnings = check_references(source)
    warnings.extend(source.warnings)
    config: Config | None = None
    try:
        config = Config.model_validate(source.data)
    except ValidationError as exc:
        errors.extend(_issues_from_validation(source, exc))
    errors.extend(reference_errors)
    if errors:
        raise ConfigError(_dedupe_sorted(errors))
    assert config is not None
    base_dir = FsPath(name).parent if name else FsPath.cwd()
    allow = config.notifications.allow_unsupported
    library, library_problems = load_library(config.templates, base_dir)
    for finding in audit(config, source.data, base_dir, library, library_problems):
        if finding.unsupported and not allow:
            errors.append(source.issue(finding.path, finding.error_text()))
        else:
            warnings.append(source.issue(finding.path, finding.warning_text()))
    if errors:
        raise ConfigError(_dedupe_sorted(errors))
    return LoadedConfig(config, tuple(_dedupe_sorted(warnings)), name, library)


def _issues_from_validation(source: YamlSource, exc: ValidationError) -> Iterator[ConfigIssue]:
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if not _is_validator_tag(part)]
        key_error = "[key]" in loc
        path: Path = tuple(p if isinstance(p, str | int) else str(p) for p in loc if p != "[key]")
        kind = error["type"]
        if kind == "extra_forbidden":
            yield source.issue(path, _unknown_key_message(path))
        elif kind == "missing":
            yield source.issue(path, "required key is missing")
        else:
            message = error["msg"]
            for prefix in ("Value error, ", "Assertion failed, "):
                message = message.removeprefix(prefix)
            message = _lower_first(message)
            yield source.issue(path, f"invalid key: {message}" if key_error else message)


def _is_validator_tag(part: str | int) -> bool:
    """Pydantic puts the names of wrapping validators into locations; they are not YAML keys."""
    return isinstance(part, str) and part.startswith("function-")


def _lower_first(message: str) -> str:
    """Pydantic says "Input should be ..."; our messages read "input should be ..."."""
    if len(message) > 1 and message[1].isupper():
        return message
    return message[:1].lower() + message[1:]


def _unknown_key_message(path: Path) -> str:
    model = _model_at(path[:-1])
    known = [info.alias or name for name, info in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}"


def _model_at(path: Path) -> type[BaseModel] | None:
    """The config model that the mapping at `path` is validated as."""
    model: type[BaseModel] = Config
    for part in path:
        if isinstance(part, int):
            continue
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        info = fields.get(part)
        if info is None:
            return None
        found = next(_models_in(info.annotation), None)
        if found is None:
            return None
        model = found
    return model


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in getattr(annotation, "__args__", None) or ():
        yield from _models_in(arg)
    if hasattr(annotation, "__metadata__"):  # Annotated[X, ...]
        yield from _models_in(annotation.__origin__)


def _dedupe_sorted(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.line if i.line is not None else -1, i.path))


__all__ = [
    "CONFIG_ENV",
    "LoadedConfig",
    "default_config_path",
    "format_path",
    "load_config_file",
    "load_config_text",
]
