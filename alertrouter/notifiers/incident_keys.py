"""What the keys integrations give an incident on the far side share (PagerDuty's dedup key,
Opsgenie's alias): the installation they name, and the incident id read back from one. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit


def installation(external_url: str) -> str:
    """`host[:port][/path]` of external_url, without credentials, the host in lower case: what
    tells two alertrouters apart."""
    parts = urlsplit(external_url)
    return parts.netloc.rpartition("@")[2].lower() + parts.path.rstrip("/")


def incident_id_after(prefix: str, key: str) -> int | None:
    """The incident id in `key` when it is `prefix` followed by the id in canonical decimal."""
    if not key.startswith(prefix):
        return None
    rest = key[len(prefix) :]
    if not (rest.isascii() and rest.isdigit()) or str(int(rest)) != rest:
        return None
    return int(rest)
