"""YAML text to plain data, with the line of every key and item and ${ENV} interpolation."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from alertrouter.core.values import ConfigIssue

Path = tuple[str | int, ...]

_ENV_RE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$\{[^}]*\}?")


def format_path(path: Path) -> str:
    """('route', 'routes', 2, 'matchers', 0) -> 'route.routes[2].matchers[0]'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


@dataclass
class YamlSource:
    """Data loaded from one YAML document, with lines (1-based) by path and any issues found."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    issues: list[ConfigIssue] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)
    name: str | None = None

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that exists in the document."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def issue(self, path: Path, message: str) -> ConfigIssue:
        return ConfigIssue(format_path(path), message, self.line_of(path), self.name)


class ConfigLoader(yaml.SafeLoader):
    """Scalars the way Alertmanager's Go decoder reads them into its (string) fields: `17:00`,
    `010`, `1.10`, `+5` and `yes` stay the text they are (YAML 1.1 would make them 1020, 8, 1.1,
    5 and True). Only `true`/`false` and null are resolved; numeric fields (ports, counts) parse
    their text in validation."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str, name: str | None, environ: Mapping[str, str] | None = None) -> YamlSource:
    env = os.environ if environ is None else environ
    loader = ConfigLoader(text)
    try:
        # The first document, as Alertmanager reads it.
        node = loader.get_node() if loader.check_node() else None
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        return YamlSource(None, issues=[_yaml_issue(exc, name)])
    finally:
        loader.dispose()
    source = YamlSource(data, name=name)
    if node is not None:
        _record_lines(source, node, data, ())
    source.data = _interpolate(source, data, (), env)
    return source


def _yaml_issue(exc: yaml.YAMLError, name: str | None) -> ConfigIssue:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem = f"{problem} ({context} at line {context_mark.line + 1})"
    line = mark.line + 1 if mark is not None else None
    return ConfigIssue("", f"invalid YAML: {problem}", line, name)


def _record_lines(source: YamlSource, node: yaml.Node, data: Any, path: Path) -> None:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or key not in data:
                continue
            child = (*path, key)
            if key in seen:
                source.issues.append(
                    ConfigIssue(
                        format_path(child),
                        "duplicate key",
                        key_node.start_mark.line + 1,
                        source.name,
                    )
                )
                continue
            seen.add(key)
            source.lines[child] = key_node.start_mark.line + 1
            _record_lines(source, value_node, data[key], child)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, (item_node, item) in enumerate(zip(node.value, data, strict=False)):
            _record_lines(source, item_node, item, (*path, index))


def _interpolate(source: YamlSource, data: Any, path: Path, env: Mapping[str, str]) -> Any:
    if isinstance(data, str):
        if not _is_unicode(data):
            source.issues.append(source.issue(path, "invalid Unicode (a lone surrogate escape)"))
            return data
        return _expand(source, data, path, env) if "$" in data else data
    if isinstance(data, dict):
        return {k: _interpolate(source, v, (*path, k), env) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate(source, v, (*path, i), env) for i, v in enumerate(data)]
    return data


def _expand(source: YamlSource, text: str, path: Path, env: Mapping[str, str]) -> str:
    """`${VAR}`, `${VAR:-default}` (default when unset or empty), `${VAR-default}` (when unset);
    `$${` is a literal `${`. An unset variable without a default is an error."""

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name, operator, default = match.groups()
        if name is None:  # e.g. `${{ .CommonLabels.x }}` in an Alertmanager Go template
            source.warnings.append(
                source.issue(
                    path,
                    f"{whole!r} is not an environment reference and is kept as written "
                    "(references look like ${NAME} or ${NAME:-default}; $${ is a literal ${)",
                )
            )
            return whole
        value = env.get(name)
        if operator == ":-" and not value:
            return default
        if operator == "-" and value is None:
            return default
        if value is None:
            source.issues.append(
                source.issue(
                    path,
                    f"environment variable {name} is not set "
                    f"(set it, or give a default: ${{{name}:-default}})",
                )
            )
            return ""
        return value

    return _ENV_RE.sub(replace, text)


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def yaml_items(parent: Any, key: str, path: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The mappings of the list `parent[key]` with their paths; anything else is left to the
    model validation to report."""
    values = parent.get(key) if isinstance(parent, dict) else None
    if isinstance(values, list):
        for index, value in enumerate(values):
            if isinstance(value, dict):
                yield (*path, key, index), value
