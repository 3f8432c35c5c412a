"""The error classes of the field surface, declared as data in `errors.toml` beside this file."""

from app.core.errors import error_catalogue

globals().update(error_catalogue(__name__))
