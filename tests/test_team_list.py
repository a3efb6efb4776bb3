"""The team's report list at volume (issue 12, point 6): each filter and order read from an index
that fits it, counted only a window ahead, no query per row; migration 10 gives an existing
database the indexes a new one gets. Timings are bench/team_list_bench.py's, not asserted here."""

import datetime
import re

import pytest

from .team_helpers import add_report, settings_of, team_client, team_today
from .test_migrations import _legacy_instance
from .test_team_workflow import _queries, _statements

LISTED = re.compile(r'<a href="/team/reports/(MP-[A-Z0-9-]+)">')


def _listed(team, path: str) -> list[str]:
    page = team.get(path)
    assert page.status_code == 200
    return LISTED.findall(page.data.decode())


def test_the_open_and_closed_states_are_the_workflows():
    """The partial indexes name the states (models.py); the workflow decides them."""
    from app.domain import models, workflow

    assert models.OPEN_STATES == workflow.OPEN
    assert set(models.CLOSED_STATES) == set(workflow.STATES) - set(workflow.OPEN)


@pytest.fixture
def programme(portal):
    """Reports in every state, received on different days, some answered, some not."""
    from app.domain import deadlines, workflow
    from app.domain.db import database

    today = team_today(portal)
    expected = {}
    with database.connection_context():
        for number, state in enumerate(workflow.STATES * 3):
            received = today - datetime.timedelta(days=(number * 7) % 31)
            answered = state != "received" and number % 4 != 1
            reference = f"MP-{number:04d}-LIST"
            add_report(portal, reference, state=state, received=received, acknowledged=received if answered else None)
            expected[reference] = (state, received, answered)
        soon = deadlines.due_soon_cutoff(settings_of(portal))  # its answer is due by tomorrow
        add_report(portal, "MP-SOON-LIST", received=soon)
        expected["MP-SOON-LIST"] = ("received", soon, False)
    return expected


def test_each_filter_lists_its_reports_in_either_order(portal, programme):
    from app.domain import deadlines, workflow
    from app.domain.db import database
    from app.domain.models import Report

    settings = settings_of(portal)
    overdue, soon = deadlines.overdue_answer_cutoff(settings), deadlines.due_soon_cutoff(settings)
    with database.connection_context():
        ids = {row.reference: row.id for row in Report.select()}
    waiting = {ref for ref, (state, _day, answered) in programme.items() if state in workflow.OPEN and not answered}
    wanted = {
        "open": {ref for ref, (state, *_rest) in programme.items() if state in workflow.OPEN},
        "closed": {ref for ref, (state, *_rest) in programme.items() if state not in workflow.OPEN},
        "all": set(programme),
        "overdue": {ref for ref in waiting if programme[ref][1] <= overdue},
        "soon": {ref for ref in waiting if overdue < programme[ref][1] <= soon},
        **{state: {ref for ref, (s, *_rest) in programme.items() if s == state} for state in workflow.STATES},
    }
    assert wanted["overdue"]
    assert wanted["soon"]
    team = team_client(portal, "alice", "handler")
    for name, references in wanted.items():
        oldest = sorted(references, key=lambda ref: (programme[ref][1], ids[ref]))
        assert _listed(team, f"/team/?show={name}&sort=oldest") == oldest, name
        assert _listed(team, f"/team/?show={name}&sort=newest") == oldest[::-1], name


def test_the_list_counts_a_window_ahead_and_says_more_beyond(portal, monkeypatch):
    """Counted up to COUNTED_PAGES past the page shown: exact within, "more than" beyond, and the
    next page is always reachable."""
    from app.domain.db import database
    from app.team import reports

    monkeypatch.setattr(reports, "PAGE_SIZE", 5)
    monkeypatch.setattr(reports, "COUNTED_PAGES", 1)
    with database.connection_context():
        for number in range(12):
            add_report(portal, f"MP-{number:04d}-PAGE", received=team_today(portal) - datetime.timedelta(days=number))
    team = team_client(portal, "alice", "handler")
    first = team.get("/team/?show=all&lang=en").data.decode()
    assert "More than 5 reports" in first
    assert "Page 1 of more than 1" in first
    assert "page=2" in first
    second = team.get("/team/?show=all&page=2&lang=en").data.decode()
    assert "More than 10 reports" in second
    assert "Page 2 of more than 2" in second
    third = team.get("/team/?show=all&page=3&lang=en").data.decode()
    assert "12 reports" in third
    assert "More than" not in third
    assert "Page 3 of 3" in third
    assert "page=4" not in third
    assert len(LISTED.findall(third)) == 2
    seen = [_listed(team, f"/team/?show=all&page={page}") for page in (1, 2, 3)]
    assert sorted(sum(seen, [])) == [f"MP-{number:04d}-PAGE" for number in range(12)]
    beyond = team.get("/team/?show=all&page=9&lang=en").data.decode()
    assert "12 reports" in beyond
    assert "Page 9 of 3" in beyond


def test_a_short_list_is_counted_exactly(portal, programme):
    team = team_client(portal, "alice", "handler")
    page = team.get("/team/?show=all&lang=en").data.decode()
    assert f"{len(programme)} reports" in page
    assert "More than" not in page
    assert 'class="pages"' not in page  # one page: no pagination


def test_the_list_runs_the_same_queries_whatever_its_length(portal):
    """No query per row: the clocks come from the rows themselves."""
    from app.domain.db import database

    team = team_client(portal, "alice", "handler")
    path = "/team/?show=all"
    with database.connection_context():
        add_report(portal, "MP-0000-ONE0")
    one = _queries(portal, team, path)
    with database.connection_context():
        for number in range(1, 50):
            exploited = {"exploited": True, "cra_aware_at": datetime.datetime(2026, 1, 5, 9)} if number % 5 else {}
            add_report(portal, f"MP-{number:04d}-MANY", **exploited)
    assert _queries(portal, team, path) == one
    assert len(_listed(team, path)) == 50


def _list_statements(portal, team, path: str) -> list[tuple[str, tuple]]:
    """The SELECTs on the report table one list request runs, with their parameters."""
    seen = [(sql, params) for sql, params in _statements(team, path) if 'FROM "report"' in sql]
    assert len(seen) == 2  # the count and the page
    return seen


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_every_filter_reads_an_index_in_its_order(portal, programme, order):
    """No sort of all matching rows and no scan of the table, for the page and for its count: on
    SQLite without statistics (no instance runs ANALYZE), on PostgreSQL with the alternatives
    priced out (a few rows would make a sequential scan cheaper, and hide a missing index)."""
    from app.domain import workflow
    from app.domain.db import database, is_sqlite

    team = team_client(portal, "alice", "handler")
    for name in ("open", "overdue", "soon", "closed", "all", *workflow.STATES):
        statements = _list_statements(portal, team, f"/team/?show={name}&sort={order}&page=2")
        with database.connection_context():
            for sql, params in statements:
                if is_sqlite():
                    plan = " ".join(row[3] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
                    assert "TEMP B-TREE" not in plan, (name, plan)
                    assert re.search(r"(SCAN|SEARCH) t\d USING (COVERING )?INDEX report_", plan), (name, plan)
                else:
                    for switch in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
                        database.execute_sql(f"SET {switch} = off")
                    plan = " ".join(row[0] for row in database.execute_sql(f"EXPLAIN {sql}", params))
                    assert "Sort" not in plan, (name, plan)
                    assert "Seq Scan" not in plan, (name, plan)


def _indexes(database) -> set[tuple[str, str]]:
    """The report table's indexes as (name, definition), the definition without quotes, brackets,
    spaces and IF NOT EXISTS (SQLite keeps each index's text as it was written)."""
    found = set()
    for index in database.get_indexes("report"):
        text = re.sub(r'[\s"()]|ifnotexists', "", index.sql.lower())
        found.add((index.name, text))
    return found


def test_migration_10_gives_the_list_indexes_of_a_new_database(portal, tmp_path, team_key):
    from app.domain import schema
    from app.domain.db import bind, database

    from .conftest import instance_database

    with database.connection_context():
        fresh = _indexes(database)
    assert {"report_open", "report_closed", "report_unanswered"} <= {name for name, _ in fresh}
    instance = _legacy_instance(tmp_path / "legacy", team_key)
    bind(instance_database(instance))
    with database.connection_context():
        for number in range(2, 10):
            with database.atomic():
                schema.MIGRATIONS[number][1]()
                schema._stamp(number)
        before = _indexes(database)
        assert "report_state" in {name for name, _ in before}
        with database.atomic():
            schema.MIGRATIONS[10][1]()
            schema._stamp(10)
        assert _indexes(database) == fresh
        rows = database.execute_sql("SELECT reference, state FROM report ORDER BY reference").fetchall()
        assert [tuple(row) for row in rows] == [
            ("MP-AAAA-AAAA", "fixing"),
            ("MP-BBBB-BBBB", "duplicate"),
            ("MP-CCCC-CCCC", "disclosed"),
        ]


def test_the_columns_the_list_reads_are_all_its_clocks_need(portal):
    """The list reads only LISTED (app/team/reports.py); a field the clocks read that is not among
    them would be None there and give wrong clocks without an error (review of issue 12)."""
    import datetime as dt

    from app.domain import deadlines
    from app.domain.db import database
    from app.domain.models import Report
    from app.team.reports import LISTED

    today = team_today(portal)
    with database.connection_context():
        add_report(portal, "MP-CRA0-LIST", received=today - dt.timedelta(days=9), acknowledged=today)
        Report.update(
            exploited=True,
            cra_aware_at=dt.datetime(2026, 1, 5, 12, 0),
            resolved_on=today,
            disclosure_planned=today + dt.timedelta(days=30),
            state="resolved",
        ).where(Report.reference == "MP-CRA0-LIST").execute()
        full = Report.get(Report.reference == "MP-CRA0-LIST")
        listed = Report.select(*LISTED).where(Report.reference == "MP-CRA0-LIST").get()
        moment = dt.datetime(2026, 6, 1, 12, 0)
        settings = settings_of(portal)
        assert deadlines.clocks(settings, listed, moment) == deadlines.clocks(settings, full, moment)
        assert len(deadlines.clocks(settings, full, moment)) > 2  # the CRA clocks are among them
