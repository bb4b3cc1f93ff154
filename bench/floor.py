"""The floor under Jingzhi's lifecycle: the same writes per step from a raw psycopg loop, with no engine work.

Each lifecycle is what the engine's transactions write for the benchmark's diagram, statement for statement: the
start (instance, case, first inbox row, audit and outbox rows, one commit) and six steps, each preceded by the
client's inbox read and made of the row lock, the state update (a state of the size the engine stores), the inbox
rows (task completed, next task created), the retired-team check, the case update, audit and outbox rows and one
durable commit. No SQLAlchemy, no SpiffWorkflow, no JSON encoding of the state: what is left is the database's
round trips and commits. psycopg prepares each statement on the server after its fifth use, as it does for the
engine. How many audit and outbox rows a lifecycle writes is read from an instance the engine ran, so the floor
writes what the engine writes.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import psycopg
from sqlalchemy.engine import make_url

STEPS = 6

_INSERT_INSTANCE = ("INSERT INTO process_instance (definition_id, business_key, status, state, serializer_version, "
                    "row_version, next_timer_at, created_at, updated_at, ended_at, error) VALUES (%(definition)s, "
                    "%(key)s, 'running', %(state)s, 'floor', 1, NULL, %(now)s, %(now)s, NULL, NULL) RETURNING id")
_INSERT_CASE = ("INSERT INTO cases (instance_id, business_key, process_id, scenario, channel, device_id, address, "
                "compound, severity, urgent, stage, stage_times, rework_count, opened_at) VALUES (%(instance)s, "
                "%(key)s, 'six_tasks', 'fire_lane', 'sensor', 'FL-0042', 'Shuidian Road 191', 'Hejiazhai', 'high', "
                "false, 'discover', %(stage_times)s, 0, %(now)s)")
_INSERT_TASK = ("INSERT INTO human_task (instance_id, task_uuid, bpmn_id, label, process_id, lane, team, assignee, "
                "status, due_at, form_schema, created_at, ended_at, completed_by) VALUES (%(instance)s, %(uuid)s, "
                "'task', 'A task', 'six_tasks', 'grid', 'grid', NULL, 'ready', %(now)s, 'form.json', %(now)s, NULL, "
                "NULL) RETURNING id")
_INSERT_AUDIT = ("INSERT INTO audit_event (instance_id, at, actor, kind, detail) VALUES (%(instance)s, %(now)s, "
                 "'floor', 'task.completed', %(detail)s)")
_INSERT_OUTBOX = ("INSERT INTO outbox_event (instance_id, kind, payload, created_at, fanned_out) VALUES "
                  "(%(instance)s, 'task.completed', %(detail)s, %(now)s, false)")
_READY = ("SELECT id, instance_id, bpmn_id, label, process_id, lane, team, assignee, status, due_at, form_schema, "
          "created_at, ended_at, completed_by FROM human_task WHERE status = 'ready' AND instance_id = %(instance)s "
          "ORDER BY due_at, id")
_LOCK = ("SELECT process_instance.id, process_instance.definition_id, process_instance.status, "
         "process_instance.row_version, process_instance.serializer_version, process_instance.state, "
         "process_instance.next_timer_at, human_task.* FROM human_task JOIN process_instance ON "
         "human_task.instance_id = process_instance.id WHERE human_task.id = %(task)s FOR UPDATE OF process_instance")
_UPDATE_STATE = ("UPDATE process_instance SET status = 'running', state = %(state)s, row_version = row_version + 1, "
                 "next_timer_at = NULL, updated_at = %(now)s, ended_at = NULL, error = NULL "
                 "WHERE id = %(instance)s AND row_version = %(version)s")
_COMPLETE_TASK = ("UPDATE human_task SET status = 'completed', ended_at = %(now)s, completed_by = 'floor' "
                  "WHERE task_uuid = %(uuid)s")
_RETIRED = "SELECT code FROM team WHERE code = ANY(%(codes)s) AND retired IS true"
_UPDATE_CASE = "UPDATE cases SET stage = 'handle', stage_times = %(stage_times)s, sla_due_at = %(now)s " \
               "WHERE instance_id = %(instance)s"


class Floor:
    """A raw psycopg connection writing lifecycles like the engine's (see the module's doc)."""

    def __init__(self, database_url: str, definition_id: int, state_size: int, audit_rows: int, outbox_rows: int):
        url = make_url(database_url).set(drivername="postgresql")
        self.connection = psycopg.connect(url.render_as_string(hide_password=False))
        self.definition_id = definition_id
        self.state = json.dumps({"tasks": "x" * max(0, state_size - 14)})
        self.audit = _spread(audit_rows)
        self.outbox = _spread(outbox_rows)
        self.detail = json.dumps({"case": {"scenario": "fire_lane", "stage": "handle"},
                                  "detail": {"bpmn_id": "task", "team": "grid"}})

    def lifecycle(self) -> int:
        now = datetime.now(timezone.utc)
        conn = self.connection
        key = f"FLOOR-{uuid.uuid4()}"
        # Transactions begin implicitly and end with commit (or, for a read, rollback), as the engine's do.
        instance = conn.execute(_INSERT_INSTANCE, {"definition": self.definition_id, "key": key,
                                                   "state": self.state, "now": now}).fetchone()[0]
        conn.execute(_INSERT_CASE, {"instance": instance, "key": key, "now": now,
                                    "stage_times": json.dumps({"discover": now.isoformat()})})
        task_uuid = str(uuid.uuid4())
        conn.execute(_INSERT_TASK, {"instance": instance, "uuid": task_uuid, "now": now})
        self._rows(instance, 0, now)
        conn.commit()
        for step in range(1, STEPS + 1):
            task = conn.execute(_READY, {"instance": instance}).fetchone()[0]   # the client's inbox read
            conn.rollback()
            conn.execute(_LOCK, {"task": task}).fetchone()
            conn.execute(_UPDATE_STATE, {"state": self.state, "now": now, "instance": instance, "version": step})
            conn.execute(_COMPLETE_TASK, {"now": now, "uuid": task_uuid})
            if step < STEPS:
                task_uuid = str(uuid.uuid4())
                conn.execute(_INSERT_TASK, {"instance": instance, "uuid": task_uuid, "now": now})
                conn.execute(_RETIRED, {"codes": ["grid"]}).fetchall()
            conn.execute(_UPDATE_CASE, {"instance": instance, "now": now,
                                        "stage_times": json.dumps({"discover": now.isoformat()})})
            self._rows(instance, step, now)
            conn.commit()
        return instance

    def _rows(self, instance: int, step: int, now) -> None:
        params = {"instance": instance, "now": now, "detail": self.detail}
        with self.connection.cursor() as cursor:
            if self.audit[step]:
                cursor.executemany(_INSERT_AUDIT, [params] * self.audit[step])
            if self.outbox[step]:
                cursor.executemany(_INSERT_OUTBOX, [params] * self.outbox[step])

    def close(self) -> None:
        self.connection.close()


def _spread(rows: int) -> list[int]:
    """``rows`` over the start and the six steps, as evenly as they go (the engine writes some in each)."""
    return [rows // (STEPS + 1) + (1 if n < rows % (STEPS + 1) else 0) for n in range(STEPS + 1)]
