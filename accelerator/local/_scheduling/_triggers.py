"""When a schedule fires: validation and next-fire computation for recurrence and cron triggers.

Works on a trigger's REST form (``RecurrenceTrigger._to_rest_object().as_dict()`` or the cron
one), which is what a schedule record keeps. The rules follow Azure ML's documentation of schedules
(how-to-schedule-pipeline-job, reference-yaml-schedule):

- ``time_zone`` is a Windows time zone name (``azure.ai.ml.constants.TimeZone``) and applies to
  ``start_time``/``end_time`` given without an offset, to the pattern's hours and to cron fields;
- a recurrence without a pattern fires at ``start_time + k * interval`` units; a pattern (``hours``
  and ``minutes``; ``week_days`` for weekly, ``month_days`` for monthly) is allowed for day, week
  and month frequencies only;
- in a cron expression (five fields), DAYS and MONTHS "aren't supported, and are always treated as
  ``*``" (the service's words); minutes 0-59, hours 0-23, days of week 0-6 or names;
- a start time in the past does not back-fill: the first fire is the next calculated time.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from azure.ai.ml.constants import TimeZone
from azure.ai.ml.exceptions import ErrorTarget
from croniter import croniter
from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta
from tzlocal.windows_tz import win_tz

from accelerator.local._exceptions import user_error

logger = logging.getLogger(__name__)

# Windows zones the CLDR table (tzlocal's win_tz) no longer lists, mapped as CLDR did.
_EXTRA_ZONES = {"Mid-Atlantic Standard Time": "Etc/GMT+2", "Kamchatka Standard Time": "Asia/Kamchatka"}
_TIME_ZONES = {zone.value for zone in TimeZone}
FREQUENCIES = {"minute": 1, "hour": 60, "day": 1440, "week": 10080, "month": 43200}
WEEK_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# How late the scheduler may be and still fire a due time (a poll interval plus a slow machine).
LATE_GRACE = dt.timedelta(seconds=120)


def _error(message: str) -> Exception:
    return user_error(message, ErrorTarget.SCHEDULE)


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone of a schedule's Windows time zone name; the service's error for an unknown one."""
    name = str(name or "UTC")
    if name not in _TIME_ZONES:
        raise _error(
            f"Invalid time zone '{name}'. Use a value of azure.ai.ml.constants.TimeZone, "
            "for example 'UTC' or 'W. Europe Standard Time'."
        )
    if name in ("UTC", "Coordinated Universal Time"):
        return ZoneInfo("UTC")
    return ZoneInfo(_EXTRA_ZONES.get(name) or win_tz[name])


def parse_time(value: Any, tz: ZoneInfo, what: str) -> dt.datetime | None:
    """An aware datetime: a value without an offset is in the trigger's time zone."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = date_parser.isoparse(str(value))
        except (ValueError, OverflowError):
            raise _error(
                f"Invalid {what} '{value}': use ISO 8601, for example 2026-01-01T02:00:00."
            ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _int_list(values: Any, low: int, high: int, what: str) -> list[int]:
    items = values if isinstance(values, list) else ([] if values is None else [values])
    result = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            raise _error(f"Invalid {what} '{item}' in the recurrence pattern: use integers {low} to {high}.")
        result.append(item)
    return sorted(set(result))


class Trigger:
    """A validated trigger that answers "when is the next fire after this moment?"."""

    def __init__(self, rest: dict[str, Any], created: dt.datetime) -> None:
        kind = str(rest.get("triggerType") or "").lower()
        if kind not in ("recurrence", "cron"):
            raise _error(
                f"Unsupported trigger type '{rest.get('triggerType')}': use RecurrenceTrigger or CronTrigger."
            )
        self.kind = kind
        self.tz = zone(rest.get("timeZone"))
        self.start = parse_time(rest.get("startTime"), self.tz, "start_time")
        self.end = parse_time(rest.get("endTime"), self.tz, "end_time")
        if self.start and self.end and self.end <= self.start:
            raise _error(
                f"The end_time {rest.get('endTime')} must be after the start_time {rest.get('startTime')}."
            )
        if self.end and self.end <= created:
            raise _error(f"The end_time {rest.get('endTime')} is in the past.")
        # Without start_time a schedule starts when it is created.
        self.origin = (self.start or created).astimezone(self.tz)
        self.immediate = self.start is None
        if kind == "cron":
            self._init_cron(str(rest.get("expression") or ""))
        else:
            self._init_recurrence(rest)

    def _init_cron(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 5:
            raise _error(
                f"Invalid cron expression '{expression}': "
                "use five fields, MINUTES HOURS DAYS MONTHS DAYS-OF-WEEK."
            )
        if fields[2] != "*" or fields[3] != "*":
            logger.warning("Cron DAYS and MONTHS fields are treated as '*' by Azure ML: '%s'.", expression)
        fields[2] = fields[3] = "*"
        self.expression = " ".join(fields)
        if not croniter.is_valid(self.expression):
            raise _error(f"Invalid cron expression '{expression}'.")
        self.immediate = False  # a cron schedule fires on its expression's times only

    def _init_recurrence(self, rest: dict[str, Any]) -> None:
        frequency = str(rest.get("frequency") or "").lower()
        if frequency not in FREQUENCIES:
            raise _error(f"Invalid frequency '{rest.get('frequency')}': use one of {', '.join(FREQUENCIES)}.")
        interval = rest.get("interval")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise _error(f"Invalid interval '{interval}': use a positive integer.")
        self.frequency, self.interval = frequency, interval
        pattern = rest.get("schedule") or {}
        self.hours = _int_list(pattern.get("hours"), 0, 23, "hour")
        self.minutes = _int_list(pattern.get("minutes"), 0, 59, "minute")
        days = pattern.get("weekDays") or []
        days = days if isinstance(days, list) else [days]
        unknown = [d for d in days if str(d).lower() not in WEEK_DAYS]
        if unknown:
            raise _error(
                f"Invalid week day(s) {unknown} in the recurrence pattern: use {', '.join(WEEK_DAYS)}."
            )
        self.week_days = sorted({WEEK_DAYS.index(str(d).lower()) for d in days})
        self.month_days = _int_list(pattern.get("monthDays"), 1, 31, "month day")
        self.patterned = bool(self.hours or self.minutes or self.week_days or self.month_days)
        if self.patterned:
            if frequency in ("minute", "hour"):
                raise _error(f"A recurrence pattern needs frequency day, week or month, not '{frequency}'.")
            if not (self.hours and self.minutes):
                raise _error("A recurrence pattern needs both hours and minutes.")
            if self.week_days and frequency == "day":
                raise _error("week_days in a recurrence pattern need frequency week or month.")
            if self.month_days and frequency != "month":
                raise _error("month_days in a recurrence pattern need frequency month.")
            self.immediate = False

    # -- next fire --------------------------------------------------------------------------------

    def next_after(self, moment: dt.datetime, inclusive: bool = False) -> dt.datetime | None:
        """The first fire time after ``moment`` (or at it, when ``inclusive``), in UTC; None past end_time."""
        moment = moment.astimezone(dt.timezone.utc)
        if self.kind == "cron":
            found = self._next_cron(moment, inclusive)
        elif self.patterned:
            found = self._next_pattern(moment, inclusive)
        else:
            found = self._next_plain(moment, inclusive)
        if found is None or (self.end is not None and found > self.end):
            return None
        return found.astimezone(dt.timezone.utc)

    def _next_cron(self, moment: dt.datetime, inclusive: bool) -> dt.datetime:
        base = max(moment, self.origin)
        # croniter's next is strictly after its base: step back a second to include ``base`` itself.
        if inclusive or base > moment:
            base = base - dt.timedelta(seconds=1)
        return croniter(self.expression, base.astimezone(self.tz)).get_next(dt.datetime)

    def _step(self, k: int) -> dt.datetime:
        if self.frequency == "month":
            return self.origin + relativedelta(months=k * self.interval)
        minutes = FREQUENCIES[self.frequency] * self.interval * k
        # Days and weeks follow the wall clock in the schedule's zone (a daily 02:00 stays 02:00).
        if self.frequency in ("day", "week"):
            local = self.origin.replace(tzinfo=None) + dt.timedelta(minutes=minutes)
            return local.replace(tzinfo=self.tz)
        return self.origin + dt.timedelta(minutes=minutes)

    def _next_plain(self, moment: dt.datetime, inclusive: bool) -> dt.datetime:
        span = dt.timedelta(minutes=FREQUENCIES[self.frequency] * self.interval)
        k = max(0, int((moment - self.origin) / span) - 1)
        while True:
            candidate = self._step(k)
            if candidate > moment or (inclusive and candidate == moment):
                return candidate
            k += 1

    def _next_pattern(self, moment: dt.datetime, inclusive: bool) -> dt.datetime | None:
        local = max(moment, self.origin).astimezone(self.tz)
        day = local.date()
        for _ in range(366 * 5 * self.interval):  # at most a few years of days
            if self._day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
                        if candidate < self.origin:
                            continue
                        if candidate > moment or (inclusive and candidate == moment):
                            return candidate
            day += dt.timedelta(days=1)
        return None

    def _day_matches(self, day: dt.date) -> bool:
        start = self.origin.date()
        if self.frequency == "day":
            return (day - start).days % self.interval == 0
        if self.frequency == "week":
            week_start = start - dt.timedelta(days=start.weekday())
            weeks = (day - week_start).days // 7
            days = self.week_days or [start.weekday()]
            return weeks % self.interval == 0 and day.weekday() in days
        months = (day.year - start.year) * 12 + day.month - start.month
        if months % self.interval:
            return False
        if self.week_days:
            return day.weekday() in self.week_days
        return day.day in (self.month_days or [start.day])

    def first_due(self, created: dt.datetime) -> dt.datetime | None:
        """The first fire of a schedule created (or enabled) at ``created``; no back-fill of the past."""
        if self.immediate:
            return created.astimezone(dt.timezone.utc)
        return self.next_after(created, inclusive=True)


def job_time(moment: dt.datetime) -> str:
    """The ``yyyyMMddTHHmmssZ`` suffix of a scheduled job's name (UTC)."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
