"""When schedules fire: recurrence and cron triggers, in their time zones, and their refusals.

Expected times are worked out by hand from the trigger's definition (Azure ML's documented rules).
"""

from __future__ import annotations

import datetime as dt

import pytest
from azure.ai.ml.entities import CronTrigger, RecurrencePattern, RecurrenceTrigger
from azure.ai.ml.exceptions import ValidationException

from accelerator.local._scheduling._triggers import Trigger, job_time

UTC = dt.timezone.utc
CREATED = dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def trigger(entity: object, created: dt.datetime = CREATED) -> Trigger:
    return Trigger(entity._to_rest_object().as_dict(), created)  # type: ignore[attr-defined]


def fires(t: Trigger, after: dt.datetime, count: int) -> list[str]:
    found, moment = [], after
    for _ in range(count):
        moment = t.next_after(moment)
        assert moment is not None
        found.append(moment.strftime("%Y-%m-%d %H:%M %a"))
    return found


def test_recurrence_without_pattern_steps_from_the_start_time() -> None:
    t = trigger(RecurrenceTrigger(frequency="hour", interval=6, start_time="2026-01-01T01:30:00"))
    assert fires(t, CREATED, 3) == ["2026-01-01 01:30 Thu", "2026-01-01 07:30 Thu", "2026-01-01 13:30 Thu"]
    # Asked well after the start: the next step, no back-fill of the steps in between.
    later = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert fires(t, later, 1) == ["2026-03-01 13:30 Sun"]


def test_a_daily_pattern_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    # 02:30 in Amsterdam: 01:30 UTC in winter, 00:30 UTC after the clocks go forward (29 March 2026).
    t = trigger(
        RecurrenceTrigger(
            frequency="day",
            interval=1,
            schedule=RecurrencePattern(hours=[2], minutes=[30]),
            start_time="2026-03-27T00:00:00",
            time_zone="W. Europe Standard Time",
        )
    )
    got = [t.next_after(dt.datetime(2026, 3, 27, tzinfo=UTC))]
    for _ in range(3):
        got.append(t.next_after(got[-1]))  # type: ignore[arg-type]
    # 29 March has no 02:30 in Amsterdam: it fires an hour of wall clock later, 03:30 CEST (01:30 UTC).
    assert [g.strftime("%m-%d %H:%M") for g in got if g] == [
        "03-27 01:30",
        "03-28 01:30",
        "03-29 01:30",
        "03-30 00:30",
    ]


def test_weekly_pattern_fires_on_its_week_days_every_other_week() -> None:
    t = trigger(
        RecurrenceTrigger(
            frequency="week",
            interval=2,
            schedule=RecurrencePattern(hours=[9], minutes=[0, 30], week_days=["monday", "friday"]),
            start_time="2026-01-05T00:00:00",  # a Monday
        )
    )
    assert fires(t, dt.datetime(2026, 1, 4, tzinfo=UTC), 6) == [
        "2026-01-05 09:00 Mon",
        "2026-01-05 09:30 Mon",
        "2026-01-09 09:00 Fri",
        "2026-01-09 09:30 Fri",
        "2026-01-19 09:00 Mon",  # the week of 12 January is skipped
        "2026-01-19 09:30 Mon",
    ]


def test_monthly_pattern_fires_on_its_month_days() -> None:
    t = trigger(
        RecurrenceTrigger(
            frequency="month",
            interval=1,
            schedule=RecurrencePattern(hours=[6], minutes=[0], month_days=[1, 15]),
            start_time="2026-01-01T00:00:00",
        )
    )
    assert fires(t, CREATED, 3) == ["2026-01-01 06:00 Thu", "2026-01-15 06:00 Thu", "2026-02-01 06:00 Sun"]


def test_cron_treats_days_and_months_as_any_as_azure_does() -> None:
    weekly = trigger(CronTrigger(expression="15 16 * * 1"))  # the documentation's example: Mondays 16:15
    assert fires(weekly, CREATED, 2) == ["2026-01-05 16:15 Mon", "2026-01-12 16:15 Mon"]
    ignored = trigger(CronTrigger(expression="0 3 10 7 *"))  # DAYS and MONTHS are always '*' on Azure
    assert fires(ignored, CREATED, 2) == ["2026-01-01 03:00 Thu", "2026-01-02 03:00 Fri"]


def test_cron_in_a_time_zone_and_inclusive_start() -> None:
    t = trigger(CronTrigger(expression="0 8 * * *", time_zone="Pacific Standard Time"))
    assert fires(t, CREATED, 1) == ["2026-01-01 16:00 Thu"]  # 08:00 PST is 16:00 UTC
    exact = dt.datetime(2026, 1, 1, 16, 0, tzinfo=UTC)
    assert t.next_after(exact, inclusive=True) == exact
    assert t.next_after(exact) == exact + dt.timedelta(days=1)


def test_no_fire_after_the_end_time() -> None:
    t = trigger(
        RecurrenceTrigger(
            frequency="day", interval=1, start_time="2026-01-01T00:00:00", end_time="2026-01-02T12:00:00"
        )
    )
    assert fires(t, dt.datetime(2025, 12, 31, tzinfo=UTC), 2) == [
        "2026-01-01 00:00 Thu",
        "2026-01-02 00:00 Fri",
    ]
    assert t.next_after(dt.datetime(2026, 1, 2, 1, tzinfo=UTC)) is None


def test_first_fire_without_start_time_is_at_creation_for_a_recurrence_only() -> None:
    created = dt.datetime(2026, 1, 1, 10, 17, 5, tzinfo=UTC)
    plain = trigger(RecurrenceTrigger(frequency="week", interval=1), created)
    assert plain.first_due(created) == created  # "the first job will run instantly"
    assert plain.next_after(created) == created + dt.timedelta(weeks=1)
    cron = trigger(CronTrigger(expression="0 * * * *"), created)
    assert cron.first_due(created) == dt.datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    future = trigger(
        RecurrenceTrigger(frequency="day", interval=1, start_time="2026-02-01T00:00:00"), created
    )
    assert future.first_due(created) == dt.datetime(2026, 2, 1, tzinfo=UTC)


def test_job_time_is_the_utc_suffix_of_a_scheduled_job() -> None:
    moment = dt.datetime(2026, 1, 14, 3, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert job_time(moment) == "20260114T020005Z"


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (RecurrenceTrigger(frequency="day", interval=1, time_zone="Mars/Olympus"), "Invalid time zone"),
        (RecurrenceTrigger(frequency="fortnight", interval=1), "Invalid frequency"),
        (RecurrenceTrigger(frequency="day", interval=0), "Invalid interval"),
        (
            RecurrenceTrigger(
                frequency="hour", interval=1, schedule=RecurrencePattern(hours=[1], minutes=[0])
            ),
            "needs frequency day, week or month",
        ),
        (
            RecurrenceTrigger(
                frequency="day", interval=1, schedule=RecurrencePattern(hours=[24], minutes=[0])
            ),
            "Invalid hour '24'",
        ),
        (
            RecurrenceTrigger(
                frequency="week",
                interval=1,
                schedule=RecurrencePattern(hours=[1], minutes=[0], week_days="funday"),
            ),
            "Invalid week day",
        ),
        (RecurrenceTrigger(frequency="day", interval=1, start_time="yesterday"), "Invalid start_time"),
        (
            RecurrenceTrigger(
                frequency="day", interval=1, start_time="2026-02-01T00:00:00", end_time="2026-01-15T00:00:00"
            ),
            "must be after the start_time",
        ),
        (RecurrenceTrigger(frequency="day", interval=1, end_time="2025-06-01T00:00:00"), "is in the past"),
        (CronTrigger(expression="0 2 * *"), "use five fields"),
        (CronTrigger(expression="61 2 * * *"), "Invalid cron expression"),
    ],
)
def test_bad_triggers_are_refused_with_the_reason(entity: object, message: str) -> None:
    with pytest.raises(ValidationException, match=message):
        trigger(entity)
