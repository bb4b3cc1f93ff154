"""The OpenAPI 3.1 description of /api/v1 (served at /api/v1/openapi.json; a test checks it lists every route)."""
from __future__ import annotations


def _error(description: str) -> dict:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


#: Ids and version numbers in paths: a larger or negative number names no row (404, like an unknown id).
ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": ID}
CASE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": ID,
           "description": "the case's process instance id"}
COMMON = {"401": _error("not logged in, or unknown bearer token"), "403": _error("role or team does not allow it"),
          "503": _error("the database is unavailable: nothing was saved; send the same request again after "
                        "Retry-After seconds")}
LIST_ERRORS = {"422": _error("a filter or limit out of range (details name it)")}
FILTERS = [{"name": n, "in": "query", "schema": {"type": "string"}} for n in ("scenario", "stage", "compound")]
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}}
PERIOD = [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
          {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}]

PROCESS_ID = {"name": "process_id", "in": "path", "required": True, "schema": {"type": "string"}}
FILE_SET = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["files"], "properties": {"files": {
        "type": "object", "additionalProperties": {"type": "string"},
        "description": "file name (.bpmn, .dmn, .json) -> its text"},
        "draft": {"type": "string", "description": "deploy: the process edited (its draft is dropped once deployed)"},
        "base_deployment_id": {"type": "integer", "description": "the deployment the edit started from"},
        "force": {"type": "boolean", "description": "deploy: even over a newer version deployed since the base"}}}}}}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Jingzhi (精智) case-handling API", "version": "1",
             "description": "Officers' tasks, cases, manual reports, sensor alerts and indicators. People use their "
                            "session (writes need the X-CSRF-Token header); machines a bearer token from "
                            "`jingzhi token create USER`. An error's `code` never changes; its `message` (and a "
                            "problem's) is for people, in the request's language: `Accept-Language` zh or en (or "
                            "the user's choice in the session), else English."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}, {"session": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        "schemas": {
            "VideoAnswer": {"type": "object", "required": ["status", "event_id", "instance_id"], "properties": {
                "status": {"enum": ["created", "duplicate"]}, "event_id": {"type": "string"},
                "instance_id": {"type": ["integer", "null"]}}},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
            "Task": {"type": "object", "properties": {
                "id": {"type": "integer"}, "instance_id": {"type": "integer"}, "bpmn_id": {"type": "string"},
                "label": {"type": ["string", "null"]}, "team": {"type": ["string", "null"]},
                "assignee": {"type": ["string", "null"]}, "status": {"type": "string"},
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "scenario": {"type": ["string", "null"]}, "stage": {"type": ["string", "null"]},
                "compound": {"type": ["string", "null"]}}},
            "Case": {"type": "object", "properties": {
                "instance_id": {"type": "integer"}, "scenario": {"type": ["string", "null"]},
                "channel": {"type": ["string", "null"]}, "stage": {"type": "string"},
                "opened_at": {"type": "string", "format": "date-time"},
                "closed_at": {"type": ["string", "null"], "format": "date-time"},
                "sla_due_at": {"type": ["string", "null"], "format": "date-time"},
                "rework_count": {"type": "integer"}}},
            "AuditEvent": {"type": "object", "properties": {
                "id": {"type": "integer"}, "instance_id": {"type": ["integer", "null"]},
                "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                "kind": {"type": "string"}, "detail": {
                    "description": "what the event carries, every string with telephone numbers and e-mail "
                                   "addresses masked"}}},
            "Problem": {"type": "object", "properties": {
                "file": {"type": "string"}, "element_id": {"type": ["string", "null"]},
                "line": {"type": ["integer", "null"]}, "message": {"type": "string"}}},
            "Report": {"type": "object", "required": ["scenario", "channel", "address"], "properties": {
                "scenario": {"type": "string", "maxLength": 80}, "channel": {"enum": ["patrol", "hotline", "resident"]},
                "severity": {"enum": ["low", "medium", "high", "critical"]},
                "address": {"type": "string", "maxLength": 300}, "compound": {"type": "string", "maxLength": 120},
                "description": {"type": "string", "maxLength": 4000}}},
        },
    },
    "paths": {
        "/healthz": {"get": {"summary": "liveness and database check", "security": [],
                             "responses": {"200": _ok("up"), "503": _error("the database does not answer")}}},
        "/openapi.json": {"get": {"summary": "this document", "security": [], "responses": {"200": _ok("OpenAPI")}}},
        "/tasks": {"get": {"summary": "ready tasks of my teams (unclaimed) and mine, soonest due first",
                           "parameters": [{"name": "scope", "in": "query",
                                           "schema": {"enum": ["team", "mine", "all"], "default": "all"}},
                                          *FILTERS, LIMIT],
                           "responses": {"200": _ok("tasks", {"type": "object", "properties": {
                               "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                               "count": {"type": "integer"}}}), **LIST_ERRORS, **COMMON}}},
        "/tasks/{task_id}": {"get": {"summary": "one task", "parameters": [TASK_ID],
                                     "responses": {"200": _ok("the task"), "404": _error("no such task, or not "
                                                                                          "visible"), **COMMON}}},
        "/tasks/{task_id}/claim": {"post": {"summary": "take a task", "parameters": [TASK_ID], "responses": {
            "200": _ok("claimed"), "403": _error("held by someone else"), "404": _error("not visible"),
            "409": _error("not ready")}}},
        "/tasks/{task_id}/unclaim": {"post": {"summary": "give a task back (its holder, or a lead of its team)",
                                              "parameters": [TASK_ID], "responses": {
            "200": _ok("given back"), "403": _error("not the holder"), "404": _error("not visible"),
            "409": _error("not ready any more")}}},
        "/tasks/{task_id}/complete": {"post": {
            "summary": "complete a task with data checked against its form schema", "parameters": [TASK_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"data": {"type": "object"}}}}}},
            "responses": {"200": _ok("completed; next_tasks lists what became ready"),
                          "422": _error("form invalid (code form_invalid: details maps fields to messages), or a "
                                        "diagram step failed (code instance_failed: nothing saved, details name the element)"),
                          "403": _error("claimed by another, or four-eyes"), "404": _error("not visible"),
                          "409": _error("not ready")}}},
        "/cases": {
            "get": {"summary": "cases found, newest first, paged (district roles: all; others: the ones they had a "
                               "part in). q matches a case number, a device id or business key prefix, or part of "
                               "the address; dates are days in the district's time zone",
                    "parameters": [*[{"name": n, "in": "query", "schema": {"type": "string", "maxLength": longest}}
                                     for n, longest in (("q", 300), ("scenario", 80), ("stage", 20),
                                                        ("channel", 40), ("compound", 120), ("team", 120),
                                                        ("device", 80))],
                                   *[{"name": n, "in": "query", "schema": {"type": "string", "format": "date"}}
                                     for n in ("opened_from", "opened_to")],
                                   {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                                   {"name": "per_page", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
                    "responses": {"200": _ok("cases", {"type": "object", "properties": {
                        "cases": {"type": "array", "items": {"$ref": "#/components/schemas/Case"}},
                        "count": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "total": {"type": "integer"}, "pages": {"type": "integer"},
                "total_capped": {"type": "boolean", "description": "more rows than total: the count stops at 10,000"}}}),
                                  "422": _error("a search parameter cannot be used: details names it"), **COMMON}},
            "post": {"summary": "manual report (patrol, hotline, resident): starts the closed loop; dispatcher",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Report"}}}},
                     "responses": {"201": _ok("started"), "422": _error("invalid report"), **COMMON}}},
        "/audit": {"get": {
            "summary": "audit events found, newest first, paged (admin). actor and kind are exact; text matches "
                       "part of the event's detail (a term that looks like a telephone number or e-mail address "
                       "is refused); from and to are days in the district's time zone",
            "parameters": [*[{"name": n, "in": "query", "schema": {"type": "string", "maxLength": longest}}
                             for n, longest in (("actor", 120), ("kind", 60), ("text", 300))],
                           {"name": "instance_id", "in": "query", "schema": ID},
                           *PERIOD,
                           {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "per_page", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
            "responses": {"200": _ok("events", {"type": "object", "properties": {
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}},
                "count": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                "total": {"type": "integer"}, "pages": {"type": "integer"},
                "total_capped": {"type": "boolean", "description": "more rows than total: the count stops at 10,000"}}}),
                          "422": _error("a search parameter cannot be used: details names it"), **COMMON}}},
        "/cases/{instance_id}": {"get": {"summary": "a case: row, tasks, history, diagram elements",
                                         "parameters": [CASE_ID],
                                         "responses": {"200": _ok("the case"), "404": _error("not visible"),
                                                       **COMMON}}},
        "/alerts": {"post": {
            "summary": "a sensor message (same payload as MQTT jingzhi/sensors/{device_id}/{event}); dispatcher or a "
                       "machine token of one",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["msg_id", "device_id", "scenario", "event", "ts"], "properties": {
                    "msg_id": {"type": "string"}, "device_id": {"type": "string"}, "scenario": {"type": "string"},
                    "event": {"enum": ["alarm", "clear", "heartbeat"]}, "ts": {"type": "string", "format": "date-time"},
                    "value": {"type": "number"}, "unit": {"type": "string"}, "detail": {}}}}}},
            "responses": {"202": _ok("accepted: stored, case opened or updated (instance_id; null when REDIS_URL "
                                     "queues the case start for a worker)"),
                          "200": _ok("duplicate of a message already stored"),
                          "422": _error("dead letter: stored with the reason, not processed"), **COMMON}}},
        "/departments/{department}/answers": {"post": {
            "summary": "a department system answers a case waiting for it (the water company reports a hydrant "
                       "repaired): the message reaches the waiting step of the department's lane by correlation. "
                       "A member of the department's team (a machine token), or an admin",
            "parameters": [{"name": "department", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "the department's team code (water_company)"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["message", "correlations"], "properties": {
                    "message": {"type": "string", "minLength": 1, "maxLength": 200,
                                "description": "the message the case waits for (hydrant_repaired)"},
                    "correlations": {"type": "object", "minProperties": 1, "maxProperties": 10,
                                     "additionalProperties": {"type": ["string", "number"]},
                                     "description": "values that find the case ({\"device_id\": \"HP-0912\"})"},
                    "answer": {"type": "object", "description": "the department's data, kept with the case"}}}}}},
            "responses": {"200": _ok("delivered to these cases", {"type": "object", "properties": {
                "delivered": {"type": "array", "items": {"type": "integer"}}}}),
                "404": _error("no case of this department's lane waits for the message with these values, or "
                              "the client is not of this department"),
                "422": _error("not a message, correlations and answer (details name them)"), **COMMON}}},
        "/video/events": {"post": {
            "summary": "a video-analytics event with its snapshot: opens a case with channel video and the snapshot as "
                       "evidence; a repeated event_id is a no-op answering the first one's case; dispatcher or a "
                       "machine token of one (integrations/video.py)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["event_id", "camera_id", "event_type", "occurred_at", "snapshot"],
                "properties": {
                    "event_id": {"type": "string", "minLength": 1, "maxLength": 120,
                                 "description": "the video system's own id of the event (idempotency key)"},
                    "camera_id": {"type": "string", "minLength": 1, "maxLength": 80,
                                  "description": "a camera of the device registry gives the place when lat/lon "
                                                 "are not sent"},
                    "event_type": {"type": "string", "minLength": 1, "maxLength": 80,
                                   "description": "a scenario code, or an event type such as garbage_dumping, "
                                                  "vehicle_on_fire_lane, street_vending, door_left_open"},
                    "occurred_at": {"type": "string", "format": "date-time",
                                    "description": "with its zone; not in the future, at most 7 days ago"},
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                    "description": {"type": "string", "maxLength": 2000},
                    "snapshot": {"type": "string", "contentEncoding": "base64",
                                 "description": "a JPEG, PNG, GIF or WebP image, base64"}}}}}},
            "responses": {"201": _ok("case opened", {"$ref": "#/components/schemas/VideoAnswer"}),
                          "200": _ok("duplicate: the event_id was received already",
                                     {"$ref": "#/components/schemas/VideoAnswer"}),
                          "422": _error("invalid event: details name each field (unknown event type, place "
                                        "outside the district, snapshot not an image, ...)"),
                          "503": _error("received, but the case could not start: post it again"), **COMMON}}},
        "/kpis": {"get": {"summary": "the district's indicators for a period (team lead, dispatcher, admin)",
                          "parameters": PERIOD, "responses": {"200": _ok("indicators"),
                                                              "422": _error("not a date, or from after to"),
                                                              **COMMON}}},
        "/designer/validate": {"post": {
            "summary": "check an edited file set with the engine's deploy validation; stores nothing (designer, admin)",
            "requestBody": FILE_SET,
            "responses": {"200": _ok("valid, or problems: [{file, element_id, line, message}]", {
                "type": "object", "properties": {"valid": {"type": "boolean"}, "problems": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}}),
                "413": _error("the file set is over the size limit"), "422": _error("not a file set"), **COMMON}}},
        "/designer/deploy": {"post": {
            "summary": "deploy a file set as a new version of every process in it (designer, admin)",
            "requestBody": FILE_SET,
            "responses": {"201": _ok("deployed: deployment_id, versions"),
                          "200": _ok("the same content is deployed already: no new version (created: false)"),
                          "409": _error("with draft and base_deployment_id: a newer version of that process was "
                                        "deployed since; send force: true to deploy anyway"),
                          "413": _error("the file set is over the size limit"),
                          "422": _error("refused, nothing stored: details lists every problem"), **COMMON}}},
        "/designer/drafts/{process_id}": {
            "put": {"summary": "keep a file set as the caller's draft of a process, not validated (designer, admin)",
                    "parameters": [PROCESS_ID], "requestBody": FILE_SET,
                    "responses": {"200": _ok("saved: saved_at, base_deployment_id"),
                                  "413": _error("the file set is over the size limit"),
                                  "422": _error("not a file set"), **COMMON}},
            "delete": {"summary": "discard the caller's draft of a process (designer, admin)",
                       "parameters": [PROCESS_ID],
                       "responses": {"200": _ok("discarded: true, or false when there was none"), **COMMON}}},
        "/designer/{process_id}/{number}/migrate": {"post": {
            "summary": "move every running instance of a version to a newer version of its process, each only when "
                       "that changes no task it has reached (designer, admin)",
            "parameters": [PROCESS_ID, {"name": "number", "in": "path", "required": True,
                                        "schema": ID, "description": "the version to move from"}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"to_version": {
                    "type": "integer", "description": "the version to move to (default: the newest)"}}}}}},
            "responses": {"200": _ok("one outcome per instance: migrated, or refused with the reason and the "
                                     "tasks that stopped it", {
                "type": "object", "properties": {
                    "process_id": {"type": "string"}, "from_version": {"type": "integer"},
                    "to_version": {"type": ["integer", "null"]}, "migrated": {"type": "integer"},
                    "refused": {"type": "integer"}, "instances": {"type": "array", "items": {
                        "type": "object", "properties": {
                            "instance_id": {"type": "integer"}, "migrated": {"type": "boolean"},
                            "from_version": {"type": "integer"}, "to_version": {"type": "integer"},
                            "reason": {"type": ["string", "null"]}, "blockers": {"type": "array", "items": {
                                "type": "object", "properties": {
                                    "process_id": {"type": "string"}, "element_id": {"type": "string"},
                                    "label": {"type": ["string", "null"]}, "state": {"type": "string"},
                                    "change": {"type": "string", "description": "removed, or changed: ..."},
                                    "attributes": {"type": "array", "items": {"type": "string"}}}}}}}}}}),
                "404": _error("no such process or version"), "422": _error("to_version is not a number"),
                **COMMON}}},
        "/designer/form-preview": {"post": {
            "summary": "a form schema rendered as the task page renders it, for the designer's preview",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["schema"], "properties": {
                    "name": {"type": "string"}, "schema": {"type": "string", "description": "JSON text"}}}}}},
            "responses": {"200": _ok("fields and their HTML"),
                          "422": _error("not JSON or not a valid JSON Schema: details say where"), **COMMON}}},
    },
}


#: What any operation may answer besides its own responses: the request refused before the operation looked at it.
ANY = {"400": _error("a NUL character in the address or a form field, a CSRF token missing from a session write, "
                     "or a request the server cannot read")}
WITH_PATH_ID = {"404": _error("no such thing, not visible to the caller, or an id no row can have")}
WITH_BODY = {"413": _error("the request body is over the server's limit"),
             "422": _error("the body is not a JSON object of storable values (no NaN or Infinity, NUL character, "
                           "lone surrogate or nesting deeper than 32), or not what the operation takes")}


def _complete(document: dict) -> dict:
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            extra = {**ANY, **(WITH_PATH_ID if "{" in path else {}), **(WITH_BODY if "requestBody" in operation else {}),
                     **(COMMON if operation.get("security") != [] else {})}
            for status, response in extra.items():
                responses.setdefault(status, response)
    return document


_complete(DOCUMENT)
