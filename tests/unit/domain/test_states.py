import itertools

import pytest

from bridge.domain.states import (
    REOPENED_BY_THE_CART,
    TERMINAL,
    IllegalTransition,
    check_transition,
)
from bridge.domain.states import (
    OrderState as S,
)


def test_the_happy_path_is_allowed():
    path = [S.RECEIVED, S.READY, S.SUBMITTING, S.ACCEPTED, S.PROCESSING, S.SHIPPED, S.COMPLETE]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)


@pytest.mark.parametrize("current, target", [
    (S.READY, S.ACCEPTED),            # never accepted without a submission
    (S.SUBMIT_UNKNOWN, S.CANCELLED),  # an unknown outcome must be read back first
    (S.COMPLETE, S.RECEIVED),
    (S.CANCELLED, S.READY),
])
def test_impossible_moves_are_refused(current, target):
    with pytest.raises(IllegalTransition):
        check_transition(current, target)


def test_terminal_states_lead_nowhere_but_where_the_cart_reopens_them():
    for state in TERMINAL:
        for target in S:
            if target in REOPENED_BY_THE_CART.get(state, ()):
                check_transition(state, target)
                continue
            with pytest.raises(IllegalTransition):
                check_transition(state, target)


def test_a_paid_order_with_nothing_to_ship_is_ignored_until_the_cart_changes_it():
    check_transition(S.RECEIVED, S.IGNORED)
    check_transition(S.IGNORED, S.RECEIVED)   # a line to ship was added
    check_transition(S.IGNORED, S.CANCELLED)  # cancelled in the cart
    for target in (S.READY, S.SUBMITTING, S.NEEDS_ATTENTION, S.ACCEPTED):
        with pytest.raises(IllegalTransition):
            check_transition(S.IGNORED, target)


def test_a_complete_order_cancelled_in_the_cart_needs_a_person():
    check_transition(S.COMPLETE, S.NEEDS_ATTENTION)
    assert REOPENED_BY_THE_CART[S.COMPLETE] == {S.NEEDS_ATTENTION}


def test_only_a_received_order_can_be_ignored():
    for state in S:
        if state in (S.RECEIVED, S.IGNORED):
            continue
        with pytest.raises(IllegalTransition):
            check_transition(state, S.IGNORED)
