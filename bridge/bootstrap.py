"""The composition root: the one place that reads configuration and builds engines,
SP-API clients and cart adapters. Everything is built lazily per process (a forked
worker builds its own), and per thread where the object is not thread-safe."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bridge import logging as bridge_logging
from bridge import shadow
from bridge.carts.contract import CartAdapter
from bridge.carts.registry import adapter_class
from bridge.config import Config, StorefrontConfig, load_config
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter, limiter_for
from bridge.fba.v2026.client import client_class as outbound_client_class
from bridge.ledger import call_stats
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger

_NO_LIMITS = {"off", "none"}


@dataclass
class Runtime:
    config: Config
    ledger: Ledger
    _local: threading.local = field(default_factory=threading.local)
    _limiter: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def storefronts(self) -> dict[str, StorefrontConfig]:
        return {s.name: s for s in self.config.storefronts if s.enabled}

    def storefront(self, name: str) -> StorefrontConfig:
        return self.config.storefront(name)

    @property
    def limiter(self):
        with self._lock:
            if self._limiter is None:
                url = self.config.settings.rate_limit_url
                self._limiter = NoLimiter() if url in _NO_LIMITS else limiter_for(url)
            return self._limiter

    def _cache(self) -> dict:
        if not hasattr(self._local, "objects"):
            self._local.objects = {}
        return self._local.objects

    def fba(self, name: str) -> FbaClient:
        cache = self._cache()
        key = ("fba", name)
        if key not in cache:
            storefront = self.storefront(name)
            account = storefront.fulfillment
            cache[key] = outbound_client_class(account.outbound_api).from_account(
                account, storefront.secret, self.limiter)
            if shadow.is_shadow(storefront):  # reads only: nothing reaches Amazon
                cache[key] = shadow.ReadOnlyFulfillmentNetwork(cache[key], name)
        return cache[key]

    def cart(self, name: str) -> CartAdapter:
        cache = self._cache()
        key = ("cart", name)
        if key not in cache:
            storefront = self.storefront(name)
            cls = adapter_class(storefront.cart.platform)
            cache[key] = cls.from_settings(storefront.cart.settings(), storefront.secret)
            if shadow.is_shadow(storefront):  # reads only: nothing reaches the shop
                cache[key] = shadow.ReadOnlyCart(cache[key], name)
        return cache[key]

    def close(self) -> None:
        for obj in self._cache().values():
            obj.close()
        self._cache().clear()
        self.ledger.engine.dispose()


def build_runtime(config_dir=None, *, configure_logging: bool = True) -> Runtime:
    config = load_config(config_dir)
    if configure_logging:
        bridge_logging.configure(config.settings.log_format, config.settings.log_level)
    engine = make_engine(config.settings.database_url)
    ledger = Ledger(engine)
    # What this process counts (SP-API calls, flow runs) reaches the ledger once a minute.
    call_stats.flush_to(ledger)
    return Runtime(config=config, ledger=ledger)
