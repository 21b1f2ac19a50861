"""An adapter's configuration: one TOML file per adapter (``samspil adapter KIND --config F``).

::

    [hub]
    url = "http://127.0.0.1:8080"
    token_file = "gp.token"          # or token = "..." (a file keeps it out of the config)
    ca_file = "hub-ca.pem"           # optional: the CA of an https:// hub's certificate
    client_cert = "gp.pem"           # optional: mutual TLS, subject CN or serialNumber
    client_key = "gp.key"            #   'GLN:<13 digits>' (then the token may be left out)

    [organisation]
    gln = "5790000120314"            # the organisation the token belongs to
    name = "Lægehuset Vestbyen"

    [adapter]
    data_dir = "var/adapters/gp"     # the adapter's SQLite file (outbox, state)
    status_port = 8181               # optional: GET /healthz, /status, /metrics (0: any port)

    [contact]                        # whom to call, on the organisation's index entries
    name = "Jens Hjørring"
    role = "praktiserende læge"
    phone = "+45 98 00 00 00"

    [mllp]                           # gp, psychiatry: the HL7 v2 listener
    host = "127.0.0.1"
    port = 2575
    max_frame = 1048576
    ack_wait = 2.0                   # seconds an ACK waits for the hub's first answer
    idle_timeout = 300.0             # close a connection silent this long
    frame_timeout = 30.0             # ... or one whose frame is unfinished this long after it began
    write_timeout = 30.0             # ... or one that has not read its ACK this long
    max_connections = 256            # at the cap, the connection idle longest makes room

    [filedrop]                       # gp, psychiatry, municipality: MedCom files
    root = "var/gp/medcom"           # outbox/, inbox/, sent/, rejected/ below it
    poll_interval = 0.5
    receipts = "adapter"             # who sends the XCTL03 a delivered letter asks for:
                                     #   "adapter" (default) or "system" (see ReceiptsBy)
    syntax = "oioxml"                # gp: "edifact" for a clinic system that speaks DIS91/CTL
                                     #   (see DropSyntax)

    [events]                         # municipality: the case system's JSON-lines events
    folder = "var/kommune/events"
    poll_interval = 0.5

    [webhook]                        # municipality, optional: POST /events (JSON lines)
    host = "127.0.0.1"
    port = 8182
    token_file = "webhook.token"     # or token = "...": the case system's bearer secret
    max_body = 1048576               # bytes; a larger body is refused with 413
    tls_cert = "webhook.pem"         # optional: serve HTTPS (certificate chain, PEM)
    tls_key = "webhook.key"          #   and its private key (unless the PEM holds it)

    [partner_events]                 # municipality, optional: the hub's partner events (other
                                     # organisations' changes about the municipality's own
                                     # children), handed to the case system
    folder = "var/kommune/partner-events"  # JSON lines files here, or instead:
    url = "https://sag.kommune.local/samspil/partner-events"  # POSTed as JSON lines
    token_file = "case-system.token" # optional: the bearer secret for that url
    poll_interval = 2.0              # seconds between two reads of the hub when idle
    page = 100                       # events per read (1-500)

    [outbox]
    max_pending = 100000
    base_delay = 0.5
    max_delay = 60

Relative paths are read relative to the configuration file's folder. A key or section not
listed here is an error, never ignored (a typo in ``status_port`` would otherwise mean no
status server without a word): ``FILE: [table] key: unknown key (known: ...)``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from adapters.errors import AdapterConfigError
from adapters.outbox import OutboxSettings
from messages.errors import IdentifierError
from messages.identifiers import parse_gln

__all__ = [
    "AdapterConfig",
    "ContactConfig",
    "DropSyntax",
    "EventsConfig",
    "FileDropConfig",
    "MllpConfig",
    "PartnerEventsConfig",
    "ReceiptsBy",
    "WebhookConfig",
    "load_config",
    "unknown_keys",
]

KINDS = ("gp", "psychiatry", "municipality")


@dataclass(frozen=True, slots=True)
class ContactConfig:
    name: str = "Sekretariatet"
    role: str = "sekretær"
    phone: str | None = None
    email: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "role": self.role}
        if self.phone:
            data["phone"] = self.phone
        if self.email:
            data["email"] = self.email
        return data


@dataclass(frozen=True, slots=True)
class MllpConfig:
    host: str = "127.0.0.1"
    port: int = 2575
    max_frame: int = 1024 * 1024
    ack_wait: float = 2.0
    idle_timeout: float = 300.0
    """Seconds without a byte before a connection is closed."""
    frame_timeout: float = 30.0
    """Seconds a begun frame may take to complete (a sender trickling bytes is cut off)."""
    write_timeout: float = 30.0
    """Seconds an ACK may wait for the peer to read it (a peer that never reads is cut off)."""
    max_connections: int = 256
    """Open connections at most; a new one then replaces the connection idle longest."""


class ReceiptsBy(StrEnum):
    """Who sends the positive receipt (XCTL03) a letter delivered into the file drop asks
    for. One receipt per letter: the hub refuses a second one (409 ``already-receipted``)."""

    ADAPTER = "adapter"
    """The adapter, once the letter is in the drop's ``inbox/`` (a system without MedCom
    receipts of its own)."""
    SYSTEM = "system"
    """The system behind the drop (a MedCom-capable EHR writes its own XCTL03 to
    ``outbox/``); the adapter sends none."""


class DropSyntax(StrEnum):
    """What the system behind the file drop writes and reads."""

    OIOXML = "oioxml"
    """XDIS91 letters and XCTL receipts as ``*.xml`` (the default)."""
    EDIFACT = "edifact"
    """A clinic system that still speaks EDIFACT (GP adapter only): DIS91 letters and
    CTL01-03 receipts as ``*.edi`` both ways (``*.xml`` it writes is still taken). The hub
    carries them as XDIS91/XCTL; a message EDIFACT cannot hold (an XBIN01, text outside
    ISO-8859-1) reaches ``inbox/`` as OIOXML."""


@dataclass(frozen=True, slots=True)
class FileDropConfig:
    root: Path
    poll_interval: float = 0.5
    receipts: ReceiptsBy = ReceiptsBy.ADAPTER
    """Who receipts the letters delivered into ``inbox/`` (:class:`ReceiptsBy`)."""
    syntax: DropSyntax = DropSyntax.OIOXML
    """OIOXML or EDIFACT files (:class:`DropSyntax`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.syntax, DropSyntax):
            raise AdapterConfigError(
                f"[filedrop] syntax must be {_choices(DropSyntax)}, not {self.syntax!r}"
            )
        if not isinstance(self.receipts, ReceiptsBy):
            raise AdapterConfigError(
                f"[filedrop] receipts must be {_choices(ReceiptsBy)}, not {self.receipts!r}"
            )

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def sent(self) -> Path:
        return self.root / "sent"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"


@dataclass(frozen=True, slots=True)
class EventsConfig:
    folder: Path
    poll_interval: float = 0.5

    @property
    def processed(self) -> Path:
        return self.folder / "processed"

    @property
    def rejected(self) -> Path:
        return self.folder / "rejected"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The municipal adapter's HTTP door for the case system's events (``POST /events``)."""

    token: str = field(repr=False)
    """The shared secret the case system sends as ``Authorization: Bearer ...``."""
    host: str = "127.0.0.1"
    port: int = 8182
    """0: any free port (:attr:`MunicipalityAdapter.webhook_port` tells which)."""
    max_body: int = 1024 * 1024
    """Largest request body in bytes; a larger one is refused with 413."""
    tls_cert: Path | None = None
    """Certificate chain (PEM): serve HTTPS instead of plain HTTP."""
    tls_key: Path | None = None
    """Its private key, unless the certificate's PEM holds it."""

    def __post_init__(self) -> None:
        if len(self.token) < 16:
            raise AdapterConfigError("[webhook] needs a token (or token_file) of 16+ characters")
        if self.max_body < 1:
            raise AdapterConfigError("[webhook] max_body must be a positive number of bytes")
        if self.tls_key is not None and self.tls_cert is None:
            raise AdapterConfigError("[webhook] tls_key needs a tls_cert")


@dataclass(frozen=True, slots=True)
class PartnerEventsConfig:
    """The municipal adapter's delivery of the hub's partner events to its case system:
    JSON lines files in ``folder``, or POSTed to the case system's ``url``."""

    folder: Path | None = None
    url: str | None = None
    token: str = field(default="", repr=False)
    """The bearer secret the case system's webhook wants (optional)."""
    poll_interval: float = 2.0
    page: int = 100

    def __post_init__(self) -> None:
        if (self.folder is None) == (self.url is None):
            raise AdapterConfigError("[partner_events] needs a folder or a url (one of them)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise AdapterConfigError("[partner_events] url must be an http:// or https:// URL")
        if not 1 <= self.page <= 500:
            raise AdapterConfigError("[partner_events] page must be 1..500")
        if self.poll_interval <= 0:
            raise AdapterConfigError("[partner_events] poll_interval must be positive")


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    """Everything one adapter is told."""

    kind: str
    hub_url: str
    token: str = field(repr=False)
    gln: str
    name: str
    data_dir: Path
    contact: ContactConfig = field(default_factory=ContactConfig)
    mllp: MllpConfig | None = None
    filedrop: FileDropConfig | None = None
    events: EventsConfig | None = None
    webhook: WebhookConfig | None = None
    """Municipality only: serve ``POST /events`` beside the events folder."""
    partner_events: PartnerEventsConfig | None = None
    """Municipality only: hand the hub's partner events to the case system."""
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    status_port: int | None = None
    poll_wait: float = 20.0
    """Seconds one inbox long-poll waits at the hub."""
    network_gln: str = "5790000000005"
    """The location number the adapter signs XCTL01 network receipts with."""
    case_kind: str = ""
    """The index case kind for cases this adapter opens (defaults per adapter kind)."""
    ca_file: Path | None = None
    """CA bundle that signed an https:// hub's certificate (default: the system's CAs)."""
    client_cert: Path | None = None
    """Client certificate (PEM) for mutual TLS; authenticates the organisation."""
    client_key: Path | None = None
    """Its private key, unless the certificate's PEM holds it."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AdapterConfigError(f"adapter kind must be one of {', '.join(KINDS)}")
        if not self.hub_url.startswith(("http://", "https://")):
            raise AdapterConfigError("[hub] url must be an http:// or https:// URL")
        if not self.token and self.client_cert is None:
            raise AdapterConfigError("[hub] needs a token, a token_file or a client_cert")
        try:
            parse_gln(self.gln)
        except IdentifierError as exc:
            raise AdapterConfigError(f"[organisation] gln: {exc.message}") from None
        if self.kind in ("gp", "psychiatry") and self.mllp is None:
            raise AdapterConfigError(f"a {self.kind} adapter needs an [mllp] section")
        if self.kind == "municipality" and self.events is None:
            raise AdapterConfigError("a municipality adapter needs an [events] section")
        if self.filedrop is None:
            raise AdapterConfigError("every adapter needs a [filedrop] section for letters")
        if self.filedrop.syntax is DropSyntax.EDIFACT and self.kind != "gp":
            raise AdapterConfigError(
                '[filedrop] syntax = "edifact" is for a clinic system (the gp adapter)'
            )
        if self.webhook is not None and self.kind != "municipality":
            raise AdapterConfigError("only a municipality adapter serves a [webhook]")
        if self.partner_events is not None and self.kind != "municipality":
            raise AdapterConfigError("only a municipality adapter delivers [partner_events]")


def _names(cls: type[Any], *, but: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.name not in but)


KNOWN_KEYS: dict[str, frozenset[str]] = {
    "hub": frozenset({"url", "token", "token_file", "ca_file", "client_cert", "client_key"}),
    "organisation": frozenset({"gln", "name"}),
    "adapter": frozenset({"data_dir", "status_port", "poll_wait", "network_gln", "case_kind"}),
    "contact": _names(ContactConfig),
    "mllp": _names(MllpConfig),
    "filedrop": frozenset({"root", "poll_interval", "receipts", "syntax"}),
    "events": frozenset({"folder", "poll_interval"}),
    "webhook": _names(WebhookConfig) | {"token_file"},
    "partner_events": _names(PartnerEventsConfig) | {"token_file"},
    "outbox": _names(OutboxSettings),
}
"""Every section of an adapter's TOML file and the keys it may hold."""


def unknown_keys(data: dict[str, Any]) -> list[str]:
    """One line per section or key of ``data`` that :data:`KNOWN_KEYS` does not list,
    ``[table] key: unknown key (known: ...)``; empty when there is none."""
    problems: list[str] = []
    sections = ", ".join(sorted(KNOWN_KEYS))
    for name, value in data.items():
        known = KNOWN_KEYS.get(name)
        if known is None:
            what = "section" if isinstance(value, dict) else "key"
            problems.append(f"[{name}]: unknown {what} (known sections: {sections})")
        elif isinstance(value, dict):
            listed = ", ".join(sorted(known))
            problems.extend(
                f"[{name}] {key}: unknown key (known: {listed})"
                for key in value
                if key not in known
            )
    return problems


def _choices(kind: type[StrEnum]) -> str:
    names = [f'"{member.value}"' for member in kind]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _receipts(raw: Any) -> ReceiptsBy:
    try:
        return ReceiptsBy(raw)
    except ValueError:
        raise AdapterConfigError(
            f"[filedrop] receipts must be {_choices(ReceiptsBy)} (who sends the XCTL03 a "
            f"delivered letter asks for: this adapter, or the system behind the file drop), "
            f"not {raw!r}"
        ) from None


def _syntax(raw: Any) -> DropSyntax:
    try:
        return DropSyntax(raw)
    except ValueError:
        raise AdapterConfigError(
            f"[filedrop] syntax must be {_choices(DropSyntax)} (the files the system behind "
            f"the drop writes and reads), not {raw!r}"
        ) from None


def _section(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AdapterConfigError(f"[{name}] must be a table")
    return value


def _port(raw: Any, what: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 65535:
        raise AdapterConfigError(f"{what}: must be a port number, 0..65535 (0: any free port)")
    return raw


def _path(base: Path, raw: Any, what: str) -> Path:
    if not isinstance(raw, str) or not raw:
        raise AdapterConfigError(f"{what} must be a path")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else base / path


def _secret(section: dict[str, Any], base: Path, name: str) -> str:
    """``token``, or the stripped content of ``token_file``, of a section ("" if neither)."""
    token = section.get("token", "")
    if not token and "token_file" in section:
        token_path = _path(base, section["token_file"], f"[{name}] token_file")
        try:
            token = token_path.read_text().strip()
        except OSError as exc:
            raise AdapterConfigError(
                f"[{name}] token_file cannot be read: {exc.strerror}"
            ) from None
    return str(token)


def _webhook(section: dict[str, Any] | None, base: Path) -> WebhookConfig | None:
    if section is None:
        return None
    values = {k: v for k, v in section.items() if k not in ("token", "token_file")}
    for name in ("tls_cert", "tls_key"):
        if name in values:
            values[name] = _path(base, values[name], f"[webhook] {name}")
    return WebhookConfig(token=_secret(section, base, "webhook"), **values)


def _partner_events(section: dict[str, Any] | None, base: Path) -> PartnerEventsConfig | None:
    if section is None:
        return None
    folder = section.get("folder")
    return PartnerEventsConfig(
        folder=_path(base, folder, "[partner_events] folder") if folder is not None else None,
        url=str(section["url"]) if "url" in section else None,
        token=_secret(section, base, "partner_events"),
        poll_interval=float(section.get("poll_interval", 2.0)),
        page=int(section.get("page", 100)),
    )


def _build(kind: str, data: dict[str, Any], base: Path) -> AdapterConfig:
    hub = _section(data, "hub") or {}
    org = _section(data, "organisation") or {}
    adapter = _section(data, "adapter") or {}
    token = _secret(hub, base, "hub")
    contact = _section(data, "contact")
    mllp = _section(data, "mllp")
    filedrop = _section(data, "filedrop")
    events = _section(data, "events")
    outbox = _section(data, "outbox") or {}
    return AdapterConfig(
        kind=kind,
        hub_url=str(hub.get("url", "")),
        token=str(token),
        gln=str(org.get("gln", "")),
        name=str(org.get("name", "")),
        data_dir=_path(base, adapter.get("data_dir", f"var/adapters/{kind}"), "data_dir"),
        status_port=_port(adapter.get("status_port"), "[adapter] status_port"),
        poll_wait=float(adapter.get("poll_wait", 20.0)),
        network_gln=str(adapter.get("network_gln", "5790000000005")),
        case_kind=str(adapter.get("case_kind", "")),
        ca_file=_path(base, hub["ca_file"], "[hub] ca_file") if "ca_file" in hub else None,
        client_cert=_path(base, hub["client_cert"], "[hub] client_cert")
        if "client_cert" in hub
        else None,
        client_key=_path(base, hub["client_key"], "[hub] client_key")
        if "client_key" in hub
        else None,
        contact=ContactConfig(**contact) if contact else ContactConfig(),
        mllp=MllpConfig(**mllp) if mllp is not None else None,
        filedrop=FileDropConfig(
            root=_path(base, filedrop.get("root"), "[filedrop] root"),
            poll_interval=float(filedrop.get("poll_interval", 0.5)),
            receipts=_receipts(filedrop.get("receipts", ReceiptsBy.ADAPTER.value)),
            syntax=_syntax(filedrop.get("syntax", DropSyntax.OIOXML.value)),
        )
        if filedrop is not None
        else None,
        events=EventsConfig(
            folder=_path(base, events.get("folder"), "[events] folder"),
            poll_interval=float(events.get("poll_interval", 0.5)),
        )
        if events is not None
        else None,
        webhook=_webhook(_section(data, "webhook"), base),
        partner_events=_partner_events(_section(data, "partner_events"), base),
        outbox=OutboxSettings(**outbox),
    )


def load_config(kind: str, path: Path) -> AdapterConfig:
    """Read and check an adapter's TOML file. Raises AdapterConfigError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AdapterConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AdapterConfigError(f"{path}: not valid TOML: {exc}") from None
    problems = unknown_keys(data)
    if problems:
        raise AdapterConfigError("\n".join(f"{path}: {problem}" for problem in problems))
    try:
        return _build(kind, data, path.parent)
    except AdapterConfigError as exc:
        raise AdapterConfigError(f"{path}: {exc.message}") from None
    except (TypeError, ValueError) as exc:  # a value of the wrong type
        raise AdapterConfigError(f"{path}: a value of the wrong type ({exc})") from None
