"""Settings, read from the environment only (prefix-free names, documented in README)."""

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Signs tokens in development and tests only; production refuses it (and any other weak secret).
DEVELOPMENT_JWT_SECRET = "recourse-development-secret-not-for-production"
MIN_JWT_SECRET_BYTES = 32  # HS256 keys shorter than the hash output weaken it (RFC 7518 section 3.2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # Only known names: a typo such as "prod" must not start a production server on development
    # defaults (the development JWT secret); pydantic refuses anything else at startup.
    environment: Literal["development", "test", "production"] = "development"
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

    # Lockout: failures from this many *different* addresses in one business day lock the account
    # (see app/auth/throttle.py for why addresses, not attempts, are counted).
    login_max_failures_per_day: int = Field(10, ge=1)
    # Throttle in front of the lockout: failed logins per window before 429 + Retry-After.
    login_throttle_window_seconds: int = Field(15 * 60, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    login_max_failures_per_username: int = Field(10, ge=1)
    login_max_failures_per_username_address: int = Field(5, ge=1)
    # Password hashes (argon2, CPU bound) verified at once per worker; default one per core.
    # Logins beyond that wait in a queue of at most `login_hash_queue`, then get 429.
    login_hash_concurrency: int | None = Field(None, ge=1)
    login_hash_queue: int = Field(32, ge=0)
    # argon2id for new and rehashed passwords. OWASP's minimum (m=19 MiB, t=2, p=1) costs ~20 ms of
    # one core per hash; a stored hash with other parameters is rehashed at its next login.
    password_argon2_memory_kib: int = Field(19456, ge=8)
    password_argon2_time_cost: int = Field(2, ge=1)
    password_argon2_parallelism: int = Field(1, ge=1)
    # Resolved principals (and verified access tokens) kept per worker; checked on every request.
    principal_cache_size: int = Field(4096, ge=1)
    idempotency_ttl_hours: int = 24
    urge_interval_seconds: int = 3600
    # The field sync: how long tombstones are kept (an older cursor answers 410 and the phone starts
    # over with a full snapshot), and the most records one sync page carries.
    sync_retention_days: int = Field(30, ge=1)
    sync_page_size: int = Field(500, ge=10, le=5000)

    max_json_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    # Attachments' bytes: under DATA_DIR/attachments by default; in this S3-compatible bucket when set
    # (credentials and region from the usual AWS_* variables; an endpoint URL for MinIO, Ceph, OSS...).
    attachments_s3_bucket: str | None = None
    attachments_s3_endpoint_url: str | None = None
    attachments_s3_prefix: str = "attachments/"

    default_timezone: str = "Asia/Shanghai"
    # Contract terms: the highest annual rate a contract may carry (ledger.md; 0.24 = 24 %).
    max_annual_rate: Decimal = Field(Decimal("0.24"), ge=0, le=1)
    log_level: str = "INFO"
    # Periodic jobs (pool sweep, purges) inside the app; turn off where cron runs scripts/run-job.
    run_scheduler: bool = True
    # The durable queue (core.queue): a job whose worker stopped beating this long is re-picked.
    queue_heartbeat_seconds: float = Field(30, gt=0)
    queue_log_retention_days: int = Field(14, ge=1)
    # Webhooks: plain http to loopback addresses is refused unless this is on (tests, local work).
    webhooks_allow_loopback: bool = False
    webhook_timeout_seconds: float = Field(10, gt=0, le=60)
    # Messages to customers: "console" logs SMS instead of sending them (the default until a
    # provider's adapter is configured); e-mail goes through SMTP when SMTP_HOST is set.
    sms_provider: Literal["console"] = "console"
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_sender: str = "noreply@recourse.example"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # PostgreSQL's plan_cache_mode for the app's connections (auto, force_custom_plan,
    # force_generic_plan); unset: the server's, normally `auto`, which the hot lists are built for
    # (core/hotsql.py `opaque_parameters`). Every statement here is a prepared statement.
    db_plan_cache_mode: Literal["auto", "force_custom_plan", "force_generic_plan"] | None = None
    # Server processes for `serve` (each its own event loop and pool); default one per CPU core.
    web_workers: int | None = Field(None, ge=1)

    # Remote lock/unlock (app/devices). DEVICE_GATEWAY picks the provider: `traccar` (URL + token) or
    # `simulator` (DEVICE_GATEWAY_URL of a running scripts/device-simulator, else one started in-process
    # on a loopback port). Unset: the simulator outside production, no gateway in production.
    device_gateway: Literal["traccar", "simulator"] | None = None
    device_gateway_url: str | None = None
    device_gateway_token: SecretStr | None = None
    device_gateway_timeout_seconds: float = Field(10.0, gt=0)
    # Signs the gateway's callbacks (HMAC-SHA256 over timestamp + raw body); shared with the provider.
    device_callback_secret: SecretStr | None = None
    # Where the in-process simulator posts its callbacks (`serve` sets it from its host and port).
    device_callback_url: str | None = None
    device_simulator_ack_seconds: float = Field(2.0, ge=0)
    # A command not acknowledged within this time expires and its requester is told.
    device_command_ttl_hours: float = Field(24, gt=0)
    # A lock waits while the machine's last reported speed is above this (km/h).
    device_max_lock_speed_kmh: Decimal = Field(Decimal("5"), ge=0)
    # ... judged on a report no older than this: an unknown or stale speed keeps a lock waiting.
    device_max_position_age_seconds: int = Field(300, ge=1)
    # A report dated further ahead of the server's clock is kept but never taken as the latest.
    device_max_clock_skew_seconds: int = Field(600, ge=0)
    # Stock Traccar's position and event forwarding authenticate with this value in the header
    # `X-Recourse-Gateway-Key` (Traccar's `forward.header` / `event.forward.header`); unset: refused.
    device_traccar_forward_secret: SecretStr | None = None
    # A promise to pay may fall at most this many days after the business date (it holds tow and lock).
    promise_max_days: int = Field(90, ge=1, le=3650)
    # A tow request (拖机申请) needs the contract this many days past due (seed 000: "逾期超过一定期限"),
    # unless its company sets its own (`company.tow_min_dpd`) or the filer may override it with a reason.
    tow_min_dpd: int = Field(60, ge=0, le=3650)
    # Outside production: the application's clock starts at this instant and runs on from there
    # (app/core/clock.py), for demos and the date tests; unset, it is the real clock.
    clock_start: AwareDatetime | None = None

    @model_validator(mode="after")
    def _secrets_required_in_production(self) -> "Settings":
        if self.jwt_algorithm not in ("HS256", "RS256"):
            raise ValueError("JWT_ALGORITHM must be HS256 or RS256")
        if self.environment == "production":
            if self.jwt_algorithm == "HS256":
                _check_production_secret(self.jwt_secret)
            if self.jwt_algorithm == "RS256" and not (self.jwt_private_key and self.jwt_public_key):
                raise ValueError("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are required for RS256")
        return self

    @model_validator(mode="after")
    def _clock_is_real_in_production(self) -> "Settings":
        if self.environment == "production" and self.clock_start is not None:
            raise ValueError("CLOCK_START is for demos and tests; production runs on the real clock")
        return self

    @model_validator(mode="after")
    def _audit_key_rules(self) -> "Settings":
        if self.audit_hmac_key is not None and len(self.audit_hmac_key.get_secret_value().encode()) < 32:
            raise ValueError("AUDIT_HMAC_KEY must be at least 32 bytes")
        if self.environment == "production" and self.audit_hmac_key is None:
            raise ValueError("AUDIT_HMAC_KEY is required in production")
        return self

    @model_validator(mode="after")
    def _device_gateway_rules(self) -> "Settings":
        if self.device_gateway == "traccar" and not (self.device_gateway_url and self.device_gateway_token):
            raise ValueError("DEVICE_GATEWAY=traccar needs DEVICE_GATEWAY_URL and DEVICE_GATEWAY_TOKEN")
        if self.environment == "production" and self.device_gateway is not None:
            secret = self.device_callback_secret
            if secret is None or len(secret.get_secret_value().encode()) < 32:
                raise ValueError("DEVICE_CALLBACK_SECRET (>= 32 bytes) is required with a gateway in production")
        forward = self.device_traccar_forward_secret
        if forward is not None and len(forward.get_secret_value().encode()) < 32:
            raise ValueError("DEVICE_TRACCAR_FORWARD_SECRET must be at least 32 bytes")
        return self

    def device_callback_key(self) -> bytes:
        if self.device_callback_secret is not None:
            return self.device_callback_secret.get_secret_value().encode()
        # Development and tests only (production refuses to start a gateway without one).
        return b"recourse-development-device-callback-key"

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
        # Development and tests only (production refuses to start without a strong secret).
        return DEVELOPMENT_JWT_SECRET

    def verifying_key(self) -> str:
        if self.jwt_algorithm == "RS256":
            assert self.jwt_public_key is not None
            return self.jwt_public_key
        return self.signing_key()


def _check_production_secret(secret: SecretStr | None) -> None:
    if not secret:
        raise ValueError("JWT_SECRET is required in production")
    value = secret.get_secret_value()
    if len(value.encode()) < MIN_JWT_SECRET_BYTES:
        raise ValueError(f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in production")
    # A long but guessable key is no key: the development default, or one repeated character or
    # short pattern ("xxxx…", "abababab…"). Generate one with `openssl rand -base64 48`.
    if value == DEVELOPMENT_JWT_SECRET or len(set(value)) < 8:
        raise ValueError("JWT_SECRET is too weak for production; use a random value (openssl rand -base64 48)")


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@lru_cache
def get_settings() -> Settings:
    return Settings()
