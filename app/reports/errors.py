"""The error classes of reports, declared as data in `errors.toml` beside this file (codes are part of
the contract: clients rely on these exact strings). Import them by name as from any module."""

from app.core.errors import error_catalogue

globals().update(error_catalogue(__name__))
