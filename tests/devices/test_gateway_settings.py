"""Which gateway the settings pick, and what they refuse: Traccar needs its URL and token; a production
gateway needs a real callback secret; production without a gateway has none (commands fail, told)."""

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.devices import gateway

STRONG = "q7Jk2mZ9vR4tX8wL1nB6cF3hD5gS0pYe"
PRODUCTION = {"environment": "production", "jwt_secret": STRONG, "audit_hmac_key": "audit-" + "k3Y9" * 8}


def test_traccar_needs_its_url_and_token():
    with pytest.raises(ValidationError, match="DEVICE_GATEWAY_URL"):
        Settings(device_gateway="traccar", device_gateway_url="https://gps.example.com")
    assert Settings(device_gateway="traccar", device_gateway_url="https://gps.example.com",
                    device_gateway_token="t").device_gateway == "traccar"


def test_a_production_gateway_needs_a_real_callback_secret():
    traccar = {"device_gateway": "traccar", "device_gateway_url": "https://gps.example.com",
               "device_gateway_token": "t"}
    with pytest.raises(ValidationError, match="DEVICE_CALLBACK_SECRET"):
        Settings(**PRODUCTION, **traccar)
    with pytest.raises(ValidationError, match="DEVICE_CALLBACK_SECRET"):
        Settings(**PRODUCTION, **traccar, device_callback_secret="short")
    assert Settings(**PRODUCTION, **traccar, device_callback_secret=STRONG).device_callback_key() == STRONG.encode()


def test_the_configured_traccar_is_the_gateway_and_production_without_one_has_none(monkeypatch):
    monkeypatch.setattr(gateway, "get_settings", lambda: Settings(
        device_gateway="traccar", device_gateway_url="https://gps.example.com/", device_gateway_token="t"))
    picked = gateway._from_settings()
    assert isinstance(picked, gateway.TraccarGateway) and picked.base_url == "https://gps.example.com"
    monkeypatch.setattr(gateway, "get_settings", lambda: Settings(**PRODUCTION))
    assert gateway._from_settings() is None
