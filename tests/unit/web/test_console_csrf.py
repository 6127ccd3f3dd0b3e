"""The console's signed double-submit CSRF tokens."""

from __future__ import annotations

from bridge.web.console.csrf import CsrfTokens


def test_a_form_token_equal_to_its_signed_cookie_is_accepted():
    tokens = CsrfTokens(b"k" * 32)
    token = tokens.new()
    assert tokens.accept(token, token)


def test_missing_different_or_unsigned_tokens_are_refused():
    tokens = CsrfTokens(b"k" * 32)
    token, other = tokens.new(), tokens.new()
    assert not tokens.accept(token, None)
    assert not tokens.accept(None, token)
    assert not tokens.accept(token, other)
    # A cookie planted by someone else carries no signature of this key.
    foreign = CsrfTokens(b"x" * 32).new()
    assert not tokens.accept(foreign, foreign)
    assert not tokens.accept("plain", "plain")
    assert not tokens.accept(".", ".")
