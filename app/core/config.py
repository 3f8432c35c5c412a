"""Settings, read from the environment only (prefix-free names, documented in README)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: str = Field("development", description="development | test | production")
    database_url: str | None = None
    # The app connects as a role that may not UPDATE/DELETE append-only tables (audit trail);
    # migrations run as the tables' owner: DATABASE_OWNER_URL, or DATABASE_URL when unset.
    database_owner_url: str | None = None
    database_app_role: str = Field("recourse_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Keys the audit hash chain (HMAC-SHA256); kept outside the database, >= 32 bytes.
    audit_hmac_key: SecretStr | None = None
    data_dir: Path = PROJECT_ROOT / ".data"

    # JWT: HS256 with JWT_SECRET, or RS256 with a PEM key pair. Production has no default secret.
    jwt_algorithm: str = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_private_key: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "recourse"
    jwt_audience: str = "recourse-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_days: int = 30

    login_max_failures_per_day: int = 10
    idempotency_ttl_hours: int = 24
    urge_interval_seconds: int = 3600

    max_json_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024

    default_timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # Periodic jobs (pool sweep, purges) inside the app; turn off where cron runs scripts/run-job.
    run_scheduler: bool = True
    db_pool_size: int = 10
    db_max_overflow: int = 10

    @model_validator(mode="after")
    def _secrets_required_in_production(self) -> "Settings":
        if self.jwt_algorithm not in ("HS256", "RS256"):
            raise ValueError("JWT_ALGORITHM must be HS256 or RS256")
        if self.environment == "production":
            if self.jwt_algorithm == "HS256" and not self.jwt_secret:
                raise ValueError("JWT_SECRET is required in production")
            if self.jwt_algorithm == "RS256" and not (self.jwt_private_key and self.jwt_public_key):
                raise ValueError("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are required for RS256")
        return self

    @model_validator(mode="after")
    def _audit_key_rules(self) -> "Settings":
        if self.audit_hmac_key is not None and len(self.audit_hmac_key.get_secret_value().encode()) < 32:
            raise ValueError("AUDIT_HMAC_KEY must be at least 32 bytes")
        if self.environment == "production" and self.audit_hmac_key is None:
            raise ValueError("AUDIT_HMAC_KEY is required in production")
        return self

    def audit_key(self) -> bytes:
        if self.audit_hmac_key is not None:
            return self.audit_hmac_key.get_secret_value().encode()
        # Development and tests only (production refuses to start without a key).
        return b"recourse-development-audit-key-not-for-production"

    def signing_key(self) -> str:
        if self.jwt_algorithm == "RS256":
            assert self.jwt_private_key is not None
            return self.jwt_private_key.get_secret_value()
        if self.jwt_secret:
            return self.jwt_secret.get_secret_value()
        # Development and tests only (production refuses to start without a secret).
        return "recourse-development-secret-not-for-production"

    def verifying_key(self) -> str:
        if self.jwt_algorithm == "RS256":
            assert self.jwt_public_key is not None
            return self.jwt_public_key
        return self.signing_key()


@lru_cache
def get_settings() -> Settings:
    return Settings()
