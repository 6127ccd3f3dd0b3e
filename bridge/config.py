"""Typed configuration: ``bridge.toml`` plus one file per storefront under
``storefronts/``. Environment variables override the main file
(``BRIDGE_DATABASE_URL``, ``BRIDGE_BROKER_URL``, ``BRIDGE_RATE_LIMIT_URL``,
``BRIDGE_LOG_FORMAT``, ``BRIDGE_LOG_LEVEL``); ``BRIDGE_CONFIG_DIR`` says where the files are.

Every problem is reported as (file, key, what is wrong), all of them at once."""

from __future__ import annotations

import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge import secrets
from bridge.domain.mapping import FEATURE_NAMES
from bridge.domain.rules import Conditions, Overrides, Rule, RuleBook, book_problems
from bridge.domain.skus import SkuMap
from bridge.errors import ConfigError
from bridge.net import is_loopback_host

DEFAULT_CONFIG_DIR = Path("config")
SPEEDS = ("Standard", "Expedited", "Priority", "ScheduledDelivery")
POLICIES = ("FillOrKill", "FillAll", "FillAllAvailable")
REGIONS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServeSettings(_Strict):
    """`bridge serve`: where it listens and, off loopback, the credentials it asks for."""

    host: str = "127.0.0.1"
    port: int = Field(default=8780, ge=1, le=65535)
    # A bearer token, or a user and password for HTTP basic auth: secret references
    # (env:NAME or file:PATH), resolved when the server starts.
    token: str = ""
    user: str = ""
    password: str = ""

    @field_validator("token", "password")
    @classmethod
    def _by_reference(cls, value: str) -> str:
        if value and not secrets.is_reference(value):
            raise ValueError("secrets must be given as env:NAME or file:PATH, not inline")
        return value


class BridgeSettings(_Strict):
    database_url: str = "sqlite:///var/bridge.db"
    broker_url: str = "sqla+sqlite:///var/broker.db"
    # Where the shared rate-limit buckets live: a redis:// URL, or empty for in-process.
    rate_limit_url: str = ""
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Rows left in a working state longer than this are nudged again by the sweep.
    stale_after_seconds: int = Field(default=300, ge=10)
    sweep_seconds: int = Field(default=60, ge=5)
    # Orders bridge submits per task run (amortises the broker hop and commits).
    submit_batch: int = Field(default=25, ge=1, le=500)
    # A batch of creates first polls the shop when the last order poll started longer ago
    # than this, so an order cancelled there moments ago is not sent.
    recheck_seconds: float = Field(default=15, ge=0)
    # A submission that keeps failing for passing reasons (throttled, 5xx, no connection)
    # for longer than this, or more often, is flagged stalled; retries go on.
    stall_after_seconds: int = Field(default=3600, ge=60)
    stall_after_attempts: int = Field(default=20, ge=1)
    # The watchdog flags a shipped package whose tracking is not in the shop after this.
    tracking_overdue_minutes: int = Field(default=30, ge=1)
    serve: ServeSettings = Field(default_factory=ServeSettings)


class FulfillmentAccount(_Strict):
    region: Literal["NA", "EU", "FE"] = "NA"
    marketplace_id: str = "ATVPDKIKX0DER"
    endpoint: str = ""          # override, e.g. the simulator's URL
    token_url: str = ""         # override of the LWA token endpoint
    client_id: str
    client_secret: str
    refresh_token: str
    timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    max_retries: int = Field(default=4, ge=0, le=10)

    @field_validator("client_secret", "refresh_token")
    @classmethod
    def _by_reference(cls, value: str) -> str:
        if not secrets.is_reference(value):
            raise ValueError("secrets must be given as env:NAME or file:PATH, not inline")
        return value

    @field_validator("endpoint", "token_url")
    @classmethod
    def _https(cls, value: str) -> str:
        # The LWA secret and refresh token travel to these URLs: never in cleartext,
        # except to a simulator on this very machine.
        if value and not cls._safe_url(value):
            raise ValueError(
                f"{value!r} is not an https:// URL; Amazon's endpoints carry the LWA client "
                "secret and refresh token, so use https:// (http:// only for a simulator on "
                "this machine: 127.0.0.1, ::1 or localhost), or leave it empty for the region's"
            )
        return value

    @staticmethod
    def _safe_url(url: str) -> bool:
        parts = urlsplit(url.strip())
        if not parts.hostname:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname))

    @property
    def base_url(self) -> str:
        return (self.endpoint or REGIONS[self.region]).rstrip("/")

    @property
    def lwa_url(self) -> str:
        if self.token_url:
            return self.token_url
        if self.endpoint:
            return self.endpoint.rstrip("/") + "/auth/o2/token"
        return LWA_TOKEN_URL


class Policy(_Strict):
    # Cart SKU → seller SKU, or → {seller SKU = units} for a kit (see bridge.domain.skus).
    sku_map: dict[str, str | dict[str, int]] = Field(default_factory=dict)
    shipping_speeds: dict[str, Literal["Standard", "Expedited", "Priority", "ScheduledDelivery"]] = (
        Field(default_factory=dict)
    )
    default_speed: Literal["Standard", "Expedited", "Priority", "ScheduledDelivery"] = "Standard"
    fulfillment_policy: Literal["FillOrKill", "FillAll", "FillAllAvailable"] = "FillOrKill"
    comment_template: str = "Thank you for your order {number}."
    stock_buffer: int = Field(default=0, ge=0)
    notify_customer: bool = True
    # Amazon's Address fields are Latin-1 in practice; other scripts go to needs_attention.
    require_latin_address: bool = True
    # When Amazon cancels an order by itself (when_amazon_cancels) or cannot fulfill any of
    # it (when_unfulfillable): "hold" it for a person, or "cancel_in_shop" (no refund).
    # See docs/amazon-outcomes.md.
    when_amazon_cancels: Literal["hold", "cancel_in_shop"] = "hold"
    when_unfulfillable: Literal["hold", "cancel_in_shop"] = "hold"
    # Amazon's options asked for on every order (featureConstraints, each Required),
    # checked with getFeatures/getFeatureSKU before submit; an option Amazon cannot give
    # holds the order ("hold") or it is sent without it ("send_without", with a note).
    # See docs/amazon-options-and-edits.md.
    features: list[str] = Field(default_factory=list)
    when_feature_unavailable: Literal["hold", "send_without"] = "hold"

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"unknown feature {', '.join(unknown)}; Amazon's are "
                             + ", ".join(FEATURE_NAMES))
        return value

    @property
    def skus(self) -> SkuMap:
        return SkuMap.from_config(self.sku_map)

    def speed_for(self, shipping_method: str) -> str:
        return self.shipping_speeds.get(shipping_method, self.default_speed)


class PollIntervals(_Strict):
    orders_seconds: float = Field(default=60, ge=1)
    status_seconds: float = Field(default=120, ge=1)
    stock_seconds: float = Field(default=300, ge=1)
    # Delivery milestones (docs/delivery.md): how often the flow looks for packages due
    # a look at Amazon; each package is read once its estimated arrival has passed, then
    # every `delivery_recheck_hours` until a final state, for at most
    # `delivery_give_up_days` after it shipped (0: milestones are not followed).
    delivery_seconds: float = Field(default=1800, ge=1)
    delivery_recheck_hours: float = Field(default=12, gt=0)
    delivery_give_up_days: float = Field(default=30, ge=0)
    # Customer returns (docs/returns.md): how often open returns are read back from
    # Amazon until every unit is processed; storefronts without one make no call.
    returns_seconds: float = Field(default=1800, ge=1)
    # Besides the incremental reads, all of Amazon's inventory is read again this often,
    # so a change the incremental window missed is repaired; storefronts are spread
    # over the period so they do not all read at once.
    full_inventory_hours: float = Field(default=24, gt=0, le=24 * 7)
    # Each order poll re-reads this much before the cursor, so late-committed rows are seen.
    overlap_seconds: float = Field(default=120, ge=0)
    page_size: int = Field(default=100, ge=1, le=1000)
    # How far back the very first order poll of a new storefront looks.
    initial_lookback_hours: float = Field(default=24, ge=0)


class InboundSettings(_Strict):
    """Defaults for `bridge inbound`: where stock ships from and how options are chosen."""

    # Amazon's AddressInput fields: name, companyName, addressLine1, addressLine2, city,
    # stateOrProvinceCode, postalCode, countryCode, phoneNumber, email.
    ship_from: dict[str, str] = Field(default_factory=dict)
    labels_dir: str = "var/labels"
    placement: Literal["cheapest", "first"] = "cheapest"
    carrier: Literal["partnered", "own"] = "partnered"
    # The shipment is ready for pickup this many days after the transport step.
    ready_in_days: int = Field(default=1, ge=0, le=30)
    follow_seconds: float = Field(default=900, ge=5)


class RuleSettings(_Strict):
    """One `[[rules]]` table of a storefront file (see bridge.domain.rules)."""

    name: str
    action: str
    total_over: Decimal | None = None
    currency: str = ""
    tags: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    customer_note: bool | None = None
    risk_at_least: str = ""
    fulfillment_policy: str = ""
    shipping_speed: str = ""
    features: tuple[str, ...] = ()

    def rule(self) -> Rule:
        return Rule(
            name=self.name.strip(),
            action=self.action,
            when=Conditions(
                total_over=self.total_over, currency=self.currency.strip().upper(),
                tags=tuple(tag.strip() for tag in self.tags if tag.strip()),
                countries=tuple(code.strip().upper() for code in self.countries),
                skus=tuple(sku.strip() for sku in self.skus if sku.strip()),
                customer_note=self.customer_note, risk_at_least=self.risk_at_least.strip().lower()),
            overrides=Overrides(self.fulfillment_policy, self.shipping_speed, self.features),
        )


class ApprovalSettings(_Strict):
    """`[approval]`: hold every order for a person, and which payment states ship."""

    all_orders: bool = False
    ship_payment: tuple[str, ...] = ("paid",)


class CartConnection(BaseModel):
    """`platform` picks the adapter; every other key is the adapter's own settings."""

    model_config = ConfigDict(extra="allow", frozen=True)
    platform: str

    def settings(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items()}


class StorefrontConfig(_Strict):
    name: str
    enabled: bool = True
    # Prefix of every sellerFulfillmentOrderId of this storefront: keeps two storefronts
    # on one seller account apart. Defaults to the name.
    order_id_prefix: str = ""
    cart: CartConnection
    fulfillment: FulfillmentAccount
    policy: Policy = Field(default_factory=Policy)
    poll: PollIntervals = Field(default_factory=PollIntervals)
    inbound: InboundSettings = Field(default_factory=InboundSettings)
    # Holds, exclusions and per-order overrides, in file order (docs/rules.md).
    rules: tuple[RuleSettings, ...] = ()
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    source_file: str = ""
    config_dir: str = ""

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-40 of a-z 0-9 _ - starting with a letter or digit")
        return value

    @field_validator("order_id_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,12}", value):
            raise ValueError("must be 1-12 of A-Z a-z 0-9 _ -")
        return value

    @property
    def id_prefix(self) -> str:
        return self.order_id_prefix or re.sub(r"[^A-Za-z0-9_-]", "", self.name)[:12]

    @property
    def rule_book(self) -> RuleBook:
        return RuleBook(tuple(settings.rule() for settings in self.rules),
                        self.approval.all_orders, self.approval.ship_payment)

    def secret(self, reference: str) -> str:
        return secrets.resolve(reference, Path(self.config_dir) if self.config_dir else None)


class Config(BaseModel):
    model_config = ConfigDict(frozen=True)
    settings: BridgeSettings
    storefronts: tuple[StorefrontConfig, ...]
    config_dir: str

    def storefront(self, name: str) -> StorefrontConfig:
        for storefront in self.storefronts:
            if storefront.name == name:
                return storefront
        raise KeyError(name)


_ENV_OVERRIDES = {
    "BRIDGE_DATABASE_URL": "database_url",
    "BRIDGE_BROKER_URL": "broker_url",
    "BRIDGE_RATE_LIMIT_URL": "rate_limit_url",
    "BRIDGE_LOG_FORMAT": "log_format",
    "BRIDGE_LOG_LEVEL": "log_level",
}


def config_dir_from_env(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("BRIDGE_CONFIG_DIR", DEFAULT_CONFIG_DIR))


def _read_toml(path: Path, problems: list) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        problems.append((str(path), "-", f"not valid TOML: {exc}"))
    except OSError as exc:
        problems.append((str(path), "-", f"cannot read: {exc.strerror}"))
    return {}


def _validation_problems(path: Path, exc: ValidationError) -> list[tuple[str, str, str]]:
    out = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "-"
        message = err["msg"].removeprefix("Value error, ")
        out.append((str(path), key, message))
    return out


def load_config(config_dir: str | os.PathLike | None = None) -> Config:
    """Read and validate every file. Raises ConfigError listing all problems. Secret
    references are resolved when used (or by `services.config_check`), not here."""
    root = config_dir_from_env(config_dir)
    problems: list[tuple[str, str, str]] = []
    main_file = root / "bridge.toml"
    raw: dict = _read_toml(main_file, problems) if main_file.exists() else {}
    for env_name, key in _ENV_OVERRIDES.items():
        if os.environ.get(env_name):
            raw[key] = os.environ[env_name]
    settings = BridgeSettings()
    try:
        settings = BridgeSettings(**raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(main_file, exc))

    storefronts: list[StorefrontConfig] = []
    folder = root / "storefronts"
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        data = _read_toml(path, problems)
        if not data:
            continue
        data.setdefault("name", path.stem)
        try:
            storefront = StorefrontConfig(
                **data, source_file=str(path), config_dir=str(root.resolve())
            )
        except ValidationError as exc:
            problems.extend(_validation_problems(path, exc))
            continue
        problems.extend((str(path), key, reason) for key, reason in book_problems(storefront.rule_book))
        storefronts.append(storefront)

    names = [s.name for s in storefronts]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append((str(folder), "name", f"storefront name {name!r} is used twice"))
    prefixes = [s.id_prefix for s in storefronts]
    for prefix in {p for p in prefixes if prefixes.count(p) > 1}:
        problems.append((str(folder), "order_id_prefix", f"prefix {prefix!r} is used twice"))
    if problems:
        raise ConfigError(problems)
    return Config(settings=settings, storefronts=tuple(storefronts), config_dir=str(root))
