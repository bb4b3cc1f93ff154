"""The district's Open311 services: one per scenario of seed/teams.json, with Chinese names, plus "other".

A scenario that needs more than a description and a place asks for it in its service definition (``metadata``
true): the attributes below, in GeoReport v2's shape. Answers reach the case as ``attributes`` in its start data.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from engine.exceptions import FormInvalid

SEED = Path(__file__).resolve().parent.parent / "seed" / "teams.json"
OTHER = {"code": "other", "name_zh": "其他问题", "name_en": "Other problem"}
GROUP = "城市管理"   # GeoReport's optional grouping of services
NOTICE = "已受理，将按时限派单处置并回访"

YES_NO = [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]
#: scenario code -> its extra questions (GeoReport v2 attributes; ``order`` follows the list).
ATTRIBUTES: dict[str, list[dict]] = {
    "fire_lane": [
        {"code": "blocked", "datatype": "singlevaluelist", "required": True, "description": "消防通道是否完全堵死",
         "values": YES_NO},
        {"code": "plate", "datatype": "string", "required": False, "description": "占道车辆车牌号（如知道）"},
    ],
    "group_renting": [
        {"code": "room", "datatype": "string", "required": True, "description": "楼号及房号"},
        {"code": "occupants", "datatype": "number", "required": False, "description": "估计居住人数"},
    ],
    "three_in_one": [
        {"code": "fire_or_smoke", "datatype": "singlevaluelist", "required": True, "description": "现场是否有明火或烟雾",
         "values": YES_NO},
    ],
    "illegal_dumping": [
        {"code": "waste_kind", "datatype": "singlevaluelist", "required": True, "description": "垃圾种类",
         "values": [{"key": "construction", "name": "建筑垃圾"}, {"key": "household", "name": "生活垃圾"},
                    {"key": "bulky", "name": "大件垃圾"}, {"key": "other", "name": "其他"}]},
    ],
}
#: An answer that makes the report urgent (the routing table reads ``severity``).
RAISES_SEVERITY = {("three_in_one", "fire_or_smoke", "yes"): "high", ("fire_lane", "blocked", "yes"): "high"}


@lru_cache(maxsize=1)
def scenarios() -> dict[str, dict]:
    data = json.loads(SEED.read_text(encoding="utf-8")) if SEED.exists() else {}
    found = {s["code"]: s for s in data.get("scenarios", [])}
    found[OTHER["code"]] = OTHER
    return found


@lru_cache(maxsize=1)
def _teams() -> tuple[dict[str, str], str]:
    data = json.loads(SEED.read_text(encoding="utf-8")) if SEED.exists() else {}
    return {t["code"]: t["name_zh"] for t in data.get("teams", [])}, data.get("lead_suffix", ".lead")


def team_name(code: str) -> str:
    """A team's Chinese name (a lead's inbox counts as its team)."""
    names, lead_suffix = _teams()
    return names.get(code.removesuffix(lead_suffix), code)


def services() -> list[dict]:
    """GET services: every scenario the district handles."""
    return [{"service_code": code, "service_name": s["name_zh"], "description": s.get("name_en") or s["name_zh"],
             "metadata": code in ATTRIBUTES, "type": "realtime", "keywords": code.replace("_", ","),
             "group": GROUP} for code, s in scenarios().items()]


def definition(code: str) -> dict | None:
    if code not in scenarios():
        return None
    attributes = [{"variable": True, "code": a["code"], "datatype": a["datatype"], "required": a["required"],
                   "datatype_description": "", "order": order, "description": a["description"],
                   **({"values": a["values"]} if "values" in a else {})}
                  for order, a in enumerate(ATTRIBUTES.get(code, []), start=1)]
    return {"service_code": code, "attributes": attributes}


def check_attributes(code: str, given: dict[str, list[str]]) -> dict:
    """The answers to ``code``'s questions, checked; unknown attributes are refused (they would be lost)."""
    known = {a["code"]: a for a in ATTRIBUTES.get(code, [])}
    problems = {}
    answers: dict = {}
    for name, values in given.items():
        attribute = known.get(name)
        if attribute is None:
            problems[f"attribute[{name}]"] = f"service {code} asks no such question"
            continue
        value = values[0] if attribute["datatype"] != "multivaluelist" else values
        if attribute["datatype"] == "number":
            try:
                value = float(value)
            except ValueError:
                problems[f"attribute[{name}]"] = "a number"
                continue
        if "values" in attribute and value not in {v["key"] for v in attribute["values"]}:
            problems[f"attribute[{name}]"] = "one of " + ", ".join(v["key"] for v in attribute["values"])
            continue
        if isinstance(value, str):
            value = value.strip()[:500]
        answers[name] = value
    for name, attribute in known.items():
        if attribute["required"] and answers.get(name) in (None, ""):
            problems.setdefault(f"attribute[{name}]", f"required: {attribute['description']}")
    if problems:
        raise FormInvalid(f"the request has {len(problems)} error(s)", problems)
    return answers


def severity(code: str, answers: dict) -> str:
    for (scenario, name, value), raised in RAISES_SEVERITY.items():
        if scenario == code and answers.get(name) == value:
            return raised
    return "medium"
