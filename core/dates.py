"""Dates at the boundary: bounded when they come in, and date arithmetic that cannot overflow.

Python's dates end at 9999-12-31, so `date.max + timedelta(days=1)` raises OverflowError: an
ethics expiry of 9999-12-31, once accepted, broke token issue, the portal's token button and the
GA4GH permissions endpoint for every visa of its holder. Every date field therefore carries
`DateWithinYears` (forms, serializers and the admin take it from the model field, or name it
where they declare their own field), and the arithmetic on stored dates goes through
`end_of_day`, which still works for dates stored before the bound existed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible

EARLIEST = date(1900, 1, 1)
# The last day whose following midnight is still a datetime, with a day to spare for any
# timezone conversion of that instant.
_LAST_SAFE_DAY = date.max - timedelta(days=2)


@deconstructible
class DateWithinYears:
    """Refuses a date later than `years` years from today, or before 1900."""

    def __init__(self, years: int = 10):
        self.years = years

    def latest(self, today: date | None = None) -> date:
        today = today or timezone.localdate()
        try:
            return today.replace(year=today.year + self.years)
        except ValueError:  # 29 February
            return today.replace(year=today.year + self.years, day=28)

    def __call__(self, value) -> None:
        if not isinstance(value, date):
            return
        if isinstance(value, datetime):
            value = value.date()
        if value < EARLIEST:
            raise ValidationError(
                "Enter a date from %(earliest)s on.",
                code="date_too_early",
                params={"earliest": EARLIEST.isoformat()},
            )
        latest = self.latest()
        if value > latest:
            raise ValidationError(
                "Enter a date no later than %(latest)s (%(years)s years from today).",
                code="date_too_late",
                params={"latest": latest.isoformat(), "years": self.years},
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, DateWithinYears) and other.years == self.years

    def __hash__(self) -> int:
        return hash(self.years)


def end_of_day(day: date) -> datetime:
    """The first instant (UTC) after `day`: something valid through `day` ends then. Dates too
    close to 9999-12-31 (stored before the bound above existed) end at the last safe instant
    instead of overflowing."""
    return datetime.combine(min(day, _LAST_SAFE_DAY) + timedelta(days=1), time.min, tzinfo=UTC)
