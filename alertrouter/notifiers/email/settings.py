"""Email settings: an email config with Alertmanager's `smtp_*` global fallbacks applied.

Each setting falls back to its global, as in Alertmanager. TLS is implicit when
`force_implicit_tls` is set, else on port 465; otherwise `require_tls` (default true) asks for
STARTTLS. Settings that cannot work (no smarthost or from, malformed addresses) are CONFIG
errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

from pydantic import SecretStr

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import EmailConfig, TLSConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    """An email config with Alertmanager's global fallbacks applied."""

    host: str
    port: int
    hello: str
    header_from: str
    envelope_from: str
    header_to: str
    recipients: tuple[str, ...]
    implicit_tls: bool
    require_tls: bool
    tls: TLSConfig | None
    username: str
    password: SecretStr | None
    password_file: str | None
    secret: SecretStr | None
    secret_file: str | None
    identity: str

    @property
    def smarthost(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def uses_tls(self) -> bool:
        return self.implicit_tls or self.require_tls

    @property
    def server_name(self) -> str:
        return self.tls.server_name if self.tls is not None and self.tls.server_name else self.host


def smtp_settings(config: EmailConfig, global_: GlobalConfig) -> SMTPSettings:
    smarthost = config.smarthost or global_.smtp_smarthost
    if not smarthost:
        raise _config_error("no smarthost configured (smarthost or global smtp_smarthost)")
    host, port = split_smarthost(smarthost)
    sender = config.from_ or global_.smtp_from
    if not sender:
        raise _config_error("no from address configured (from or global smtp_from)")
    own_password = config.auth_password is not None or bool(config.auth_password_file)
    own_secret = config.auth_secret is not None or bool(config.auth_secret_file)
    return SMTPSettings(
        host=host,
        port=port,
        # An empty smtp_hello is Alertmanager's default (its conf.empty-fields.yml).
        hello=config.hello or global_.smtp_hello or "localhost",
        header_from=sender,
        envelope_from=_address(sender),
        header_to=config.to,
        recipients=_addresses(config.to),
        implicit_tls=_first_set(
            config.force_implicit_tls, global_.smtp_force_implicit_tls, default=port == 465
        ),
        require_tls=_first_set(config.require_tls, global_.smtp_require_tls, default=True),
        tls=config.tls_config or global_.smtp_tls_config,
        username=config.auth_username or global_.smtp_auth_username or "",
        password=config.auth_password if own_password else global_.smtp_auth_password,
        password_file=(
            config.auth_password_file if own_password else global_.smtp_auth_password_file
        ),
        # As Alertmanager: the global secret and its file only when the config has neither.
        secret=config.auth_secret if own_secret else global_.smtp_auth_secret,
        secret_file=config.auth_secret_file if own_secret else global_.smtp_auth_secret_file,
        identity=config.auth_identity or global_.smtp_auth_identity or "",
    )


def split_smarthost(smarthost: str) -> tuple[str, int]:
    host, _, port = smarthost.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _first_set(*values: bool | None, default: bool) -> bool:
    return next((value for value in values if value is not None), default)


def _address(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address:
        raise _config_error(f"invalid from address {value!r}")
    return address


def _addresses(value: str) -> tuple[str, ...]:
    addresses = tuple(address for _, address in getaddresses([value]))
    if not addresses or any("@" not in address for address in addresses):
        raise _config_error(f"invalid to address list {value!r}")
    return addresses


def _config_error(message: str) -> DeliveryError:
    return DeliveryError(ErrorKind.CONFIG, message)
