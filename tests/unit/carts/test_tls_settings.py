"""`[cart] ca_bundle` and `[cart] verify` for every HTTP adapter: both keys accepted, a
CA file that cannot be used and certificate checks off for a public shop refused, and
the built adapter's HTTP edge carrying the bundle."""

from __future__ import annotations

import os

import pytest

from bridge.carts.bigcommerce import BigCommerceAdapter
from bridge.carts.magento import MagentoAdapter
from bridge.carts.shopify.adapter import ShopifyAdapter
from bridge.carts.woocommerce import WooCommerceAdapter

# (adapter, a valid public table, the URL key, a loopback URL for it)
PLATFORMS = {
    "shopify": (ShopifyAdapter,
                {"platform": "shopify", "shop": "my-shop.myshopify.com",
                 "access_token": "env:TLS_TEST_TOKEN", "location_id": 1},
                "shop", "http://127.0.0.1:8443"),
    "woocommerce": (WooCommerceAdapter,
                    {"platform": "woocommerce", "url": "https://shop.example.com",
                     "consumer_key": "env:TLS_TEST_KEY", "consumer_secret": "env:TLS_TEST_SECRET"},
                    "url", "https://localhost:8443"),
    "bigcommerce": (BigCommerceAdapter,
                    {"platform": "bigcommerce", "store_hash": "abc123",
                     "access_token": "env:TLS_TEST_TOKEN"},
                    "api_base", "https://[::1]:8443/stores/{store_hash}"),
    "magento": (MagentoAdapter,
                {"platform": "magento", "url": "https://shop.example.com",
                 "access_token": "env:TLS_TEST_TOKEN"},
                "url", "https://127.0.0.2"),
}
SECRETS = {"env:TLS_TEST_TOKEN": "tok-123", "env:TLS_TEST_KEY": "ck_123", "env:TLS_TEST_SECRET": "cs_123"}


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request):
    return PLATFORMS[request.param]


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / "shop-ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    return path


def problems(platform, **changes):
    cls, settings, _key, _loopback = platform
    return dict(cls.check_settings({**settings, **changes}))


def test_the_valid_tables_have_no_problems(platform):
    assert problems(platform) == {}


def test_a_readable_ca_bundle_is_accepted(platform, bundle):
    assert problems(platform, ca_bundle=str(bundle)) == {}


def test_verify_true_is_accepted(platform):
    assert problems(platform, verify=True) == {}


def test_a_missing_ca_bundle_is_refused(platform, tmp_path):
    what = problems(platform, ca_bundle=str(tmp_path / "nope.pem"))["ca_bundle"]
    assert "does not exist" in what and "PEM" in what


def test_a_directory_is_not_a_ca_bundle(platform, tmp_path):
    assert "does not exist or is not a file" in problems(platform, ca_bundle=str(tmp_path))["ca_bundle"]


def test_an_unreadable_ca_bundle_is_refused(platform, bundle, monkeypatch):
    # chmod alone proves nothing where the tests run as root, who reads any file.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != str(bundle) and real_access(path, mode))
    assert "cannot be read" in problems(platform, ca_bundle=str(bundle))["ca_bundle"]


def test_a_relative_ca_bundle_is_refused(platform):
    assert "absolute path" in problems(platform, ca_bundle="certs/ca.pem")["ca_bundle"]


@pytest.mark.parametrize("value", ["", 1, ["a.pem"]])
def test_a_ca_bundle_that_is_no_path_is_refused(platform, value):
    assert "PEM file" in problems(platform, ca_bundle=value)["ca_bundle"]


def test_verify_must_be_a_boolean(platform):
    assert problems(platform, verify="no")["verify"] == "must be true or false"


def test_verify_false_is_refused_for_a_public_shop(platform):
    what = problems(platform, verify=False)["verify"]
    assert "loopback" in what and "use ca_bundle instead" in what


def test_verify_false_is_accepted_on_the_loopback(platform):
    _cls, _settings, key, loopback = platform
    assert problems(platform, verify=False, **{key: loopback}) == {}


def test_the_built_adapter_trusts_the_bundle(platform, bundle):
    cls, settings, _key, _loopback = platform
    adapter = cls.from_settings({**settings, "ca_bundle": str(bundle)}, SECRETS.__getitem__)
    try:
        assert adapter.http.verify == str(bundle)
        assert adapter.http.session.verify == str(bundle)
    finally:
        adapter.close()


def test_the_built_adapter_verifies_by_default(platform):
    cls, settings, _key, _loopback = platform
    adapter = cls.from_settings(settings, SECRETS.__getitem__)
    try:
        assert adapter.http.verify is True
    finally:
        adapter.close()


def test_the_built_adapter_skips_checks_on_the_loopback(platform):
    cls, settings, key, loopback = platform
    adapter = cls.from_settings({**settings, key: loopback, "verify": False}, SECRETS.__getitem__)
    try:
        assert adapter.http.verify is False
    finally:
        adapter.close()
