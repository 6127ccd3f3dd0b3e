import pytest

from bridge.domain.states import IllegalTransition, OrderState as S, TERMINAL, check_transition


def test_the_happy_path_is_allowed():
    path = [S.RECEIVED, S.READY, S.SUBMITTING, S.ACCEPTED, S.PROCESSING, S.SHIPPED, S.COMPLETE]
    for current, target in zip(path, path[1:]):
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


def test_terminal_states_lead_nowhere():
    for state in TERMINAL:
        for target in S:
            with pytest.raises(IllegalTransition):
                check_transition(state, target)
