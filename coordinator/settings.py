"""The hub's settings: one frozen object, read once from ``SAMSPIL_*`` and passed explicitly.

Every field has a default that suits a developer's machine; :meth:`Settings.from_env` reads
the environment (``SAMSPIL_<FIELD NAME IN CAPITALS>``) and refuses unsafe values outside
development (see :meth:`Settings.check`).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from coordinator.errors import ConfigError
from wire.directory import Sector

ENV_PREFIX = "SAMSPIL_"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_data_dir() -> Path:
    """Where the embedded database lives unless told otherwise (``./var``)."""
    return Path.cwd() / "var"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the hub can be told. Frozen: build a new one with :meth:`replace`."""

    environment: str = field(
        default="development",
        metadata={"doc": "development | test | production; production refuses unsafe values"},
    )
    data_dir: Path = field(
        default_factory=default_data_dir,
        metadata={"doc": "folder for the embedded SQLite database"},
    )
    database_url: str = field(
        default="",
        metadata={
            "doc": "SQLAlchemy URL; empty means sqlite+aiosqlite:///<data_dir>/samspil.sqlite; "
            "postgresql://... is used through asyncpg"
        },
    )
    host: str = field(default="127.0.0.1", metadata={"doc": "address `samspil serve` binds"})
    port: int = field(default=8080, metadata={"doc": "port `samspil serve` binds"})
    network_gln: str = field(
        default="5790000000005",
        metadata={"doc": "the hub's own location number: sender of its XCTL01 receipts"},
    )
    message_ttl: timedelta = field(
        default=timedelta(days=5),
        metadata={
            "doc": "a letter the receiver's system has not acknowledged (fetched or not) this "
            "long after it arrived expires: the sender gets an XCTL01, the receiver 410 "
            "expired (seconds in env)"
        },
    )
    receipt_deadline: timedelta = field(
        default=timedelta(minutes=120),
        metadata={"doc": "a requested positive receipt is overdue after this (seconds in env)"},
    )
    expiry_interval: float = field(
        default=30.0,
        metadata={"doc": "seconds between two runs of the expiry and overdue sweep"},
    )
    max_body_bytes: int = field(
        default=2_000_000,
        metadata={"doc": "largest message body accepted by POST /v1/messages"},
    )
    max_wait: float = field(
        default=60.0, metadata={"doc": "longest long-poll a client may ask for (seconds)"}
    )
    shutdown_timeout: float = field(
        default=10.0,
        metadata={"doc": "seconds in-flight requests get to finish on SIGTERM/SIGINT"},
    )
    commit_batch: int = field(
        default=256,
        metadata={"doc": "most writes committed together in one transaction (group commit)"},
    )
    token_cache_seconds: float = field(
        default=5.0,
        metadata={
            "doc": "how long a verified token is trusted before it is looked up again; every "
            "revocation empties the cache of every hub process before its next request "
            "(PostgreSQL NOTIFY, a marker file beside a SQLite database)"
        },
    )
    tls_cert: Path | None = field(
        default=None,
        metadata={"doc": "PEM certificate chain: serve HTTPS instead of HTTP (with tls_key)"},
    )
    tls_key: Path | None = field(default=None, metadata={"doc": "PEM private key of tls_cert"})
    tls_client_ca: Path | None = field(
        default=None,
        metadata={
            "doc": "PEM CA bundle for mutual TLS: a client certificate it issued whose subject "
            "serialNumber or CN is 'GLN:<13 digits>' authenticates that organisation's system "
            "credential (bearer tokens keep working)"
        },
    )
    rate_limit_per_second: float = field(
        default=1000.0,
        metadata={
            "doc": "requests per second one credential may make, sustained (0: no limit); "
            "more get 429 rate-limited with Retry-After. An adapter draining a backlog "
            "stays under it; benchmarks and load tests set it to 0"
        },
    )
    rate_limit_burst: int = field(
        default=2000, metadata={"doc": "requests one credential may make at once above the rate"}
    )
    max_long_polls: int = field(
        default=32,
        metadata={"doc": "concurrent waiting GET /v1/inbox?wait=... per organisation (429 above)"},
    )
    login_failures_per_minute: int = field(
        default=20,
        metadata={
            "doc": "failed authentications one source address may make in a minute before it "
            "gets 429 too-many-failures for the rest of that minute"
        },
    )
    trusted_proxies: tuple[str, ...] = field(
        default=(),
        metadata={
            "doc": "addresses or networks of the load balancers or reverse proxies in front of "
            "the hub (env: comma-separated, e.g. '10.0.0.0/8, 192.0.2.10'). Only a request "
            "from one of them has its client's address read from X-Forwarded-For (the "
            "right-most entry that is not itself a trusted proxy), for the failed-login limit; "
            "from any other peer the header is ignored, so a client cannot choose its address"
        },
    )
    run_migrations: bool = field(
        default=True, metadata={"doc": "upgrade the schema with Alembic at start-up"}
    )
    letter_retention: timedelta = field(
        default=timedelta(days=7),
        metadata={
            "doc": "delivered letters and receipts (acknowledged by their receiver, or "
            "receipted or rejected) are removed this long after their last status change, "
            "and an expired letter this long after its sender acknowledged the XCTL01 that "
            "told it so: body, CPR and history go, the identifiers stay so a repeat is still a "
            "duplicate (seconds in env; default 7 days)"
        },
    )
    index_retention: timedelta = field(
        default=timedelta(days=730),
        metadata={
            "doc": "closed cases and past appointments are deleted this long after they "
            "closed or ended (seconds in env; default 2 years)"
        },
    )
    index_delete_age: int = field(
        default=23,
        metadata={"doc": "everything about a child is deleted on the day they turn this age"},
    )
    index_recent: timedelta = field(
        default=timedelta(days=30),
        metadata={"doc": "how far back the overview shows other organisations' appointments"},
    )
    retention_interval: float = field(
        default=3600.0,
        metadata={
            "doc": "seconds between two runs of each retention job (the index's and the "
            "letters'); each also runs when the hub starts"
        },
    )
    consent_jwks: str = field(
        default="",
        metadata={
            "doc": "the consent service's public keys (a JWKS): a file path or an http(s) URL "
            "(e.g. https://samtykke.example/.well-known/jwks.json). Signed consent documents "
            "are checked against them and recorded as verified; empty: only attested consents "
            "are taken (a signed one is 422 consent-service-not-configured)"
        },
    )
    consent_jwks_refresh: timedelta = field(
        default=timedelta(hours=1),
        metadata={
            "doc": "keys older than this are fetched again before the next signed consent is "
            "checked, so a key rotation at the service is followed without a restart "
            "(seconds in env)"
        },
    )
    consent_jwks_cooldown: timedelta = field(
        default=timedelta(seconds=30),
        metadata={
            "doc": "least time between two fetches of the keys: a document naming an unknown "
            "key fetches them again only this long after the last fetch, and a failed fetch "
            "is retried no sooner (seconds in env)"
        },
    )
    rate_alert_multiple: float = field(
        default=3.0,
        metadata={
            "doc": "an organisation's count today of new children registered, or of attested "
            "consents recorded, is flagged to operators when it exceeds this multiple of its "
            "usual day (the mean of the 14 days before): the stolen-token signal"
        },
    )
    rate_alert_minimum: int = field(
        default=10,
        metadata={
            "doc": "a count today below this is never flagged, however quiet the usual day "
            "(3 against a usual 1 is a busy day, not a stolen token)"
        },
    )
    region_name: str = field(
        default="Region Nordjylland",
        metadata={
            "doc": "the region this hub serves, as operators read it: the operator monitor's "
            "title (in /v1/operator/summary as region)"
        },
    )
    attested_consent_opens: tuple[str, ...] = field(
        default=("ppr", "family"),
        metadata={
            "doc": "the data-owning sectors whose entries an attested consent (recorded on a "
            "caseworker's word, not signed by the consent service) opens (env: "
            "comma-separated, e.g. 'ppr,family'; empty: none). Every other sector's data "
            "opens only under a verified consent, or under an attested one recorded by an "
            "organisation of that same sector"
        },
    )

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """:attr:`trusted_proxies` as networks (an address is a network of one)."""
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)

    @property
    def attested_opens(self) -> frozenset[Sector]:
        """:attr:`attested_consent_opens` as sectors."""
        return frozenset(Sector(name) for name in self.attested_consent_opens)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the embedded default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'samspil.sqlite'}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def check(self) -> Settings:
        """Refuse values that are unsafe or meaningless; return ``self``."""
        if self.environment not in {"development", "test", "production"}:
            raise ConfigError(
                f"SAMSPIL_ENVIRONMENT must be development, test or production, "
                f"not {self.environment!r}"
            )
        if self.message_ttl <= timedelta(0) or self.receipt_deadline <= timedelta(0):
            raise ConfigError("SAMSPIL_MESSAGE_TTL and SAMSPIL_RECEIPT_DEADLINE must be positive")
        if self.letter_retention <= timedelta(0):
            raise ConfigError("SAMSPIL_LETTER_RETENTION must be positive (seconds; default 7 days)")
        if self.index_retention <= timedelta(0) or not 18 <= self.index_delete_age <= 120:
            raise ConfigError(
                "SAMSPIL_INDEX_RETENTION must be positive and SAMSPIL_INDEX_DELETE_AGE 18-120"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("SAMSPIL_TLS_CERT and SAMSPIL_TLS_KEY go together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ConfigError("SAMSPIL_TLS_CLIENT_CA (mutual TLS) needs SAMSPIL_TLS_CERT")
        if self.rate_limit_per_second < 0 or self.rate_limit_burst < 1:
            raise ConfigError("SAMSPIL_RATE_LIMIT_PER_SECOND >= 0, SAMSPIL_RATE_LIMIT_BURST >= 1")
        if self.max_long_polls < 1 or self.login_failures_per_minute < 1:
            raise ConfigError(
                "SAMSPIL_MAX_LONG_POLLS and SAMSPIL_LOGIN_FAILURES_PER_MINUTE must be >= 1"
            )
        if not (self.rate_alert_multiple >= 1 and self.rate_alert_multiple != float("inf")):
            raise ConfigError(
                "SAMSPIL_RATE_ALERT_MULTIPLE must be a number of at least 1 (e.g. 3: flag a "
                "day three times the usual)"
            )
        if self.rate_alert_minimum < 1:
            raise ConfigError(
                "SAMSPIL_RATE_ALERT_MINIMUM must be at least 1 (e.g. 10: never flag fewer)"
            )
        if not self.region_name.strip():
            raise ConfigError(
                "SAMSPIL_REGION_NAME must name the region the hub serves (e.g. Region Nordjylland)"
            )
        self._check_consent_jwks()
        try:
            self.trusted_proxy_networks  # noqa: B018 - parsed to be checked
        except ValueError as exc:
            raise ConfigError(
                "SAMSPIL_TRUSTED_PROXIES must be IP addresses or networks (10.0.0.0/8), "
                "separated by commas"
            ) from exc
        unknown = sorted(set(self.attested_consent_opens) - {s.value for s in Sector})
        if unknown:
            raise ConfigError(
                f"SAMSPIL_ATTESTED_CONSENT_OPENS names {', '.join(map(repr, unknown))}: "
                f"give sectors among {', '.join(s.value for s in Sector)}, separated by commas"
            )
        if self.environment == "production":
            if self.host not in {"127.0.0.1", "::1", "localhost"} and self.tls_cert is None:
                raise ConfigError(
                    "production on a public address needs TLS (SAMSPIL_TLS_CERT, SAMSPIL_TLS_KEY)"
                )
            if self.host not in {"127.0.0.1", "::1", "localhost"} and not self.database_url:
                raise ConfigError(
                    "production on a public address needs an explicit SAMSPIL_DATABASE_URL"
                )
            if self.message_ttl < timedelta(hours=1):
                raise ConfigError("production refuses a SAMSPIL_MESSAGE_TTL under one hour")
            if self.letter_retention < timedelta(hours=1):
                raise ConfigError(
                    "production refuses a SAMSPIL_LETTER_RETENTION under one hour: senders "
                    "could not follow their letters, nor operators re-deliver expired ones"
                )
        return self

    def _check_consent_jwks(self) -> None:
        if self.consent_jwks_refresh <= timedelta(0) or self.consent_jwks_cooldown < timedelta(0):
            raise ConfigError(
                "SAMSPIL_CONSENT_JWKS_REFRESH must be positive and SAMSPIL_CONSENT_JWKS_COOLDOWN "
                "not negative (seconds)"
            )
        source = self.consent_jwks
        if source.startswith(("http://", "https://")):
            host = urlsplit(source).hostname
            if not host:
                raise ConfigError("SAMSPIL_CONSENT_JWKS is a URL without a host")
            if (
                self.environment == "production"
                and source.startswith("http://")
                and host not in {"127.0.0.1", "::1", "localhost"}
            ):
                raise ConfigError(
                    "production fetches the consent service's keys over https only: an "
                    "http:// SAMSPIL_CONSENT_JWKS could be answered with anyone's keys"
                )
        elif "://" in source:
            raise ConfigError("SAMSPIL_CONSENT_JWKS is a file path or an http:// or https:// URL")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``SAMSPIL_*`` variables (``env`` defaults to ``os.environ``)."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).check()


def _convert(name: str, kind: Any, raw: str) -> Any:
    text = str(kind)
    try:
        if "timedelta" in text:
            return timedelta(seconds=float(raw))
        if "tuple" in text:  # a comma-separated list
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if "Path" in text:  # Path or Path | None
            return Path(raw)
        if text == "int":
            return int(raw)
        if text == "float":
            return float(raw)
        if text == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} has an invalid value {raw!r}") from exc
    return raw
