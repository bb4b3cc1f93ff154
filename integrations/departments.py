"""Department systems answering cases (data exchange, inbound): ``POST /api/v1/departments/<team>/answers``.

The water company's system reports a hydrant's pipes repaired, say: it sends the message the waiting diagram step
names (``hydrant_repaired``), the correlation values that find the case (``{"device_id": "HP-0912"}``, which it had in
the case events it was sent) and its answer, which lands in the case's data under the catch event's message variable.

Who may answer: a machine client with a bearer token (``jingzhi token create``) whose user is a member of the
department's team (or an admin). What it may answer: only catch events drawn in its own team's lane
(``Engine.send_message(lane=...)``), so the water company cannot, say, close another team's verification. The
engine audits the message with the sender as actor (``department:user``).
"""
from __future__ import annotations

import json

from flask import Blueprint, g, jsonify

from engine.exceptions import FormInvalid, NotFound
from webui import inputs
from webui.security import engine, has_role, requires

bp = Blueprint("departments", __name__, url_prefix="/api/v1/departments")
_SCALAR = (str, int, float)
#: An answer is kept in the case's data, which every later step of the case carries: a work order, not a file.
MAX_ANSWER_CHARS = 32 * 1024


@bp.post("/<department>/answers")
@requires()
def answer(department: str):
    if department not in g.user["teams"] and not has_role("admin"):
        raise NotFound(f"no department {department!r} for this client")  # nothing revealed about other teams
    body = inputs.json_object()
    message, correlations, payload = body.get("message"), body.get("correlations"), body.get("answer", {})
    problems = {}
    if not isinstance(message, str) or not 0 < len(message) <= 200:
        problems["message"] = "the name of the message the case waits for"
    if not isinstance(correlations, dict) or not correlations or len(correlations) > 10 or not all(
            isinstance(k, str) and len(k) <= 200 and isinstance(v, _SCALAR) and not isinstance(v, bool)
            and len(str(v)) <= 500 for k, v in correlations.items()):
        problems["correlations"] = "an object of 1-10 names to text or number values that find the case"
    if not isinstance(payload, dict) or len(json.dumps(payload, ensure_ascii=False)) > MAX_ANSWER_CHARS:
        problems["answer"] = f"an object of at most {MAX_ANSWER_CHARS} characters of JSON"
    if problems:
        raise FormInvalid("an answer needs message, correlations and an answer object", problems)
    delivered = engine().send_message(message, correlations, {"department": department, "answer": payload},
                                      actor=f"{department}:{g.user['username']}", lane=department)
    return jsonify({"delivered": delivered})
