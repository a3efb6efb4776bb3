"""A short run of bench/load_bench.py in the suite: submissions saturating the real gunicorn get
a passphrase or a translated 503, and what was answered is exactly what was stored."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from load_bench import UNLIMITED, load, mismatches

from .conftest import instance_database
from .served import gunicorn


@pytest.mark.slow
def test_saturated_submissions_are_stored_whole_or_not_at_all(tmp_path):
    instance = tmp_path / "instance"
    with gunicorn(instance, MELDPUNT_WORKERS="2", **UNLIMITED) as (port, log, _master):
        result = load(port, seconds=6, clients=12)
    assert result.statuses[200] > 0
    assert set(result.statuses) <= {200, 503}
    assert not result.errors
    assert mismatches(instance_database(instance), result) == {
        "answered but not stored": 0,
        "stored without a mailbox": 0,
        "stored but never answered": 0,
    }
    assert "Traceback" not in log.read_text()
