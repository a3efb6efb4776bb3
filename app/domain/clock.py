"""Which day it is, and what time it is for the team.

A Dutch team that promises an answer "within 5 days" counts days on its own calendar, so every
day the portal stores or compares (a report's arrival, an item's day, due dates) is a day in the
configured zone (MELDPUNT_TIMEZONE, default Europe/Amsterdam), never the server's local zone.
Team times (events, the CRA "aware" moment) are exact and kept in UTC; nothing a reporter does
gets an exact time.
"""

import datetime
from zoneinfo import ZoneInfo


def today(zone: ZoneInfo) -> datetime.date:
    return datetime.datetime.now(zone).date()


def now() -> datetime.datetime:
    """A team time: exact to the second, naive UTC (as stored). Never used for a reporter's act."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
