"""`serve` runs one worker per core unless told otherwise, and the workers share the hashing slots."""

import pytest

from app.cli import serve_workers
from app.core.config import cores, get_settings


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("WEB_WORKERS", "LOGIN_HASH_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_serve_runs_one_worker_per_core_by_default(clean_env):
    assert serve_workers(None) == cores()
    assert get_settings().login_hash_concurrency == max(1, cores() // cores())


def test_the_flag_wins_over_the_setting_and_the_workers_share_the_cores(clean_env, monkeypatch):
    monkeypatch.setattr("app.cli.cores", lambda: 8)
    clean_env.setenv("WEB_WORKERS", "3")
    assert serve_workers(None) == 3
    assert get_settings().login_hash_concurrency == 2
    clean_env.delenv("LOGIN_HASH_CONCURRENCY")
    get_settings.cache_clear()
    assert serve_workers(4) == 4
    assert get_settings().login_hash_concurrency == 2


def test_an_explicit_hashing_concurrency_is_kept(clean_env):
    clean_env.setenv("LOGIN_HASH_CONCURRENCY", "5")
    serve_workers(2)
    assert get_settings().login_hash_concurrency == 5


def test_zero_workers_is_refused(clean_env):
    with pytest.raises(SystemExit):
        serve_workers(0)
