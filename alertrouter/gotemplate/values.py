"""Alertmanager's template data as converted templates see it, and Go's way of printing
values. Pure.

`go_data` turns alertrouter's template data (render.sample_data's shape, already escaped for
the message's target) into Alertmanager's `template.Data`: `.Receiver`, `.Status`, `.Alerts`
(with `.Firing` and `.Resolved`), `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`,
`.ExternalURL`, and per alert `.Status`, `.Labels`, `.Annotations`, `.StartsAt`, `.EndsAt`,
`.GeneratorURL`, `.Fingerprint`. Label sets are `KV`s: `.SortedPairs` (alertname first, then
by name), `.Names`, `.Values`, `.Remove`, and `.name` for a value ("" when missing, as
Alertmanager's `missingkey=zero`). Alerts are in Alertmanager's order (by `job`, `instance`,
then label set); a firing alert's `.EndsAt` is Go's zero time, as Alertmanager shows it.
`.GroupKey` is alertrouter's addition (Alertmanager's template data has none).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from alertrouter.gotemplate.gotime import GoDuration, GoTime, time_from_millis


class KV:
    """Alertmanager's template.KV: a label or annotation set."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: object) -> str:
        return self._items.get(key, "") if isinstance(key, str) else ""

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KV) and other._items == self._items

    __hash__ = None  # type: ignore[assignment]  # a Go map is not comparable

    @property
    def SortedPairs(self) -> Pairs:
        names = sorted(self._items, key=lambda name: (name != "alertname", name))
        return Pairs([Pair(name, self._items[name]) for name in names])

    @property
    def Names(self) -> list[str]:
        return self.SortedPairs.Names

    @property
    def Values(self) -> list[str]:
        return self.SortedPairs.Values

    def Remove(self, keys: Sequence[str]) -> KV:
        drop = set(keys)
        return KV({k: v for k, v in self._items.items() if k not in drop})


def kv_items(kv: KV) -> list[tuple[str, str]]:
    """A KV's pairs by name (not a method: templates see only Alertmanager's methods)."""
    return sorted(kv._items.items())


class Pair:
    __slots__ = ("Name", "Value")

    def __init__(self, name: str, value: str) -> None:
        self.Name = name
        self.Value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pair) and (other.Name, other.Value) == (self.Name, self.Value)

    def __hash__(self) -> int:
        return hash((self.Name, self.Value))


class Pairs(list[Pair]):
    """template.Pairs: a list of pairs with `.Names` and `.Values`."""

    @property
    def Names(self) -> list[str]:
        return [pair.Name for pair in self]

    @property
    def Values(self) -> list[str]:
        return [pair.Value for pair in self]


class Alert:
    __slots__ = (
        "Annotations",
        "EndsAt",
        "Fingerprint",
        "GeneratorURL",
        "Labels",
        "StartsAt",
        "Status",
    )
    _GO_FIELDS = ("Status", "Labels", "Annotations", "StartsAt", "EndsAt", "GeneratorURL")
    _GO_FIELDS += ("Fingerprint",)

    def __init__(self, status: str, alert: Mapping[str, Any]) -> None:
        self.Status = status
        self.Labels = KV(alert.get("labels") or {})
        self.Annotations = KV(alert.get("annotations") or {})
        self.StartsAt = time_from_millis(alert.get("starts_at"))
        self.EndsAt = time_from_millis(alert.get("ends_at") if status == "resolved" else None)
        self.GeneratorURL = str(alert.get("generator_url") or "")
        self.Fingerprint = str(alert.get("fingerprint") or "")


class Alerts(list[Alert]):
    """template.Alerts: `.Firing` and `.Resolved`."""

    @property
    def Firing(self) -> list[Alert]:
        return [alert for alert in self if alert.Status == "firing"]

    @property
    def Resolved(self) -> list[Alert]:
        return [alert for alert in self if alert.Status == "resolved"]


class Data:
    __slots__ = (
        "Alerts",
        "CommonAnnotations",
        "CommonLabels",
        "ExternalURL",
        "GroupKey",
        "GroupLabels",
        "Receiver",
        "Status",
    )
    _GO_FIELDS = ("Receiver", "Status", "Alerts", "GroupLabels", "CommonLabels")
    _GO_FIELDS += ("CommonAnnotations", "ExternalURL")

    def __init__(self, data: Mapping[str, Any]) -> None:
        alerts = data.get("alerts") or {}
        found = [Alert("firing", a) for a in alerts.get("firing", ())]
        found += [Alert("resolved", a) for a in alerts.get("resolved", ())]
        self.Receiver = _quote_meta(str(data.get("receiver") or ""))
        self.Status = str(data.get("status") or "")
        self.Alerts = Alerts(sorted(found, key=functools.cmp_to_key(_alert_order)))
        self.GroupLabels = KV(data.get("group_labels") or {})
        self.CommonLabels = KV(data.get("common_labels") or {})
        self.CommonAnnotations = KV(data.get("common_annotations") or {})
        self.ExternalURL = str(data.get("external_url") or "")
        self.GroupKey = str(data.get("group_key") or "")


def go_data(data: Mapping[str, Any]) -> Data:
    return Data(data)


_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


def _quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta, which Alertmanager applies to the receiver's name."""
    return _META.sub(r"\\\1", text)


def _alert_order(a: Alert, b: Alert) -> int:
    """Alertmanager's types.AlertSlice: by job, then instance (alerts with one first), then
    label set (fewer labels first, then by the sorted names' values)."""
    for key in ("job", "instance"):
        has_a, has_b = key in a.Labels._items, key in b.Labels._items
        if not has_a and not has_b:
            continue
        if has_a != has_b:
            return -1 if has_a else 1
        if a.Labels[key] != b.Labels[key]:
            return -1 if a.Labels[key] < b.Labels[key] else 1
    return (
        -1 if _labels_before(a.Labels, b.Labels) else 1 if _labels_before(b.Labels, a.Labels) else 0
    )


def _labels_before(a: KV, b: KV) -> bool:
    if len(a) != len(b):
        return len(a) < len(b)
    for name in sorted({*a._items, *b._items}):
        if name not in a._items:
            return True
        if name not in b._items:
            return False
        if a._items[name] != b._items[name]:
            return a._items[name] < b._items[name]
    return False


# Printing, as Go's fmt does it with %v


def go_str(value: Any) -> str:
    """A value as `{{ value }}` prints it (Markup stays Markup: html/template's safe HTML);
    nothing (nil, e.g. dot in a template called without an argument) is "<no value>"."""
    if isinstance(value, Markup):
        return value
    return "<no value>" if value is None else format_value(value)


def go_html_str(value: Any) -> str:
    """As go_str, in html/template, which prints nothing for nil."""
    return "" if value is None else go_str(value)


def format_value(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, GoTime | GoDuration):
        return str(value)
    if isinstance(value, KV):
        return "map[" + " ".join(f"{k}:{v}" for k, v in kv_items(value)) + "]"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        inner = " ".join(f"{format_value(k)}:{format_value(v)}" for k, v in items)
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Pair):
        return "{" + f"{value.Name} {value.Value}" + "}"
    if isinstance(value, Alert | Data):
        fields = [getattr(value, name) for name in type(value)._GO_FIELDS]
        return "{" + " ".join(format_value(f) for f in fields) + "}"
    return str(value)


def format_float(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64), which %v uses: the shortest digits that read
    back as `value`, in exponent form when the exponent is below -4 or at least 6."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return prefix + _plain(text, point)


def _plain(text: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + text
    if point >= len(text):
        return text + "0" * (point - len(text))
    return text[:point] + "." + text[point:]


def type_name(value: Any) -> str:
    """A value's Go type, as Go's errors and %T name it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[]string" if all(isinstance(v, str) for v in value) else "[]interface {}"
    names = {KV: "template.KV", Pair: "template.Pair", Alert: "template.Alert"}
    names |= {Data: "*template.Data", GoTime: "time.Time", GoDuration: "time.Duration"}
    return names.get(type(value), type(value).__name__)
