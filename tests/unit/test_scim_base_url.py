"""The SCIM base URL is what Flask's url_root gives, for every kind of host and root."""

from __future__ import annotations

import copy

import pytest
from flask import Flask, request
from hypothesis import given
from hypothesis import strategies as st

from scim.flask_adapter import request_base_url
from scim.json_copy import copy_json

APP = Flask(__name__)


@pytest.mark.parametrize(
    ("base", "script_name"),
    [
        ("http://localhost/", ""),
        ("https://example.com:8443/", ""),
        ("http://h/", "/connector"),
        ("http://h/", "/connector/"),
        ("http://[::1]:8080/", ""),
        ("http://h/", "/caf%C3%A9"),  # percent-encoded root: url_root decodes it
        ("http://xn--bcher-kva.example/", ""),
    ],
)
def test_the_base_url_is_the_url_root_and_the_prefix(base: str, script_name: str) -> None:
    environ = {"SCRIPT_NAME": script_name} if script_name else {}
    with APP.test_request_context("/scim/v2/Users", base_url=base, environ_overrides=environ):
        expected = request.url_root.rstrip("/") + "/scim/v2"
        assert request_base_url("/scim/v2") == expected


def test_a_proxied_request_keeps_the_forwarded_scheme_and_host() -> None:
    environ = {"wsgi.url_scheme": "https", "HTTP_HOST": "idp-facing.example:443"}
    with APP.test_request_context("/scim/v2/Users", environ_overrides=environ):
        assert request_base_url("/scim/v2") == request.url_root.rstrip("/") + "/scim/v2"
        assert request_base_url("/scim/v2").startswith("https://idp-facing.example")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_a_json_copy_is_equal_and_shares_no_container(value: object) -> None:
    copied = copy_json(value)
    assert copied == copy.deepcopy(value)
    originals = {id(c) for c in _containers(value)}
    assert not originals & {id(c) for c in _containers(copied)}


def _containers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [value, *(c for item in value.values() for c in _containers(item))]
    if isinstance(value, list):
        return [value, *(c for item in value for c in _containers(item))]
    return []
