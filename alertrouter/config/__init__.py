"""One typed configuration tree (Alertmanager-compatible routing sections plus our own)."""

from alertrouter.config.loader import (
    CONFIG_ENV,
    LoadedConfig,
    default_config_path,
    load_config_file,
    load_config_text,
)
from alertrouter.config.models import (
    Config,
    EscalationPolicy,
    InhibitRuleConfig,
    RouteConfig,
    SeverityConfig,
    TimeIntervalConfig,
)
from alertrouter.config.receivers import Receiver

__all__ = [
    "CONFIG_ENV",
    "Config",
    "EscalationPolicy",
    "InhibitRuleConfig",
    "LoadedConfig",
    "Receiver",
    "RouteConfig",
    "SeverityConfig",
    "TimeIntervalConfig",
    "default_config_path",
    "load_config_file",
    "load_config_text",
]
