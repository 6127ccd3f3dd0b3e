"""`bridge config check --online`: per storefront, connect to the shop and to Amazon and
name every problem with what to do, before a poll or a submit runs into it.

The shop is checked by the cart adapter's optional `probe()` (cheap reads: credentials,
scopes, the configured location or source). Amazon is checked in two steps, so that the
report says which one failed: a Login with Amazon token, then one page of
getInventorySummaries, an operation that needs the Amazon Fulfillment role.
Nothing is written anywhere. Run it after the offline checks (`check_config`) passed."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from bridge.carts.contract import CartAdapter
from bridge.carts.registry import adapter_class
from bridge.config import Config, StorefrontConfig
from bridge.errors import BridgeError, ConfigError, FatalError
from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient, account_key
from bridge.fba.ratelimit import NoLimiter

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"
# LwaAuth's reasons for a token request Amazon turned down (not an outage).
LWA_REFUSALS = frozenset({"credentials_refused", "credentials_rejected"})


@dataclass(frozen=True)
class Check:
    name: str    # "cart", "cart.<key>", "amazon.credentials", "amazon.fulfillment"
    status: str  # OK, PROBLEM or SKIPPED
    text: str    # what was found; for a problem, what is wrong and what to do


@dataclass(frozen=True)
class StorefrontReport:
    storefront: str
    platform: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.status != PROBLEM for check in self.checks)


def check_online(config: Config) -> list[StorefrontReport]:
    """One report per storefront; disabled storefronts are listed, not contacted."""
    return [check_storefront(s) if s.enabled else
            StorefrontReport(s.name, s.cart.platform, [Check("storefront", SKIPPED, "disabled")])
            for s in config.storefronts]


def check_storefront(storefront: StorefrontConfig) -> StorefrontReport:
    checks = cart_checks(storefront) + amazon_checks(storefront)
    return StorefrontReport(storefront.name, storefront.cart.platform, checks)


# -- the shop -------------------------------------------------------------------------------


def cart_checks(storefront: StorefrontConfig) -> list[Check]:
    try:
        cart = adapter_class(storefront.cart.platform).from_settings(
            storefront.cart.settings(), storefront.secret)
    except ConfigError as exc:
        return [Check(key, PROBLEM, what) for _file, key, what in exc.problems]
    try:
        return _probe(cart)
    finally:
        cart.close()


def _probe(cart: CartAdapter) -> list[Check]:
    # Optional in the contract: third-party adapters without it still work.
    probe = getattr(cart, "probe", None)
    if probe is None:
        return [Check("cart", SKIPPED, "no online check for this platform")]
    try:
        problems = probe()
    except BridgeError as exc:
        return [Check("cart", PROBLEM, f"the shop could not be checked: {exc.message}")]
    except Exception as exc:  # a third-party probe's bug must not hide the other checks
        return [Check("cart", PROBLEM, f"the adapter's probe failed: {type(exc).__name__}: {exc}")]
    if not problems:
        return [Check("cart", OK, "the shop accepts bridge's credentials and settings")]
    return [Check(f"cart.{key}", PROBLEM, what) for key, what in problems]


# -- Amazon ---------------------------------------------------------------------------------


def amazon_checks(storefront: StorefrontConfig) -> list[Check]:
    account = storefront.fulfillment
    try:
        client_secret = storefront.secret(account.client_secret)
        refresh_token = storefront.secret(account.refresh_token)
    except ValueError as exc:
        return [Check("amazon.credentials", PROBLEM, str(exc))]
    session = requests.Session()
    auth = LwaAuth(account.lwa_url, account.client_id, client_secret, refresh_token,
                   session, account.timeout_seconds)
    # One read per storefront: no shared rate-limit bucket is needed for it.
    client = FbaClient(account.base_url, account.marketplace_id, auth, NoLimiter(),
                       account_key(account.base_url, account.client_id, refresh_token),
                       timeout=account.timeout_seconds, max_retries=account.max_retries,
                       session=session)
    with client:
        token = _token_check(auth)
        if token.status != OK:
            return [token, Check("amazon.fulfillment", SKIPPED, "not checked: no access token")]
        fulfillment = _fulfillment_check(client)
        if fulfillment.status != OK:
            return [token, fulfillment]
        return [token, fulfillment, *_sku_map_checks(client, storefront)]


def _token_check(auth: LwaAuth) -> Check:
    try:
        auth.access_token()
    except FatalError as exc:
        if exc.reason in LWA_REFUSALS:
            return Check("amazon.credentials", PROBLEM,
                         f"the LWA refresh token or client secret is refused: {exc.message}")
        return Check("amazon.credentials", PROBLEM, exc.message)
    except BridgeError as exc:
        return Check("amazon.credentials", PROBLEM,
                     f"Login with Amazon could not be reached: {exc.message}")
    return Check("amazon.credentials", OK, "Login with Amazon issued an access token")


def _fulfillment_check(client: FbaClient) -> Check:
    try:
        # The first page only: the generator is dropped after one summary at most.
        next(iter(client.get_inventory_summaries(details=False)), None)
    except FatalError as exc:
        return Check("amazon.fulfillment", PROBLEM,
                     f"the app lacks the Amazon Fulfillment role (or this seller's authorization "
                     f"of it was revoked): {exc.message}; add the role to the app in Seller "
                     "Central's Developer Central and authorize it again")
    except BridgeError as exc:
        return Check("amazon.fulfillment", PROBLEM,
                     f"Amazon's fulfillment API could not be read: {exc.message}; check "
                     "fulfillment.region (or endpoint) and marketplace_id")
    return Check("amazon.fulfillment", OK, "FBA inventory can be read (getInventorySummaries)")


def _sku_map_checks(client: FbaClient, storefront: StorefrontConfig) -> list[Check]:
    """Every seller SKU the SKU map points at must be one Amazon has a record of (asked
    for by name: 50 SKUs a call); otherwise orders of it are held as unknown SKUs."""
    sku_map = storefront.policy.skus
    targets = sorted({sku for entry in sku_map.entries.values() for sku, _units in entry})
    if not targets:
        return []
    try:
        known = {summary.get("sellerSku") for summary in
                 client.get_inventory_summaries(seller_skus=targets, details=False)}
    except BridgeError as exc:
        return [Check("policy.sku_map", PROBLEM, f"the map's seller SKUs could not be looked up "
                                                 f"at Amazon: {exc.message}")]
    unknown = [sku for sku in targets if sku not in known]
    if not unknown:
        return [Check("policy.sku_map", OK, f"all {len(targets)} seller SKUs of the map are known at Amazon")]
    return [Check(f"policy.sku_map.{cart_sku}", PROBLEM,
                  f"seller SKU {sku!r} has no FBA inventory record at Amazon; check its spelling "
                  "against Seller Central, or send stock in before selling it")
            for cart_sku, entry in sku_map.entries.items() for sku, _units in entry if sku in unknown]
