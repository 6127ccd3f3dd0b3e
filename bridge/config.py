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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bridge import secrets
from bridge.domain import marketplaces
from bridge.domain.limits import COUNTRY_CODES
from bridge.domain.mapping import FEATURE_NAMES
from bridge.domain.marketplaces import DEFAULT_KEY, REFUSE, Routing
from bridge.domain.rules import Conditions, Overrides, Rule, RuleBook, book_problems
from bridge.domain.skus import SkuMap
from bridge.errors import ConfigError
from bridge.net import is_loopback_host

DEFAULT_CONFIG_DIR = Path("config")
REGIONS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def plain_http_hosts() -> frozenset[str]:
    """Hosts besides loopback that a deployment lets plain http reach, comma-separated in
    BRIDGE_PLAIN_HTTP_HOSTS (docker-compose.yml names `sim`, the simulator on its
    internal network)."""
    names = os.environ.get("BRIDGE_PLAIN_HTTP_HOSTS", "").split(",")
    return frozenset(name.strip().lower() for name in names if name.strip())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServeSettings(_Strict):
    """`bridge serve`: where it listens and, off loopback, the credentials it asks for."""

    host: str = Field(default="127.0.0.1", description=(
        "Address `bridge serve` listens on. Any address but loopback (127.0.0.1, ::1, "
        "localhost) needs `token`, or `user` and `password`; 0.0.0.0 in a container."))
    port: int = Field(default=8780, ge=1, le=65535, description="Port `bridge serve` listens on.")
    token: str = Field(default="", description=(
        "Bearer token an operator sends (`Authorization: Bearer …`), as a secret reference "
        "(`env:NAME` or `file:PATH`), resolved when the server starts."))
    user: str = Field(default="", description="User name for HTTP basic auth, with `password`.")
    password: str = Field(default="", description=(
        "Password for HTTP basic auth, as a secret reference (`env:NAME` or `file:PATH`)."))

    @field_validator("token", "password")
    @classmethod
    def _by_reference(cls, value: str) -> str:
        if value and not secrets.is_reference(value):
            raise ValueError("secrets must be given as env:NAME or file:PATH, not inline")
        return value


class BridgeSettings(_Strict):
    database_url: str = Field(default="sqlite:///var/bridge.db", description=(
        "The ledger's SQLAlchemy URL: SQLite for the embedded setup on one host, PostgreSQL "
        "(`postgresql+psycopg://…`) when several processes or hosts share it. "
        "Environment: `BRIDGE_DATABASE_URL`."))
    broker_url: str = Field(default="sqla+sqlite:///var/broker.db", description=(
        "Celery's broker: `sqla+sqlite:///…` (embedded, no server), `redis://…` or "
        "`amqp://…` (RabbitMQ). Environment: `BRIDGE_BROKER_URL`."))
    rate_limit_url: str = Field(default="", description=(
        "Where the shared SP-API rate-limit buckets live: a `redis://` URL when several "
        "workers run; empty keeps them in this process; `off` sends as fast as asked (only "
        "against the simulator). Environment: `BRIDGE_RATE_LIMIT_URL`."))
    log_format: Literal["auto", "json", "console"] = Field(default="auto", description=(
        "`json` lines, readable `console` lines, or `auto`: console on a terminal, JSON "
        "otherwise. Environment: `BRIDGE_LOG_FORMAT`."))
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", description=(
        "Lowest level logged. Celery's per-task received/succeeded lines reach a terminal "
        "only at `debug`. Environment: `BRIDGE_LOG_LEVEL`."))
    stale_after_seconds: int = Field(default=300, ge=10, description=(
        "Rows left in a working state longer than this are nudged again by the sweep."))
    sweep_seconds: int = Field(default=60, ge=5, description=(
        "How often the sweep looks for stalled work."))
    submit_batch: int = Field(default=25, ge=1, le=500, description=(
        "Orders submitted per task run (amortises the broker hop and the commits)."))
    recheck_seconds: float = Field(default=15, ge=0, description=(
        "A batch of creates first polls the shop again when the last order poll started "
        "longer ago than this, so an order cancelled there moments ago is not sent."))
    stall_after_seconds: int = Field(default=3600, ge=60, description=(
        "A submission that keeps failing for passing reasons (throttled, 5xx, no "
        "connection) for longer than this is flagged stalled in `bridge status` and noted "
        "in the shop; retries go on."))
    stall_after_attempts: int = Field(default=20, ge=1, description=(
        "… or after this many attempts."))
    tracking_overdue_minutes: int = Field(default=30, ge=1, description=(
        "A shipped package whose tracking is not in the shop after this long is flagged."))
    serve: ServeSettings = Field(default_factory=ServeSettings, description=(
        "`[serve]`: where `bridge serve` (health, metrics, webhooks, console) listens."))


class FulfillmentAccount(_Strict):
    region: Literal["NA", "EU", "FE"] = Field(default="NA", description=(
        "Amazon's SP-API region (North America, Europe, Far East): picks the endpoint."))
    marketplace_id: str = Field(default="ATVPDKIKX0DER", description=(
        "The marketplace whose fulfillment network ships the orders (ATVPDKIKX0DER: US)."))
    endpoint: str = Field(default="", description=(
        "Overrides the region's SP-API endpoint, e.g. the simulator's URL. https:// only; "
        "http:// only to a simulator on this machine (127.0.0.1, ::1, localhost)."))
    token_url: str = Field(default="", description=(
        "Overrides the LWA token endpoint (default Amazon's; with `endpoint` set, "
        "`<endpoint>/auth/o2/token`)."))
    client_id: str = Field(description="The LWA client id of the SP-API application.")
    client_secret: str = Field(description=(
        "The LWA client secret, as a secret reference (`env:NAME` or `file:PATH`); inline "
        "secrets are refused."))
    refresh_token: str = Field(description=(
        "The seller's LWA refresh token for the application, as a secret reference."))
    timeout_seconds: float = Field(default=20.0, gt=0, le=120, description=(
        "Timeout of each SP-API call."))
    max_retries: int = Field(default=4, ge=0, le=10, description=(
        "Retries of one SP-API call after a throttle (429), a 5xx or a lost connection, "
        "with backoff, before the task leaves it for its next run."))
    outbound_api: Literal["2020-07-01", "2026-07-04"] = Field(default="2020-07-01", description=(
        "The Fulfillment Outbound API version that creates, reads, lists and cancels "
        "fulfillment orders. 2026-07-04 keeps edits, tracking, returns, features and "
        "inventory on 2020-07-01 (see docs/outbound-v2026.md)."))
    seller_id: str = Field(default="", description=(
        "The seller account (merchant token) the credentials stand for, shown in `bridge "
        "status`; one account reaches every marketplace of its region."))
    routing: dict[str, str] = Field(default_factory=dict, description=(
        "`[fulfillment.routing]`: ship-to country (ISO 3166-1, e.g. `CA`) → the marketplace "
        "whose network ships it (its id, or its short name: US, CA, MX, UK, DE, ...), or "
        "`refuse`; `default` for every other country (`refuse`, or a marketplace; without "
        "it, `marketplace_id`). Marketplaces must be of the account's region. Empty: every "
        "order goes to `marketplace_id` (docs/marketplaces.md)."))
    shop_stock: str = Field(default="home", description=(
        "Which Amazon stock the shop's one number per SKU shows when orders go to several "
        "marketplaces: `home` (`marketplace_id`'s, the default: never sells a unit the "
        "home network does not hold), `sum` (every routed marketplace's, added up), or one "
        "marketplace (id or short name). See docs/marketplaces.md."))

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
                "this machine: 127.0.0.1, ::1 or localhost, or a host named in "
                "BRIDGE_PLAIN_HTTP_HOSTS), or leave it empty for the region's"
            )
        return value

    @staticmethod
    def _safe_url(url: str) -> bool:
        parts = urlsplit(url.strip())
        if not parts.hostname:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and (
            is_loopback_host(parts.hostname) or parts.hostname.lower() in plain_http_hosts()))

    @model_validator(mode="after")
    def _known_routes(self) -> FulfillmentAccount:
        problems = [f"routing.{key}: {problem}" for key, problem in self._routing_problems()]
        if self.shop_stock not in ("home", "sum"):
            if marketplaces.resolve_id(self.shop_stock) not in self.routing_table.marketplaces:
                problems.append(
                    f"shop_stock: {self.shop_stock!r} is not home, sum or a marketplace "
                    "orders are routed to (" + ", ".join(
                        marketplaces.label(m) for m in self.routing_table.marketplaces) + ")")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _routing_problems(self) -> list[tuple[str, str]]:
        found = []
        for key, value in self.routing.items():
            if key != DEFAULT_KEY and key.upper() not in COUNTRY_CODES:
                found.append((key, "not an ISO 3166-1 country code (or `default`)"))
            if value.strip().lower() == REFUSE:
                continue
            chosen = marketplaces.find(value)
            if chosen is None:
                found.append((key, f"{value!r} is not an Amazon marketplace id or short name"))
            elif chosen.region != self.region:
                found.append((key, f"{marketplaces.label(chosen.marketplace_id)} is in region "
                              f"{chosen.region}, not this account's {self.region}"))
        return found

    @property
    def routing_table(self) -> Routing:
        """The routing as marketplace ids (names resolved; checked at load)."""
        def resolved(value: str) -> str:
            return REFUSE if value.strip().lower() == REFUSE else marketplaces.resolve_id(value)

        table = {key.upper(): resolved(value) for key, value in self.routing.items()
                 if key != DEFAULT_KEY}
        default = resolved(self.routing[DEFAULT_KEY]) if DEFAULT_KEY in self.routing else ""
        return Routing(self.marketplace_id, table, default)

    @property
    def stock_marketplaces(self) -> tuple[str, ...]:
        """The marketplaces whose stock the shop's quantities show (see `shop_stock`)."""
        routing = self.routing_table
        if self.shop_stock == "home":
            return (routing.home,)
        if self.shop_stock == "sum":
            return routing.marketplaces
        return (marketplaces.resolve_id(self.shop_stock),)

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
    sku_map: dict[str, str | dict[str, int]] = Field(default_factory=dict, description=(
        "Cart SKU → seller SKU at Amazon, or → `{ seller SKU = units }` for a kit. SKUs not "
        "listed are the same on both sides."))
    marketplace_sku_maps: dict[str, dict[str, str | dict[str, int]]] = Field(
        default_factory=dict, description=(
            "`[policy.marketplace_sku_maps.<marketplace>]`: entries that replace `sku_map`'s "
            "for orders and stock of one marketplace (id or short name), where the seller "
            "SKU differs there. Shop SKUs not listed keep `sku_map`'s entry."))
    shipping_speeds: dict[str, Literal["Standard", "Expedited", "Priority", "ScheduledDelivery"]] = (
        Field(default_factory=dict, description=(
            "The cart's shipping method → Amazon's speed category."))
    )
    default_speed: Literal["Standard", "Expedited", "Priority", "ScheduledDelivery"] = Field(
        default="Standard", description="Amazon's speed for a method not in `shipping_speeds`.")
    fulfillment_policy: Literal["FillOrKill", "FillAll", "FillAllAvailable"] = Field(
        default="FillOrKill", description=(
            "Amazon's fulfillmentPolicy: FillOrKill ships nothing until every line can ship, "
            "FillAll ships what it can and the rest later, FillAllAvailable ships what it can "
            "and cancels the rest."))
    comment_template: str = Field(default="Thank you for your order {number}.", description=(
        "The packing slip's order comment; `{number}`, `{order_id}` and `{email}` are the "
        "shop's. 1-750 characters once rendered."))
    stock_buffer: int = Field(default=0, ge=0, description=(
        "Units kept off each shop SKU: the shop shows FBA fulfillable − units of orders "
        "Amazon does not hold yet − this, never below zero."))
    notify_customer: bool = Field(default=True, description=(
        "Whether the shop tells the customer about shipments and cancels bridge writes "
        "(where the platform can)."))
    require_latin_address: bool = Field(default=True, description=(
        "Amazon's address fields take Latin-1 text in practice. When true, an order whose "
        "address holds other scripts (Cyrillic, Greek, Chinese, Arabic, …) is not sent: it "
        "goes to needs_attention (reason `non_latin_address`) with a note in the shop; "
        "transliterate the address in the shop and `bridge orders retry` it. A shop selling "
        "where such addresses are common may set false to send them as they are, at the "
        "risk of Amazon refusing or misprinting them."))
    when_amazon_cancels: Literal["hold", "cancel_in_shop"] = Field(default="hold", description=(
        "When Amazon cancels an order by itself: `hold` it for a person, or "
        "`cancel_in_shop` (nothing is refunded). See docs/amazon-outcomes.md."))
    when_unfulfillable: Literal["hold", "cancel_in_shop"] = Field(default="hold", description=(
        "When Amazon can fulfill none of an order: `hold` or `cancel_in_shop`."))
    features: list[str] = Field(default_factory=list, description=(
        "Amazon's options asked for on every order (featureConstraints, each Required), "
        "checked with Amazon before submit: BLANK_BOX, BLOCK_AMZL. See "
        "docs/amazon-options-and-edits.md."))
    when_feature_unavailable: Literal["hold", "send_without"] = Field(default="hold", description=(
        "An option Amazon cannot give holds the order (`hold`) or it is sent without it "
        "(`send_without`, with a note)."))

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

    def skus_for(self, marketplace_id: str) -> SkuMap:
        """The SKU map of one marketplace: `sku_map` with that marketplace's entries."""
        for name, entries in self.marketplace_sku_maps.items():
            if marketplaces.resolve_id(name) == marketplace_id:
                return SkuMap.from_config({**self.sku_map, **entries})
        return self.skus

    def speed_for(self, shipping_method: str) -> str:
        return self.shipping_speeds.get(shipping_method, self.default_speed)


class PollIntervals(_Strict):
    orders_seconds: float = Field(default=60, ge=1, description=(
        "How often the shop is polled for new and changed orders (webhooks, where set "
        "up, nudge a poll at once; this stays the safety net)."))
    status_seconds: float = Field(default=120, ge=1, description=(
        "How often Amazon is asked for orders it changed (shipments, cancels)."))
    stock_seconds: float = Field(default=300, ge=1, description=(
        "How often the shop's stock is brought in line with FBA inventory."))
    delivery_seconds: float = Field(default=1800, ge=1, description=(
        "How often packages due a look at Amazon are read for delivery milestones "
        "(docs/delivery.md)."))
    delivery_recheck_hours: float = Field(default=12, gt=0, description=(
        "A package is read once its estimated arrival has passed, then this often until "
        "delivered, failed or returned to sender."))
    delivery_give_up_days: float = Field(default=30, ge=0, description=(
        "Packages are followed at most this long after they shipped (0: milestones are "
        "not followed)."))
    returns_seconds: float = Field(default=1800, ge=1, description=(
        "How often open customer returns are read back from Amazon until every unit is "
        "processed (docs/returns.md); a storefront without one makes no call."))
    full_inventory_hours: float = Field(default=24, gt=0, le=24 * 7, description=(
        "Besides the incremental reads, all of Amazon's inventory is read again this often, "
        "so a change the incremental window missed is repaired; storefronts are spread over "
        "the period."))
    overlap_seconds: float = Field(default=120, ge=0, description=(
        "Each order poll re-reads this much before its cursor, so rows the shop committed "
        "late are still seen."))
    page_size: int = Field(default=100, ge=1, le=1000, description=(
        "Orders asked for per page of the shop's API."))
    initial_lookback_hours: float = Field(default=24, ge=0, description=(
        "How far back the very first order poll of a new storefront looks, before it has a "
        "cursor: paid orders last changed earlier than this are never read, so a first run "
        "sends only the last day's orders by default. Raise it before the first run to pick "
        "up older unfulfilled orders (e.g. 168 for a week); 0 starts from now. Also where "
        "the first read of Amazon's order changes starts."))


class InboundSettings(_Strict):
    """Defaults for `bridge inbound`: where stock ships from and how options are chosen."""

    ship_from: dict[str, str] = Field(default_factory=dict, description=(
        "Where stock ships from, in Amazon's AddressInput fields: name, companyName, "
        "addressLine1, addressLine2, city, stateOrProvinceCode, postalCode, countryCode, "
        "phoneNumber, email."))
    labels_dir: str = Field(default="var/labels", description=(
        "Folder the box and item labels (PDF) are saved in."))
    placement: Literal["cheapest", "first"] = Field(default="cheapest", description=(
        "Which of Amazon's placement options to take: the cheapest, or the first offered."))
    carrier: Literal["partnered", "own"] = Field(default="partnered", description=(
        "Amazon's partnered carrier, or your own."))
    ready_in_days: int = Field(default=1, ge=0, le=30, description=(
        "The shipment is ready for pickup this many days after the transport step."))
    follow_seconds: float = Field(default=900, ge=5, description=(
        "How often open inbound shipments are read back until their units are received."))


class RuleSettings(_Strict):
    """One `[[rules]]` table of a storefront file (see bridge.domain.rules)."""

    name: str = Field(description="Recorded on every order the rule decides (1-40 characters).")
    action: str = Field(description=(
        "`hold` (wait for `bridge orders approve`), `exclude` (never sent) or `override` "
        "(sent with other options)."))
    total_over: Decimal | None = Field(default=None, description=(
        "Matches when the order's total is greater than this."))
    currency: str = Field(default="", description=(
        "With `total_over`: only totals in this ISO 4217 currency."))
    tags: tuple[str, ...] = Field(default=(), description=(
        "Matches when the order has one of these tags (any case)."))
    countries: tuple[str, ...] = Field(default=(), description=(
        "Matches when it ships to one of these ISO 3166-1 country codes."))
    skus: tuple[str, ...] = Field(default=(), description=(
        "Matches when one of its lines has one of these shop SKUs."))
    customer_note: bool | None = Field(default=None, description=(
        "Matches when the customer left a note (true) or none (false)."))
    risk_at_least: str = Field(default="", description=(
        "Matches when the platform's risk level is at least this: low, medium or high."))
    fulfillment_policy: str = Field(default="", description=(
        "`override`: Amazon's fulfillment policy for matching orders."))
    shipping_speed: str = Field(default="", description=(
        "`override`: Amazon's speed for matching orders."))
    features: tuple[str, ...] = Field(default=(), description=(
        "`override`: Amazon options added for matching orders (the names `[policy] features` "
        "takes: BLANK_BOX, BLOCK_AMZL, SIGNATURE_CONFIRMATION, ...)."))

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

    all_orders: bool = Field(default=False, description=(
        "Every order waits for `bridge orders approve`."))
    ship_payment: tuple[str, ...] = Field(default=("paid",), description=(
        "Payment states that ship: `paid` always; add `authorized` (manual capture) and/or "
        "`on_delivery` (cash on delivery). Other orders are held visibly."))


class CartConnection(BaseModel):
    """`platform` picks the adapter; every other key is the adapter's own settings."""

    model_config = ConfigDict(extra="allow", frozen=True)
    platform: str = Field(description=(
        "The cart adapter: shopify, woocommerce, bigcommerce, magento, sql, or one "
        "registered in the `bridge.carts` entry point group. Every other key of `[cart]` is "
        "the adapter's own (docs/adapters/)."))

    def settings(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items()}


# Set by `bridge run --shadow`: every storefront runs in shadow mode in that process and
# its children, whatever its file says.
SHADOW_ENV = "BRIDGE_SHADOW"


class StorefrontConfig(_Strict):
    name: str = Field(description=(
        "The storefront's name (1-40 of a-z 0-9 _ -); defaults to the file's name."))
    enabled: bool = Field(default=True, description="false: no flow runs for this storefront.")
    mode: Literal["live", "shadow"] = Field(default="live", description=(
        "shadow: read the shop, record and map orders, compute stock, and show the request "
        "it would send, but write nothing to Amazon or the shop (docs/shadow-mode.md); "
        "`bridge run --shadow` makes every storefront shadow for that run."))
    order_id_prefix: str = Field(default="", description=(
        "Prefix of every sellerFulfillmentOrderId of this storefront (1-12 of A-Z a-z 0-9 "
        "_ -): keeps two storefronts on one seller account apart. Defaults to the name."))
    cart: CartConnection = Field(description="`[cart]`: the shop and how to reach it.")
    fulfillment: FulfillmentAccount = Field(description="`[fulfillment]`: the Amazon account.")
    policy: Policy = Field(default_factory=Policy, description=(
        "`[policy]`: how orders are mapped for Amazon and stock for the shop."))
    poll: PollIntervals = Field(default_factory=PollIntervals, description=(
        "`[poll]`: how often each flow runs."))
    inbound: InboundSettings = Field(default_factory=InboundSettings, description=(
        "`[inbound]`: defaults for `bridge inbound`."))
    rules: tuple[RuleSettings, ...] = Field(default=(), description=(
        "`[[rules]]`: holds, exclusions and per-order overrides, in file order "
        "(docs/rules.md)."))
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings, description=(
        "`[approval]`: hold every order, and which payment states ship."))
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

    @model_validator(mode="after")
    def _sku_maps_of_routed_marketplaces(self) -> StorefrontConfig:
        routed = self.fulfillment.routing_table.marketplaces
        for name in self.policy.marketplace_sku_maps:
            if marketplaces.resolve_id(name) not in routed:
                raise ValueError(
                    f"policy.marketplace_sku_maps.{name}: no order is routed to that "
                    "marketplace (" + ", ".join(marketplaces.label(m) for m in routed) + ")")
        return self

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
        if os.environ.get(SHADOW_ENV):  # `bridge run --shadow`, inherited by its workers
            data["mode"] = "shadow"
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
