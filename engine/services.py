"""The service objects ``Engine`` hands out to the edges: people, teams, designs, notifications, devices, alarms.

Each binds the store to the functions of the module that owns its tables (``engine.people``, ``engine.teams``, ...),
so the web app, the CLI, the sensors and the integrations call ``engine.people.user(7)`` instead of importing the
module and handing it the store or a connection (issue 10: one face). The owning modules keep the logic and their
tests; these classes only open the transaction or read each call needs. Read-only views (inbox, map, indicators,
searches) are in :mod:`engine.read_services`.
"""
from __future__ import annotations

from datetime import datetime

from . import catalogue, drafts, notify, people, teams
from .alarms import alerts, devices, lifecycle
from .read_services import StoreService, on_read_connection


class People(StoreService):
    """Users, their roles and teams, passwords and machine tokens (:mod:`engine.people`)."""

    ROLES = people.ROLES
    DISTRICT_ROLES = people.DISTRICT_ROLES
    LEAD_SUFFIX = people.LEAD_SUFFIX

    teams = on_read_connection(people.teams)
    roster = on_read_connection(people.roster)

    def seed_teams(self, rows: list[dict], update_existing: bool = True) -> int:
        return people.seed_teams(self._store, rows, update_existing)

    def add_user(self, username: str, password: str, roles: list[str], team_codes: list[str],
                 display_name: str | None = None) -> dict:
        return people.add_user(self._store, username, password, roles, team_codes, display_name)

    def update_user(self, user_id: int, **changes) -> dict:
        """Change roles, teams, active, password or display name (the keyword arguments of people.update_user)."""
        return people.update_user(self._store, user_id, **changes)

    def end_sessions(self, user_id: int) -> int:
        return people.end_sessions(self._store, user_id)

    def user(self, user_id: int) -> dict:
        return people.user(self._store, user_id)

    def users(self) -> list[dict]:
        return people.users(self._store)

    @staticmethod
    def search_statement(text: str | None = None, team: str | None = None):
        """The select of users matching ``text`` in ``team`` that the admin page pages."""
        return people.user_search(text, team)

    def described(self, found: list) -> list[dict]:
        """A page of users (model rows) as the admin page shows them."""
        return people.described(self._store, found)

    display_names = on_read_connection(people.display_names)

    def members(self, team_codes: list[str]) -> list[str]:
        return people.members(self._store, team_codes)

    def authenticate(self, username: str, password: str) -> dict | None:
        return people.authenticate(self._store, username, password)

    @staticmethod
    def inbox_teams(user: dict) -> list[str]:
        return people.inbox_teams(user)

    def create_token(self, username: str, name: str = "api") -> str:
        return people.create_token(self._store, username, name)

    def user_for_token(self, token: str) -> dict | None:
        return people.user_for_token(self._store, token)


class Teams(StoreService):
    """The roster as an admin edits it (:mod:`engine.teams`)."""

    KINDS = teams.KINDS

    overview = on_read_connection(teams.overview)

    def create(self, code: str, name_zh: str, name_en: str, kind: str = "other") -> dict:
        return teams.create_team(self._store, code, name_zh, name_en, kind)

    def rename(self, code: str, name_zh: str, name_en: str, kind: str) -> dict:
        return teams.rename_team(self._store, code, name_zh, name_en, kind)

    def retire(self, code: str) -> dict:
        return teams.retire_team(self._store, code)

    def restore(self, code: str) -> dict:
        return teams.restore_team(self._store, code)


class Designs(StoreService):
    """Deployed processes and decisions, their versions and comparisons, and designers' drafts
    (:mod:`engine.catalogue`, :mod:`engine.drafts`). Deploying itself is ``Engine.deploy``."""

    processes = on_read_connection(catalogue.processes)
    versions_of = on_read_connection(catalogue.versions_of)
    version = on_read_connection(catalogue.version)
    compare_versions = on_read_connection(catalogue.compare_versions)
    decisions = on_read_connection(catalogue.decisions)
    decision = on_read_connection(catalogue.decision)

    # -- checking a file set before it is deployed (no database) --------------------------------------------------
    request_limit = staticmethod(catalogue.request_limit)
    check_request_size = staticmethod(catalogue.check_request_size)
    file_set = staticmethod(catalogue.file_set)
    check = staticmethod(catalogue.check)

    # -- drafts ---------------------------------------------------------------------------------------------------
    draft = on_read_connection(drafts.mine)          # before the name drafts is this class's own
    drafts = on_read_connection(drafts.listing)

    def save_draft(self, process_id: str, author: str, files: dict[str, bytes],
                   base_deployment_id: int | None) -> dict:
        return drafts.save(self._store, process_id, author, files, base_deployment_id)

    def discard_draft(self, process_id: str, author: str) -> bool:
        return drafts.discard(self._store, process_id, author)


class Notify(StoreService):
    """Notification templates and people's contact details (:mod:`engine.notify`)."""

    TEMPLATE_CODE = notify.TEMPLATE_CODE

    templates = on_read_connection(notify.templates)

    def save_template(self, code: str, texts: dict, actor: str) -> None:
        notify.save_template(self._store, code, texts, actor)

    contacts = on_read_connection(notify.contacts)

    def contact(self, user_id: int) -> dict:
        return notify.contact(self._store, user_id)

    def save_contact(self, user_id: int, values: dict) -> dict:
        return notify.save_contact(self._store, user_id, values)


class Devices(StoreService):
    """The device registry and its open alarms (:mod:`engine.alarms.devices`)."""

    def import_rows(self, rows: list[dict]) -> int:
        """Register or update devices from registry rows; all or nothing. Returns how many were written."""
        return devices.import_devices(self._store, rows)

    def listing(self, **filters) -> list[dict]:
        """Devices with their last sighting and open alarm count (the filters of devices.list_devices)."""
        return devices.list_devices(self._store, **filters)

    def open_alarms(self, device_id: str | None = None) -> list[dict]:
        return devices.open_alarms(self._store, device_id)

    def registered(self, device_id: str) -> dict | None:
        """A device's registry row (a camera's place), or None."""
        return devices.registered(self._store, device_id)


class Alarms:
    """Sensor alerts stored in batches and the alarm work after each commit (:mod:`engine.alarms.alerts`,
    :mod:`engine.alarms.lifecycle`): what the MQTT ingester and the HTTP intake call."""

    def __init__(self, engine):
        self._engine = engine

    def record(self, events: list, dead_letters: list = (), plain: bool = False):
        """Store a batch of sensor events and dead letters in one transaction (alerts.record)."""
        return alerts.record(self._engine, events, dead_letters, plain=plain)

    def registry(self):
        """The device registry cache the intake checks each message against."""
        return alerts.registry(self._engine)

    def unavailable(self, error: BaseException) -> bool:
        """Whether ``error`` says the database is away (retry the batch) rather than refusing its data."""
        return alerts.unavailable(self._engine, error)

    def after_commit(self, new_alarms: list[int], pending_clears: list[int],
                     actor: str = "sensor") -> lifecycle.AfterCommit:
        """After a batch committed: start the cases of its new alarms, deliver its held clears (lifecycle.after_commit).
        The HTTP intake and the MQTT ingester (as the job ``alarms.after_commit``) and the simulation all take this
        one path."""
        return lifecycle.after_commit(self._engine, new_alarms, pending_clears, actor=actor)

    def deliver_clears(self, alarm_ids: list[int] | None = None) -> list[int]:
        """Deliver the held clears of these alarms (every alarm's, with None) to the cases that wait for them now."""
        return lifecycle.deliver_clears(self._engine, alarm_ids)

    def devices_of(self, alarm_ids: list[int]) -> dict[int, str]:
        """Alarm id -> the device that raised it."""
        return lifecycle.devices_of(self._engine, alarm_ids)

    def close_ended(self) -> int:
        return lifecycle.close_ended(self._engine)

    def sweep(self, now: datetime | None = None) -> dict:
        """The periodic pass the ticker runs: silent devices, unstarted cases, held clears, ended cases."""
        return lifecycle.sweep(self._engine, now)
