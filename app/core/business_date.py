"""Business dates: the calendar day a moment falls on in a company's time zone.

Quotas, reminders and activity dates count days as the company sees them, not as UTC does. The
zone is the company's IANA name, else its group's, else the `DEFAULT_TIMEZONE` setting; core
knows no area, so callers pass the names they hold (org offers them through its repository).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.core.config import get_settings


def business_zone(*names: str | None) -> ZoneInfo:
    """The first valid IANA zone among `names` (company's, then group's), else the default setting."""
    for name in (*names, get_settings().default_timezone):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            continue
    return ZoneInfo("UTC")


def business_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `at` in `tz`."""
    return at.astimezone(tz).date()
