"""Read-only service objects ``Engine`` hands out: the inbox and case facts, the map, the indicators, the searches.

Each method runs one read function of the module that owns the query (``engine.worklist``, ``engine.map_reads``,
``engine.indicators``) on a read connection, so the edges call ``engine.worklist.inbox(...)`` rather than passing a
module function to a generic runner (issue 10: one face). The method keeps the function's name, signature after the
connection, and docstring. The lists the web app pages (the case and audit searches, the inbox, devices, dead
letters) are handed out as SQLAlchemy statements, which the web app pages with Flask-SQLAlchemy
(``webui.database.page_of``); those read nothing themselves.
"""
from __future__ import annotations

import functools

from . import audit_search, case_search, indicators, map_reads, worklist
from .store import Store


def on_read_connection(read):
    """A method running ``read(connection, *args, **kwargs)`` on a read connection of the service's store."""
    @functools.wraps(read)
    def method(self, *args, **kwargs):
        with self._store.read() as connection:
            return read(connection, *args, **kwargs)
    return method


class StoreService:
    """A service object bound to the engine's store."""

    def __init__(self, store: Store):
        self._store = store


class Worklist(StoreService):
    """Inboxes and what a task or case page shows beside the task (:mod:`engine.worklist`)."""

    INBOX_FILTERS = worklist.INBOX_FILTERS
    inbox = on_read_connection(worklist.inbox)
    inbox_statement = staticmethod(worklist.inbox_statement)
    filter_choices = on_read_connection(worklist.filter_choices)
    involved = on_read_connection(worklist.involved)
    case_by_instance = on_read_connection(worklist.case_by_instance)
    alarm_count = on_read_connection(worklist.alarm_count)
    attached_alerts = on_read_connection(worklist.attached_alerts)


class Maps(StoreService):
    """The command centre's map, feed, device list and dead letters (:mod:`engine.map_reads`)."""

    OPEN_STAGES = map_reads.OPEN_STAGES
    HEAT_MAX_DAYS = map_reads.HEAT_MAX_DAYS
    heat_period_ok = staticmethod(map_reads.heat_period_ok)
    registry_version = on_read_connection(map_reads.registry_version)
    device_positions = on_read_connection(map_reads.device_positions)
    map_state = on_read_connection(map_reads.map_state)
    heat = on_read_connection(map_reads.heat)
    feed_cursor = on_read_connection(map_reads.feed_cursor)
    feed = on_read_connection(map_reads.feed)
    devices = staticmethod(map_reads.devices_statement)
    device_choices = on_read_connection(map_reads.device_choices)
    device = on_read_connection(map_reads.device)
    dead_letters = staticmethod(map_reads.dead_letters_statement)
    dead_letter_reasons = on_read_connection(map_reads.dead_letter_reasons)
    team_backlog = on_read_connection(map_reads.team_backlog)


class Indicators(StoreService):
    """The district's and the teams' indicators over a period (:mod:`engine.indicators`)."""

    LOCAL = indicators.LOCAL
    district = on_read_connection(indicators.indicators)
    teams = on_read_connection(indicators.team_indicators)


class Search:
    """Case and audit searches: request parameters in, a statement to page out (:mod:`engine.case_search`,
    :mod:`engine.audit_search`). A parameter that cannot be used raises ``engine.exceptions.SearchRefused``."""

    CaseQuery = case_search.CaseQuery
    AuditQuery = audit_search.AuditQuery
    parse_cases = staticmethod(case_search.parse)
    cases = staticmethod(case_search.statement)
    case_row = staticmethod(case_search.as_dict)
    parse_audit = staticmethod(audit_search.parse)
    audit = staticmethod(audit_search.statement)
    audit_row = staticmethod(audit_search.as_dict)
