"""Amazon's options on an order (featureConstraints: BLANK_BOX, BLOCK_AMZL, ...), settled
just before the create: the order's own features (rules) plus the storefront's, each
checked with getFeatures (the marketplace offers it and the seller is enrolled) and
getFeatureSKU (every SKU of the order may ship with it).

An option Amazon cannot give either holds the order (`feature_unavailable`, naming the
feature and the SKU) or, if the merchant said so (`policy.when_feature_unavailable =
"send_without"`), is dropped with an event and a note. The request is saved with what
was decided before the create, so a retry sends the same body and asks nothing again.

Answers are cached per network client (one per storefront's account and marketplace):
the marketplace's features for FEATURES_TTL, a SKU's eligibility for SKU_TTL, so a batch
of orders costs a few reads in their own rate buckets, not one or two per create."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.fulfillment import FeatureSkuEligibility, FulfillmentOrderRequest
from bridge.domain.mapping import quoted
from bridge.domain.model import CartOrder
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.fba.port import FulfillmentNetwork
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.services.common import log, tell_merchant
from bridge.services.edits import PENDING_EDIT

FEATURES_TTL = 600.0  # enrolment and what a marketplace offers change rarely
SKU_TTL = 120.0  # a SKU's eligibility follows its stock in the centers that can do it
_NOT_OFFERED = "NOT_OFFERED_IN_MARKETPLACE"


@dataclass(frozen=True)
class Unavailable:
    """One feature Amazon cannot give this order; `seller_sku` is "" when it cannot give
    it to any order of the marketplace."""

    feature: str
    seller_sku: str
    why: str

    def sentence(self) -> str:
        if not self.seller_sku:
            return f"{self.feature} is {self.why}"
        return f"{self.feature} is not available for SKU {quoted(self.seller_sku)} ({self.why})"


class FeatureAnswers:
    """getFeatures and getFeatureSKU answers of one client, per marketplace ("": the
    client's own), kept for their TTLs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 features_ttl: float = FEATURES_TTL, sku_ttl: float = SKU_TTL) -> None:
        self.clock, self.features_ttl, self.sku_ttl = clock, features_ttl, sku_ttl
        self._offered: dict[str, tuple[float, dict[str, bool]]] = {}
        self._skus: dict[tuple[str, str, str], tuple[float, FeatureSkuEligibility]] = {}

    def offered(self, fba: FulfillmentNetwork, marketplace_id: str = "") -> dict[str, bool]:
        """Feature → seller enrolled, for the features the marketplace offers."""
        now = self.clock()
        cached = self._offered.get(marketplace_id)
        if cached is None or now - cached[0] >= self.features_ttl:
            cached = self._offered[marketplace_id] = (now, fba.features(marketplace_id))
        return cached[1]

    def sku(self, fba: FulfillmentNetwork, feature: str, seller_sku: str,
            marketplace_id: str = "") -> FeatureSkuEligibility:
        now = self.clock()
        key = (marketplace_id, feature, seller_sku)
        cached = self._skus.get(key)
        if cached is None or now - cached[0] >= self.sku_ttl:
            try:
                answer = fba.feature_sku(feature, seller_sku, marketplace_id)
            except NeedsAttentionError:  # Amazon refuses the question: not offered here
                answer = FeatureSkuEligibility(feature, seller_sku, False, (_NOT_OFFERED,))
            cached = self._skus[key] = (now, answer)
        return cached[1]


_answers: weakref.WeakKeyDictionary[FulfillmentNetwork, FeatureAnswers] = (
    weakref.WeakKeyDictionary())


def answers_for(fba: FulfillmentNetwork) -> FeatureAnswers:
    """The cache of this client (created on first use; it goes with the client)."""
    answers = _answers.get(fba)
    if answers is None:
        answers = _answers[fba] = FeatureAnswers()
    return answers


def unavailable(fba: FulfillmentNetwork, features: Iterable[str], seller_skus: Iterable[str],
                answers: FeatureAnswers | None = None,
                marketplace_id: str = "") -> list[Unavailable]:
    """Every (feature, SKU) Amazon cannot give in the order's marketplace ("": the
    client's own). A feature the marketplace does not offer, or the seller is not enrolled
    in, is named once, without asking about SKUs."""
    answers = answers or answers_for(fba)
    skus = list(dict.fromkeys(seller_skus))
    missing: list[Unavailable] = []
    for feature in features:
        offered = answers.offered(fba, marketplace_id)
        if feature not in offered:
            missing.append(Unavailable(feature, "", "not offered in this marketplace"))
            continue
        if not offered[feature]:
            missing.append(Unavailable(feature, "", "not enabled for the seller account "
                                                    "(not enrolled)"))
            continue
        for sku in skus:
            answer = answers.sku(fba, feature, sku, marketplace_id)
            if not answer.eligible:
                why = ", ".join(answer.reasons) or "not eligible"
                missing.append(Unavailable(feature, sku, why))
    return missing


@dataclass(frozen=True)
class Settled:
    """What to send, or None when the order is held for a person."""

    request: FulfillmentOrderRequest | None


def settle_features(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                    storefront: StorefrontConfig, order_id: int,
                    request: FulfillmentOrderRequest,
                    answers: FeatureAnswers | None = None) -> Settled:
    """The request to create for a claimed (`submitting`) order, with its features
    checked. Unavailable ones hold it (needs_attention `feature_unavailable`) or are
    dropped, per the storefront's policy; either way the ledger and the shop are told.
    TransientError from the checks propagates: nothing was sent."""
    wanted = tuple(name for name in dict.fromkeys((*request.features, *storefront.policy.features))
                   if name not in request.features_dropped)
    if not wanted:
        return Settled(request)
    missing = unavailable(fba, wanted, (item.seller_sku for item in request.items), answers,
                          request.marketplace_id)
    if not missing:
        return Settled(_saved(ledger, order_id, request, replace(request, features=wanted)))
    what = "; ".join(problem.sentence() for problem in missing[:5])
    if len(missing) > 5:
        what += f"; and {len(missing) - 5} more"
    if storefront.policy.when_feature_unavailable == "send_without":
        dropped = tuple(dict.fromkeys(problem.feature for problem in missing))
        kept = tuple(name for name in wanted if name not in dropped)
        final = replace(request, features=kept,
                        features_dropped=(*request.features_dropped, *dropped))
        message = (f"sent to Amazon without {', '.join(dropped)}: {what} "
                   "(the storefront sends without an option Amazon cannot give)")
        _saved(ledger, order_id, request, final, event=("feature_dropped", message), cart=cart)
        log.info("feature_dropped", order_id=order_id, features=",".join(dropped))
        return Settled(final)
    message = (f"not sent to Amazon: {what}; enable it in Seller Central or send stock to a "
               "center that offers it, then retry the order (or remove the option)")
    with ledger.transaction() as session:
        row = repo.existing_order(session, order_id, lock=True)
        if row.state != S.SUBMITTING:
            return Settled(None)  # settled meanwhile (the sweep, another worker)
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                        reason="feature_unavailable")
        repo.clear_stall(session, row, "held: an option Amazon cannot give")
        snapshot, name = row.snapshot, row.storefront
    if cart is not None:
        tell_merchant(cart, CartOrder.from_snapshot(snapshot), message, ledger=ledger,
                      storefront=name)
    log.warning("order_needs_attention", order_id=order_id, reason="feature_unavailable",
                detail=message)
    return Settled(None)


def _saved(ledger: Ledger, order_id: int, before: FulfillmentOrderRequest,
           after: FulfillmentOrderRequest, *, event: tuple[str, str] | None = None,
           cart: CartAdapter | None = None) -> FulfillmentOrderRequest:
    """`after` saved as the row's request (what a retry sends), with `event` recorded
    and told to the shop once."""
    if after == before and event is None:
        return after
    note = None
    with ledger.transaction() as session:
        row = repo.existing_order(session, order_id, lock=True)
        saved = after.to_json()
        pending = (row.request or {}).get(PENDING_EDIT)
        if pending is not None:  # a cart edit waits for Amazon to accept the order
            saved[PENDING_EDIT] = pending
        row.request = saved
        if event is not None and not repo.has_event(session, row.id, *event):
            repo.record_event(session, row.storefront, row.id, event[0], message=event[1])
            note = (row.snapshot, row.storefront, event[1])
    if note is not None and cart is not None:
        tell_merchant(cart, CartOrder.from_snapshot(note[0]), note[2], ledger=ledger,
                      storefront=note[1])
    return after
