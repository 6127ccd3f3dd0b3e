"""What Amazon takes in a fulfillment order, as data: the lengths the Fulfillment Outbound
2020-07-01 model states, conservative lengths where it is silent, the earliest order date,
and the ISO 3166-1 alpha-2 codes that exist. Bridge's mapping and the simulator both read
these, so an order bridge lets through is one the simulator accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# Stated by the model (CreateFulfillmentOrderRequest, CreateFulfillmentOrderItem,
# NotificationEmailList).
MAX_SELLER_FULFILLMENT_ORDER_ID = 40
MAX_DISPLAYABLE_ID = 40
MAX_COMMENT = 750
MAX_SELLER_SKU = 50
MAX_ITEM_ID = 50
MAX_EMAIL = 64
MAX_LINES = 100          # "Maximum of 100 line items ..." in the model's description
MAX_UNITS = 250          # "... with a maximum of 250 units per order"

# The model gives Address fields no maxLength. These are the FBA (MWS-era) Address limits:
# nothing downstream (label printing, carriers) has refused an address within them.
ADDRESS_LIMITS: dict[str, int] = {
    "name": 50,
    "addressLine1": 60,
    "addressLine2": 60,
    "addressLine3": 60,
    "city": 50,
    "districtOrCounty": 150,
    "stateOrRegion": 150,
    "postalCode": 20,
    "countryCode": 2,
    "phone": 20,
}

# Words for the merchant, per Address field.
ADDRESS_LABELS: dict[str, str] = {
    "name": "name",
    "addressLine1": "address line 1",
    "addressLine2": "address line 2",
    "addressLine3": "address line 3",
    "city": "city",
    "districtOrCounty": "district or county",
    "stateOrRegion": "state or region",
    "postalCode": "postal code",
    "countryCode": "country code",
    "phone": "phone",
}

# An order dated before this is a placeholder or a broken import, not a sale.
EARLIEST_ORDER_DATE = datetime(2000, 1, 1, tzinfo=UTC)
# How far ahead of the receiver's clock an order date may be (time zones, clock skew).
MAX_ORDER_DATE_AHEAD = timedelta(days=1)

# ISO 3166-1 alpha-2, officially assigned codes. User-assigned (XX, ZZ, AA, QM-QZ, XA-XZ)
# and reserved codes (UK, EU, ...) are not countries Amazon ships to.
COUNTRY_CODES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())


# C0 (NUL included), DEL and C1: characters no label, packing slip or mail header takes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_control(char: str) -> bool:
    return _CONTROL.fullmatch(char) is not None


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None
