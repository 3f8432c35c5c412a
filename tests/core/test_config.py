"""Settings refuse what would silently weaken production: unknown environment names, weak secrets."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.core.config import DEVELOPMENT_JWT_SECRET, PROJECT_ROOT, Settings

STRONG = "q7Jk2mZ9vR4tX8wL1nB6cF3hD5gS0pYe"  # 32 bytes, varied
AUDIT_KEY = "audit-" + "k3Y9" * 8  # production also needs the audit key (tests/core/test_audit.py)


@pytest.mark.parametrize("name", ["prod", "Production", "PRODUCTION", "staging", "dev", ""])
def test_unknown_environment_names_are_refused(name):
    with pytest.raises(ValidationError):
        Settings(environment=name, jwt_secret=STRONG, audit_hmac_key=AUDIT_KEY)


@pytest.mark.parametrize("name", ["development", "test", "production"])
def test_known_environment_names_are_accepted(name):
    assert Settings(environment=name, jwt_secret=STRONG, audit_hmac_key=AUDIT_KEY).environment == name


@pytest.mark.parametrize("secret", [
    None, "x", "a" * 31, DEVELOPMENT_JWT_SECRET, "x" * 64, "abababababababababababababababab",
])
def test_production_refuses_a_missing_short_or_weak_jwt_secret(secret):
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret=secret, audit_hmac_key=AUDIT_KEY)


def test_production_accepts_a_strong_jwt_secret():
    settings = Settings(environment="production", jwt_secret=STRONG, audit_hmac_key=AUDIT_KEY)
    assert settings.signing_key() == STRONG


def test_development_still_runs_without_a_secret():
    assert Settings(environment="development", jwt_secret=None).signing_key() == DEVELOPMENT_JWT_SECRET


def test_the_app_refuses_to_start_on_an_unknown_environment():
    env = {**os.environ, "ENVIRONMENT": "prod"}
    env.pop("JWT_SECRET", None)
    result = subprocess.run([sys.executable, "-c", "from app.main import create_app; create_app()"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "environment" in result.stderr
