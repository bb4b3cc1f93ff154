"""The names of the codes the engine stores, in both languages: case stages, statuses, SpiffWorkflow task states,
changed attributes (migration), timeline events, channels, severities, roles, outcomes and scenarios.

The English name is the gettext msgid; the Chinese is in webui/translations/zh_Hans/LC_MESSAGES/messages.po.
A code no table names is shown as it is (and the browser test flags it). Scenario and team names of the roster
come first from seed/teams.json (see ``i18n.name_of``); ``SCENARIOS`` names every scenario of sensors/district.py.
"""
from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l


def N_(text: str) -> str:
    """Marks a msgid for extraction (babel.cfg's ``-k N_``) that is translated later, by ``gettext``."""
    return text


STAGES = {
    "discover": _l("Discovered"),
    "register": _l("Registration"),
    "dispatch": _l("Dispatch"),
    "handle": _l("Handling"),
    "verify": _l("Verification"),
    "closed": _l("Closed"),
    "rejected": _l("Not registered"),
    "evaluate": _l("Evaluation"),
    "cancelled": _l("Cancelled"),
}
STATUSES = {
    "running": _l("Running"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "error": _l("Stopped by a failed step"),
    "ready": _l("To do"),
    "open": _l("Not yet closed"),
    "closed": _l("Closed"),
    "failed": _l("Failed"),
    "unknown": _l("Unknown"),
    "online": _l("Online"),
    "offline": _l("Offline"),
    "accepted": _l("Accepted"),
    "dead_letter": _l("Undeliverable"),
}
STATES = {
    "READY": _l("ready"),
    "WAITING": _l("waiting"),
    "STARTED": _l("started"),
    "COMPLETED": _l("completed"),
    "CANCELLED": _l("cancelled"),
    "ERROR": _l("failed"),
    "FUTURE": _l("future"),
    "LIKELY": _l("likely"),
    "MAYBE": _l("maybe"),
}
ATTRIBUTES = {
    "bpmn_name": _l("label"),
    "lane": _l("lane"),
    "extensions": _l("properties (deadline, team, form, stage...)"),
    "script": _l("script"),
    "outputs": _l("outgoing flows"),
    "inputs": _l("incoming flows"),
    "event_definition": _l("event definition"),
    "typename": _l("element type"),
    "documentation": _l("documentation"),
    "decision_table": _l("decision table"),
    "cond_task_specs": _l("branch conditions"),
    "default_task_spec": _l("default flow"),
}
EVENTS = {
    "instance.started": _l("Case opened"),
    "instance.completed": _l("Case closed"),
    "instance.cancelled": _l("Case cancelled"),
    "instance.failed": _l("Automatic step failed"),
    "instance.migrated": _l("Moved to a newer version"),
    "instance.resumed": _l("Resumed"),
    "task.created": _l("Task created"),
    "task.claimed": _l("Task claimed"),
    "task.unclaimed": _l("Task given back"),
    "task.reassigned": _l("Task reassigned"),
    "task.team_retired": _l("Task routed to a retired team"),
    "task.completed": _l("Task completed"),
    "stage.changed": _l("Stage changed"),
    "timer.fired": _l("Timer fired"),
    "message.received": _l("Message received"),
    "deployment.created": _l("Version deployed"),
    "deployment.rolled_back": _l("Version rolled back"),
    "contact.viewed": _l("Reporter's contact viewed"),
    "report.merged": _l("Report merged into a case"),
    "delivery.failed": _l("Delivery failed"),
    "delivery.retried": _l("Delivery retried"),
    "delivery.skipped": _l("Delivery skipped"),
    "delivery.replayed": _l("Deliveries replayed"),
    "evidence.received": _l("Photo received"),
    "evidence.attached": _l("Photos of a merged report"),
}
CHANNELS = {
    "sensor": _l("Sensor"),
    "patrol": _l("Patrol"),
    "hotline": _l("Hotline 12345"),
    "video": _l("Video"),
    "resident": _l("Resident"),
}
SEVERITIES = {
    "low": _l("Low"),
    "medium": _l("Medium"),
    "high": _l("High"),
    "critical": _l("Critical"),
}
ROLES = {
    "officer": _l("Officer"),
    "team_lead": _l("Team lead"),
    "dispatcher": _l("Dispatcher"),
    "designer": _l("Designer"),
    "admin": _l("Administrator"),
}
OUTCOMES = {
    "registered": _l("Registered"),
    "duplicate": _l("Duplicate"),
    "false_alarm": _l("False alarm"),
    "out_of_scope": _l("Out of scope"),
    "recovered_by_itself": _l("Recovered by itself"),
    "cleaned_up": _l("Cleaned up"),
    "door_closed": _l("Door closed"),
    "enforced": _l("Enforced"),
    "fixed_on_site": _l("Fixed on site"),
    "handled": _l("Handled"),
    "not_group_renting": _l("Not group renting"),
    "patrol_made_up": _l("Patrol made up"),
    "penalised": _l("Penalised"),
    "persuaded": _l("Persuaded"),
    "rectified": _l("Rectified"),
    "relocated": _l("Relocated"),
    "removal_ordered": _l("Removal ordered"),
    "repaired": _l("Repaired"),
    "security_checked": _l("Safety checked"),
    "towed": _l("Towed"),
    "vehicle_moved": _l("Vehicle moved"),
    "battery": _l("Battery"),
    "power": _l("Power supply"),
    "network": _l("Network"),
    "damaged": _l("Damaged"),
    "removed": _l("Device removed"),
    "replaced": _l("Replaced"),
    "other": _l("Other"),
}
SCENARIOS = {
    "three_in_one": _l("Three-in-one premises (fire risk)"),
    "hydrant_pressure": _l("Hydrant pressure"),
    "group_renting": _l("Group renting"),
    "door_open": _l("Door left open"),
    "fire_lane": _l("Fire lane blocked"),
    "street_trading": _l("Street trading"),
    "cleaning_patrol": _l("Missed cleaning patrol"),
    "illegal_dumping": _l("Illegal dumping"),
    "electrical_hazard": _l("Electrical hazard"),
    "ebike_charging": _l("E-bike charging indoors"),
    "gas_leak": _l("Gas leak"),
    "water_leak": _l("Water leak"),
    "water_usage": _l("Unusual water use"),
    "elevator_fault": _l("Lift fault"),
    "manhole_cover": _l("Manhole cover displaced"),
    "trash_overflow": _l("Bin overflowing"),
    "thrown_objects": _l("Objects thrown from height"),
    "elderly_alarm": _l("Elderly emergency call"),
    "elderly_care": _l("Elderly living alone: no activity"),
    "illegal_parking": _l("Illegal parking"),
    "noise": _l("Noise"),
    "dust": _l("Dust"),
    "air_quality": _l("Air quality"),
    "flooding": _l("Flooding"),
    "tree_tilt": _l("Leaning tree"),
    "street_light": _l("Street light out"),
    "billboard_tilt": _l("Leaning billboard"),
    "crowd_density": _l("Crowding"),
    "intrusion": _l("Intrusion"),
    "intrusion_perimeter": _l("Perimeter breach"),
    "fire_door_open": _l("Fire door open"),
    "sprinkler_pressure": _l("Sprinkler pressure"),
    "water_tank_level": _l("Roof water tank level"),
    "septic_overflow": _l("Septic tank overflow"),
    "garbage_sorting": _l("Waste sorting station"),
    "sewer_gas": _l("Sewer gas"),
    "structure_strain": _l("Structural strain"),
    "construction_nuisance": _l("Construction nuisance"),
    "other": _l("Other"),
    "general": _l("General"),
}
TEAM_KINDS = {
    "in_house": _l("In-house force"),
    "partner": _l("Partner department"),
    "other": _l("Other organisation"),
}
HIT_POLICIES = {
    "UNIQUE": _l("Unique"),
    "FIRST": _l("First"),
    "PRIORITY": _l("Priority"),
    "ANY": _l("Any"),
    "COLLECT": _l("Collect"),
    "RULE ORDER": _l("Rule order"),
    "OUTPUT ORDER": _l("Output order"),
}
FILTERS = {
    "scenario": _l("Scenario"),
    "stage": _l("Stage"),
    "compound": _l("Compound"),
    "team": _l("Team"),
    "channel": _l("Channel"),
    "severity": _l("Severity"),
}
PANEL = {
    "select": _l("Select an element to see and change what the engine reads"),
    "id": _l("Id"),
    "name": _l("Element name"),
    "name_en": _l("English name"),
    "process": _l("Process"),
    "executable": _l("Executable"),
    "lane_team": _l("Lane team (team code)"),
    "lane": _l("Lane"),
    "team": _l("Team (expression)"),
    "dueIn": _l("Due in (expression, e.g. \"PT30M\")"),
    "stage": _l("Case stage"),
    "none": _l("(none)"),
    "formJsonSchemaFilename": _l("Form schema file"),
    "formUiSchemaFilename": _l("Form layout file"),
    "separateFrom": _l("Separate from (four eyes: task ids)"),
    "instructions": _l("Instructions"),
    "condition": _l("Condition (Python expression)"),
    "default_flow": _l("Default flow (no condition)"),
    "timer": _l("Timer"),
    "timeDuration": _l("Duration"),
    "timeDate": _l("Date"),
    "timeCycle": _l("Cycle"),
    "timer_expression": _l("Timer expression (e.g. \"PT4H\" or a variable)"),
    "message": _l("Message"),
    "new_message": _l("New message name"),
    "messageVariable": _l("Store the payload in variable"),
    "messagePayload": _l("Payload sent (expression)"),
    "correlation": _l("Correlation (retrieval expressions)"),
    "calledElement": _l("Called process"),
    "script": _l("Script (Python)"),
    "preScript": _l("Pre-script"),
    "postScript": _l("Post-script"),
    "calledDecisionId": _l("Decision table"),
    "edit_form": _l("Edit form"),
    "new_form": _l("New form"),
    "edit_layout": _l("Edit form layout"),
    "new_layout": _l("New form layout"),
    "problems_here": _l("Problems of this element"),
    "interrupting": _l("Interrupting"),
    "deadline_hint": _l("The timer on this task with the same duration is its escalation: it changes with the deadline"),
    "escalation_linked": _l("escalation, changes with the deadline"),
    "timer_other": _l("another duration (a reminder): unchanged"),
    "deadline_mismatch": _l("No timer on this task fires at the deadline: the escalation and the deadline differ"),
    "escalation_of_deadline": _l("The escalation at the task's deadline: changing it changes the deadline too"),
}

#: What bpmn-js and dmn-js say in their own UI (palette, context pad, popup menu, decision table), for the
#: translate module webui/static/translate.js; what is not listed here stays in English.
EDITOR = (
    N_("Activate hand tool"), N_("Activate lasso tool"), N_("Activate create/remove space tool"),
    N_("Activate global connect tool"), N_("Create start event"), N_("Create intermediate/boundary event"),
    N_("Create end event"), N_("Create gateway"), N_("Create task"), N_("Create expanded sub-process"),
    N_("Create pool/participant"), N_("Create data object reference"), N_("Create data store reference"),
    N_("Create group"), N_("Append end event"), N_("Append gateway"), N_("Append task"),
    N_("Append intermediate/boundary event"), N_("Append text annotation"), N_("Append compensation activity"),
    N_("Append receive task"), N_("Append message intermediate catch event"),
    N_("Append timer intermediate catch event"), N_("Append conditional intermediate catch event"),
    N_("Append signal intermediate catch event"), N_("Change element"), N_("Change type"), N_("Delete"),
    N_("Connect to other element"), N_("Connect using association"), N_("Connect using data input association"),
    N_("Connect using sequence/message flow or association"), N_("Add lane above"), N_("Add lane below"),
    N_("Divide into two lanes"), N_("Divide into three lanes"), N_("Align elements"),
    N_("Distribute elements horizontally"), N_("Distribute elements vertically"), N_("Toggle non-interrupting"),
    N_("Loop"), N_("Parallel multi-instance"), N_("Sequential multi-instance"), N_("Collection"),
    N_("Participant multiplicity"), N_("Search in diagram"), N_("Task"), N_("User task"), N_("Service task"),
    N_("Script task"), N_("Business rule task"), N_("Send task"), N_("Receive task"), N_("Manual task"),
    N_("Call activity"), N_("Sub-process (collapsed)"), N_("Sub-process (expanded)"), N_("Start event"),
    N_("End event"), N_("Exclusive gateway"), N_("Parallel gateway"), N_("Inclusive gateway"),
    N_("Event-based gateway"), N_("Complex gateway"), N_("Timer start event"), N_("Message start event"),
    N_("Message end event"), N_("Error end event"), N_("Terminate end event"), N_("Timer boundary event"),
    N_("Message boundary event"), N_("Timer intermediate catch event"), N_("Message intermediate catch event"),
    N_("Message intermediate throw event"), N_("Intermediate throw event"), N_("Sequence flow"), N_("Default flow"),
    N_("Conditional flow"), N_("Hit policy"), N_("Hit policy:"), N_("When"), N_("And"), N_("Then"),
    N_("Annotation"), N_("Annotations"), N_("Input"), N_("Output"), N_("Add rule"), N_("Add rule above"),
    N_("Add rule below"), N_("Remove rule"), N_("Copy rule"), N_("Cut rule"), N_("Move rule"),
    N_("Paste rule above"), N_("Paste rule below"), N_("Add input"), N_("Add output"), N_("Add input column left"),
    N_("Add input column right"), N_("Add output column left"), N_("Add output column right"),
    N_("Remove input column"), N_("Remove output column"), N_("Copy input column"), N_("Copy output column"),
    N_("Cut input column"), N_("Cut output column"), N_("Paste input column left"), N_("Paste input column right"),
    N_("Paste output column left"), N_("Paste output column right"), N_("Add cell description"),
    N_("Remove cell description"), N_("Input label"), N_("Input expression"), N_("Input type"), N_("Input values"),
    N_("Output label"), N_("Output name"), N_("Output type"), N_("Output values"), N_("Expression"),
    N_("Expression language"), N_("Expression language:"), N_("Change cell expression language"),
    N_("Enter expression"), N_("Literal expression"), N_("Literal expression editor"), N_("Decision name"),
    N_("Definition ID"), N_("Definition name"), N_("Variable name"), N_("Variable name:"), N_("Variable type"),
    N_("Variable type:"), N_("View DRD"), N_("Type"), N_("Value"), N_("Values"), N_("Predefined values"),
    N_("Add predefined values"), N_("Clear predefined values"), N_("Add values"), N_("Custom values"),
    N_("No values"), N_("Edit"), N_("Edit string"), N_("Edit number"), N_("Edit boolean"), N_("Edit date"),
    N_("Edit time"), N_("Edit date and time"), N_("Edit duration"), N_("Edit input"), N_("Edit output"),
    N_("String value"), N_("Boolean value"), N_("Yes"), N_("No"), N_("Match one"), N_("Match none"),
    N_("Comparison"), N_("Comparison operator"), N_("Range"), N_("Equals"), N_("Less"), N_("Less or equals"),
    N_("Greater"), N_("Greater or equals"), N_("Include"), N_("Exclude"), N_("Strings must be in double quotes"),
    N_("Resize"), N_("Test type"), N_("Set value"), N_("Unique"), N_("First"), N_("Priority"), N_("Any"),
    N_("Collect"), N_("Rule order"), N_("Output order"),
)

#: Device types of the registry (sensors/district.py), by code.
DEVICE_TYPES = {
    "smoke_alarm": _l("Smoke alarm"),
    "temperature_alarm": _l("Temperature alarm"),
    "hydrant_pressure_monitor": _l("Hydrant pressure monitor"),
    "door_access": _l("Door access control"),
    "door_closure_monitor": _l("Fire door closure monitor"),
    "geomagnetic_detector": _l("Geomagnetic vehicle detector"),
    "electronic_fence": _l("Electronic fence"),
    "patrol_anchor": _l("Patrol checkpoint"),
    "dumping_camera": _l("Dumping camera"),
    "electrical_hazard_monitor": _l("Electrical hazard monitor"),
    "ebike_charging_monitor": _l("E-bike charging monitor"),
    "gas_leak_detector": _l("Gas leak detector"),
    "water_leak_sensor": _l("Water leak sensor"),
    "water_meter": _l("Water meter"),
    "elevator_monitor": _l("Lift monitor"),
    "manhole_cover": _l("Manhole cover sensor"),
    "trash_bin_level": _l("Bin fill level"),
    "fall_from_height_camera": _l("Falling objects camera"),
    "elderly_alarm_button": _l("Elderly alarm button"),
    "elderly_water_meter": _l("Elderly water meter"),
    "parking_sensor": _l("Parking sensor"),
    "noise_monitor": _l("Noise monitor"),
    "dust_monitor": _l("Dust monitor"),
    "air_quality_monitor": _l("Air quality monitor"),
    "flood_level_sensor": _l("Flood level sensor"),
    "tree_tilt_sensor": _l("Tree tilt sensor"),
    "street_light_monitor": _l("Street light monitor"),
    "billboard_tilt_sensor": _l("Billboard tilt sensor"),
    "crowd_counter": _l("Crowd counter"),
    "security_camera": _l("Security camera"),
    "perimeter_infrared": _l("Perimeter infrared beam"),
    "fire_door_monitor": _l("Fire door monitor"),
    "sprinkler_pressure": _l("Sprinkler pressure monitor"),
    "rooftop_water_tank": _l("Rooftop water tank level"),
    "septic_tank_level": _l("Septic tank level"),
    "garbage_sorting_station": _l("Waste sorting station"),
    "well_cover_gas": _l("Gas under a manhole cover"),
    "bridge_strain_gauge": _l("Bridge strain gauge"),
    "construction_site_monitor": _l("Construction site monitor"),
}
#: What a device reports (engine/alarms/alerts.py: ALARM, CLEAR, HEARTBEAT).
ALERT_EVENTS = {"alarm": _l("Alarm"), "clear": _l("All clear"), "heartbeat": _l("Heartbeat")}
#: A device's status in the registry (engine.models.Device.status).
DEVICE_STATUSES = {"online": _l("Online"), "offline": _l("Offline"), "unknown": _l("Not seen yet")}

#: Where a notification goes (engine.operators.CHANNELS) and what became of a delivery (engine.outbox).
NOTIFY_CHANNELS = {"email": _l("E-mail"), "wecom": _l("WeCom"), "dingtalk": _l("DingTalk"), "sms": _l("SMS"),
                   "inbox": _l("Web inbox"), "webhook": _l("Department system")}
DELIVERY_STATUSES = {"pending": _l("Waiting"), "sending": _l("Sending"), "sent": _l("Sent"), "dead": _l("Failed"),
                     "discarded": _l("Skipped")}

#: Which table names a kind of code, for ``label(kind, code)``.
TABLES = {"stage": STAGES, "status": STATUSES, "state": STATES, "attribute": ATTRIBUTES, "event": EVENTS,
          "channel": CHANNELS, "severity": SEVERITIES, "role": ROLES, "outcome": OUTCOMES, "scenario": SCENARIOS,
          "filter": FILTERS, "team_kind": TEAM_KINDS, "hit_policy": HIT_POLICIES,
          "device_type": DEVICE_TYPES, "device_status": DEVICE_STATUSES, "alert_event": ALERT_EVENTS,
          "notify_channel": NOTIFY_CHANNELS, "delivery_status": DELIVERY_STATUSES}


def label(kind: str, code: str | None) -> str:
    """``code``'s name in the current language, or the code itself when no table names it."""
    if code is None or code == "":
        return "-"
    found = TABLES.get(kind, {}).get(code)
    return str(found) if found is not None else str(code)


def choices(kind: str) -> dict[str, str]:
    """Every code of ``kind`` with its name, in the current language (selects, the designer's stage list)."""
    return {code: str(text) for code, text in TABLES[kind].items()}


def editor_strings() -> dict[str, str]:
    """The diagram editors' own English strings with their translation in the current language (none in English)."""
    return {text: gettext(text) for text in EDITOR if gettext(text) != text}
