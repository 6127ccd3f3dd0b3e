import pytest

from bridge.domain.inbound import InboundInputError, check_address, parse_boxes, parse_items

US = "ATVPDKIKX0DER"
ADDRESS = {"name": "Ava Johnson", "addressLine1": "1200 Pine St", "city": "Seattle",
           "stateOrProvinceCode": "WA", "postalCode": "98101", "countryCode": "US",
           "phoneNumber": "2065550100"}


def problems_of(call, *args) -> list[str]:
    with pytest.raises(InboundInputError) as caught:
        call(*args)
    return caught.value.problems


def test_a_good_items_file_becomes_amazon_item_inputs():
    items = parse_items("sku,quantity,prep_owner,label_owner,expiration\n"
                        "MUG,24,none,seller,2027-01-31\nTEE,10,,,\n", US)
    assert [i.as_input() for i in items] == [
        {"msku": "MUG", "quantity": 24, "prepOwner": "NONE", "labelOwner": "SELLER", "expiration": "2027-01-31"},
        {"msku": "TEE", "quantity": 10, "prepOwner": "SELLER", "labelOwner": "SELLER"},
    ]


def test_every_bad_row_is_named():
    problems = problems_of(parse_items, "sku,quantity,label_owner,expiration\n"
                           "MUG,0,,\n,5,,\nMUG,3,,\nTEE,600000,AMAZON,31/01/2027\nCAP,x,BOTH,\n", US)
    assert "row 2: quantity '0' must be a whole number from 1 to 500000" in problems
    assert "row 3: no sku" in problems
    assert "row 4: sku MUG is listed again (first on row 2)" in problems
    assert any(p.startswith("row 5: quantity '600000'") for p in problems)
    assert "row 5: label_owner AMAZON is not accepted in this marketplace" in problems
    assert any(p.startswith("row 5: expiration") for p in problems)
    assert any(p.startswith("row 6: label_owner 'BOTH'") for p in problems)


def test_unknown_skus_are_named_when_amazons_catalogue_is_known():
    problems = problems_of(parse_items, "sku,quantity\nMUG,1\nNEW-1,2\n", US, {"MUG"})
    assert problems == ["row 3: sku NEW-1 is unknown to Amazon (no FBA listing or inventory record)"]


def test_too_many_items():
    text = "sku,quantity\n" + "".join(f"S{i},1\n" for i in range(2001))
    assert "the items file has 2001 rows; Amazon accepts at most 2000" in problems_of(parse_items, text, US)


def test_boxes_must_hold_exactly_the_items():
    items = parse_items("sku,quantity\nMUG,24\nTEE,10\n", US)
    boxes = parse_boxes("box,count,length,width,height,weight,sku,units\n"
                        "A,2,12,10,8,9.5,MUG,12\nB,1,14,12,6,4,TEE,10\n", items)
    assert [(b.label, b.count, b.contents) for b in boxes] == [("A", 2, {"MUG": 12}), ("B", 1, {"TEE": 10})]
    problems = problems_of(parse_boxes, "box,count,length,width,height,weight,sku,units\n"
                           "A,2,12,10,0,9.5,MUG,10\nB,1,14,12,6,4,CAP,1\n", items)
    assert "row 2: height '0' must be a number above 0" in problems
    assert "row 3: sku 'CAP' is not in the items file" in problems
    assert "sku MUG: the boxes hold 20 units, the items file sends 24" in problems
    assert "sku TEE: the boxes hold 0 units, the items file sends 10" in problems


def test_ship_from_address_limits():
    assert check_address(ADDRESS)["countryCode"] == "US"
    problems = problems_of(check_address, {**ADDRESS, "city": "C" * 31, "countryCode": "usa",
                                           "phoneNumber": "", "fax": "1"})
    assert "ship-from address: city is longer than 30 characters" in problems
    assert "ship-from address: countryCode 'usa' must be two capital letters" in problems
    assert "ship-from address: phoneNumber is required" in problems
    assert "ship-from address: unknown field fax" in problems
