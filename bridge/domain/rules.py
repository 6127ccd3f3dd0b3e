"""A storefront's order rules: which orders wait for a person's approval, which are never
sent to Amazon, and which are sent with other options. Read at ingest, for every order
that is mapped (a new one, and one the cart changed before Amazon had it). Pure: no I/O.

A rule is a name, an action and conditions. Every condition given must match (AND); a
condition listing several values matches any of them (OR). A rule without conditions is
refused by `rule_problems` (hold every order with `[approval] all_orders` instead).

- `exclude`: the order is never sent (the first matching exclude rule names it);
- `hold`: the order waits for `bridge orders approve`; every matching hold rule counts;
- `override`: the order is sent with another fulfillment policy, shipping speed and/or
  Amazon features; for the policy and the speed the first matching rule that sets one
  wins, features add up.

Exclusion wins over holds: an excluded order is never sent, so approving it means nothing.
Besides the rules, a storefront may hold every order (`all_orders`) and holds an order
whose payment is only authorized when authorized orders do not ship (`awaiting_capture`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bridge.domain.limits import COUNTRY_CODES
from bridge.domain.mapping import FEATURE_NAMES
from bridge.domain.model import CartOrder, PaymentStatus, RiskLevel

HOLD, EXCLUDE, OVERRIDE = "hold", "exclude", "override"
ACTIONS = (HOLD, EXCLUDE, OVERRIDE)

# Amazon's featureConstraints bridge knows how to ask for: the same as the storefront's.
FEATURES = FEATURE_NAMES
SPEEDS = ("Standard", "Expedited", "Priority", "ScheduledDelivery")
POLICIES = ("FillOrKill", "FillAll", "FillAllAvailable")
# Payment states an order may ship in; a captured (paid) order always does.
SHIPPABLE_PAYMENTS = (PaymentStatus.PAID, PaymentStatus.AUTHORIZED, PaymentStatus.ON_DELIVERY)
RISK_LEVELS = {RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}

# Hold reasons that are not a rule's name; a rule may not be called one of these.
ALL_ORDERS = "all_orders"             # `[approval] all_orders = true`
AWAITING_CAPTURE = "awaiting_capture"  # authorized only, and authorized orders do not ship
# Paid at the door, and such orders do not ship: Amazon's carriers collect no money.
CASH_ON_DELIVERY = "cash_on_delivery"
MANUAL = "manual"                      # `bridge orders hold`
RESERVED_NAMES = frozenset({ALL_ORDERS, AWAITING_CAPTURE, CASH_ON_DELIVERY, MANUAL})
MAX_NAME = 40


@dataclass(frozen=True)
class Conditions:
    total_over: Decimal | None = None  # the order's total is greater than this
    currency: str = ""                 # with total_over: only totals in this currency
    tags: tuple[str, ...] = ()         # the order has one of these tags (any case)
    countries: tuple[str, ...] = ()    # it ships to one of these ISO 3166-1 countries
    skus: tuple[str, ...] = ()         # one of its lines has one of these shop SKUs
    customer_note: bool | None = None  # the customer left a note (True) or none (False)
    risk_at_least: str = ""            # the platform's risk level is at least this

    @property
    def empty(self) -> bool:
        return self == Conditions()

    def matches(self, order: CartOrder) -> bool:
        return all(check(order) for check in self._checks())

    def _checks(self) -> list[Callable[[CartOrder], bool]]:
        checks: list[Callable[[CartOrder], bool]] = []
        if self.total_over is not None:
            checks.append(self._total_matches)
        if self.tags:
            wanted = {tag.casefold() for tag in self.tags}
            checks.append(lambda order: any(tag.strip().casefold() in wanted for tag in order.tags))
        if self.countries:
            checks.append(lambda order: order.address is not None
                          and order.address.country_code.strip().upper() in self.countries)
        if self.skus:
            checks.append(lambda order: any(line.sku.strip() in self.skus for line in order.lines))
        if self.customer_note is not None:
            checks.append(lambda order: bool(order.customer_note.strip()) is self.customer_note)
        if self.risk_at_least:
            least = RISK_LEVELS[self.risk_at_least]
            checks.append(lambda order: RISK_LEVELS.get(order.risk, 0) >= least)
        return checks

    def _total_matches(self, order: CartOrder) -> bool:
        # An order whose total the shop did not give (or in another currency) is not over it.
        if self.currency and order.currency.upper() != self.currency:
            return False
        total = _decimal(order.total)
        return total is not None and self.total_over is not None and total > self.total_over

    def describe(self) -> str:
        parts = []
        if self.total_over is not None:
            parts.append(f"total over {self.total_over}{' ' + self.currency if self.currency else ''}")
        if self.tags:
            parts.append("tag " + " or ".join(self.tags))
        if self.countries:
            parts.append("ships to " + " or ".join(self.countries))
        if self.skus:
            parts.append("SKU " + " or ".join(self.skus))
        if self.customer_note is not None:
            parts.append("a customer note" if self.customer_note else "no customer note")
        if self.risk_at_least:
            parts.append(f"risk {self.risk_at_least} or higher")
        return ", ".join(parts)


@dataclass(frozen=True)
class Overrides:
    fulfillment_policy: str = ""
    shipping_speed: str = ""
    features: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self == Overrides()

    def then(self, later: Overrides) -> Overrides:
        """These, with what `later` adds: a field set here stays, features add up."""
        return Overrides(
            self.fulfillment_policy or later.fulfillment_policy,
            self.shipping_speed or later.shipping_speed,
            tuple(dict.fromkeys((*self.features, *later.features))),
        )


@dataclass(frozen=True)
class Rule:
    name: str
    action: str
    when: Conditions = field(default_factory=Conditions)
    overrides: Overrides = field(default_factory=Overrides)

    def applies_to(self, order: CartOrder) -> bool:
        return not self.when.empty and self.when.matches(order)


@dataclass(frozen=True)
class RuleBook:
    """A storefront's rules in file order, with its approval settings."""

    rules: tuple[Rule, ...] = ()
    hold_all: bool = False
    ship_payments: tuple[str, ...] = (PaymentStatus.PAID,)


@dataclass(frozen=True)
class Hold:
    """Why an order waits: `reason` is a rule's name or one of RESERVED_NAMES."""

    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    holds: tuple[Hold, ...] = ()
    exclude: Rule | None = None
    overrides: Overrides = field(default_factory=Overrides)
    override_rules: tuple[str, ...] = ()  # the override rules that matched, in order

    @property
    def hold(self) -> Hold | None:
        return self.holds[0] if self.holds else None

    @property
    def hold_reasons(self) -> tuple[str, ...]:
        return tuple(hold.reason for hold in self.holds)

    def pending(self, approved: Collection[str]) -> tuple[Hold, ...]:
        """The holds a person has not approved yet."""
        return tuple(hold for hold in self.holds if hold.reason not in approved)


def evaluate(book: RuleBook, order: CartOrder) -> Decision:
    exclude = next((rule for rule in book.rules
                    if rule.action == EXCLUDE and rule.applies_to(order)), None)
    holds: list[Hold] = []
    if book.hold_all:
        holds.append(Hold(ALL_ORDERS, "every order of this storefront waits for approval"))
    if (not order.paid and order.payment_status == PaymentStatus.AUTHORIZED
            and PaymentStatus.AUTHORIZED not in book.ship_payments):
        holds.append(Hold(AWAITING_CAPTURE, "the payment is authorized, not captured; it ships "
                          "once the shop shows it paid (or when approved)"))
    if (not order.paid and order.payment_status == PaymentStatus.ON_DELIVERY
            and PaymentStatus.ON_DELIVERY not in book.ship_payments):
        holds.append(Hold(CASH_ON_DELIVERY, "it is to be paid on delivery and Amazon's carriers "
                          "collect no money; approve it to ship it anyway"))
    overrides, override_rules = Overrides(), []
    for rule in book.rules:
        if rule.action == EXCLUDE or not rule.applies_to(order):
            continue
        if rule.action == HOLD:
            holds.append(Hold(rule.name, f"rule {rule.name!r} holds it ({rule.when.describe()})"))
        else:
            overrides = overrides.then(rule.overrides)
            override_rules.append(rule.name)
    return Decision(tuple(holds), exclude, overrides, tuple(override_rules))


def rule_problems(rule: Rule) -> list[tuple[str, str]]:
    """(key, reason) for each thing wrong with one rule, all of them."""
    problems: list[tuple[str, str]] = []
    if not rule.name.strip():
        problems.append(("name", "a rule needs a name (it is recorded on every order it decides)"))
    elif len(rule.name) > MAX_NAME:
        problems.append(("name", f"at most {MAX_NAME} characters"))
    elif rule.name in RESERVED_NAMES:
        problems.append(("name", f"{rule.name!r} is a hold reason of bridge's own; pick another name"))
    if rule.action not in ACTIONS:
        problems.append(("action", f"{rule.action!r} is not one of {', '.join(ACTIONS)}"))
    when = rule.when
    if when.empty:
        problems.append(("-", "a rule needs at least one condition (to hold every order, set "
                              "[approval] all_orders = true)"))
    if when.total_over is not None and when.total_over < 0:
        problems.append(("total_over", "must not be negative"))
    if when.currency and (len(when.currency) != 3 or not when.currency.isalpha()):
        problems.append(("currency", f"{when.currency!r} is not an ISO 4217 code"))
    if when.currency and when.total_over is None:
        problems.append(("currency", "only means something with total_over"))
    for country in when.countries:
        if country not in COUNTRY_CODES:
            problems.append(("countries", f"{country!r} is not an ISO 3166-1 country code"))
    if when.risk_at_least and when.risk_at_least not in RISK_LEVELS:
        problems.append(("risk_at_least", f"{when.risk_at_least!r} is not one of "
                                          + ", ".join(RISK_LEVELS)))
    over = rule.overrides
    if rule.action == OVERRIDE and over.empty:
        problems.append(("-", "an override rule needs fulfillment_policy, shipping_speed or features"))
    if rule.action != OVERRIDE and not over.empty:
        problems.append(("action", "fulfillment_policy, shipping_speed and features go with "
                                   "action = \"override\""))
    if over.fulfillment_policy and over.fulfillment_policy not in POLICIES:
        problems.append(("fulfillment_policy", f"{over.fulfillment_policy!r} is not one of "
                                               + ", ".join(POLICIES)))
    if over.shipping_speed and over.shipping_speed not in SPEEDS:
        problems.append(("shipping_speed", f"{over.shipping_speed!r} is not one of " + ", ".join(SPEEDS)))
    for feature in over.features:
        if feature not in FEATURES:
            problems.append(("features", f"{feature!r} is not one of " + ", ".join(FEATURES)))
    return problems


def book_problems(book: RuleBook) -> list[tuple[str, str]]:
    """(key, reason) for everything wrong in a storefront's rules; keys name the rule's
    index as the file does (`rules.2.countries`)."""
    problems = [(f"rules.{index}.{key}" if key != "-" else f"rules.{index}", reason)
                for index, rule in enumerate(book.rules)
                for key, reason in rule_problems(rule)]
    names = [rule.name for rule in book.rules]
    for name in sorted({name for name in names if names.count(name) > 1}):
        problems.append(("rules", f"rule name {name!r} is used twice"))
    for payment in book.ship_payments:
        if payment not in SHIPPABLE_PAYMENTS:
            problems.append(("approval.ship_payment", f"{payment!r} is not one of "
                                                      + ", ".join(SHIPPABLE_PAYMENTS)))
    if PaymentStatus.PAID not in book.ship_payments:
        problems.append(("approval.ship_payment", "a paid order always ships: list \"paid\" "
                                                  "(add \"authorized\" to ship authorized orders too)"))
    return problems


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None
