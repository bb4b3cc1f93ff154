"""The diagrams as drawings and as configuration: diagram interchange laid out legibly, names matching the seed.

Pure checks on the files in bpmn/ (no database): every flow node has a shape, every sequence flow an edge whose
ends touch its source and target, no two shapes overlap (a boundary event sits on its host's border, a lane and
its pool contain their nodes), no flow runs through a shape or along another flow unless they share a source or
a target, and every lane is a team of seed/teams.json.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pytest
from lxml import etree

from engine.deploy.validation import validate_files

ROOT = Path(__file__).resolve().parent.parent.parent
BPMN_DIR = ROOT / "bpmn"
SEED = json.loads((ROOT / "seed" / "teams.json").read_text(encoding="utf-8"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
FLOW_NODES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "task", "userTask",
              "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
              "callActivity", "subProcess"}
DIAGRAMS = sorted(BPMN_DIR.glob("*.bpmn"))
TEAMS = {team["code"] for team in SEED["teams"]}


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: "Rect") -> bool:
        return (self.x < other.x + other.w and other.x < self.x + self.w and
                self.y < other.y + other.h and other.y < self.y + self.h)

    def contains(self, other: "Rect") -> bool:
        return (self.x <= other.x and self.y <= other.y and other.x + other.w <= self.x + self.w and
                other.y + other.h <= self.y + self.h)

    def on_border(self, point) -> bool:
        x, y = point
        inside_x, inside_y = self.x <= x <= self.x + self.w, self.y <= y <= self.y + self.h
        return (inside_y and x in (self.x, self.x + self.w)) or (inside_x and y in (self.y, self.y + self.h))

    def crossed_by(self, a, b) -> bool:
        """Does the axis-parallel segment a-b enter the open interior?"""
        (x1, y1), (x2, y2) = a, b
        if x1 == x2:
            return self.x < x1 < self.x + self.w and min(y1, y2) < self.y + self.h and max(y1, y2) > self.y
        return self.y < y1 < self.y + self.h and min(x1, x2) < self.x + self.w and max(x1, x2) > self.x


def local(element) -> str:
    return etree.QName(element).localname


def bounds(element) -> Rect:
    b = element.find("dc:Bounds", NS)
    return Rect(*(float(b.get(k)) for k in ("x", "y", "width", "height")))


class Drawing:
    """One diagram file: its semantic elements and every plane's shapes and edges."""

    def __init__(self, path: Path):
        self.path = path
        self.root = etree.parse(str(path)).getroot()
        self.elements = {e.get("id"): e for e in self.root.iter() if isinstance(e.tag, str) and e.get("id")}
        self.planes = self.root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
        self.shapes, self.edges, self.labels = {}, {}, {}
        for plane in self.planes:
            for shape in plane.findall("bpmndi:BPMNShape", NS):
                self.shapes[shape.get("bpmnElement")] = (plane.get("bpmnElement"), bounds(shape))
                label = shape.find("bpmndi:BPMNLabel", NS)
                if label is not None:
                    self.labels[shape.get("bpmnElement")] = bounds(label)
            for edge in plane.findall("bpmndi:BPMNEdge", NS):
                points = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
                self.edges[edge.get("bpmnElement")] = (plane.get("bpmnElement"), points)

    def flow_nodes(self):
        return [e for e in self.elements.values() if etree.QName(e).namespace == NS["bpmn"] and
                local(e) in FLOW_NODES]

    def flows(self):
        return self.root.iter(f"{{{NS['bpmn']}}}sequenceFlow")

    def node_rects_by_plane(self) -> dict[str, dict[str, Rect]]:
        planes: dict[str, dict[str, Rect]] = {}
        for element_id, (plane, rect) in self.shapes.items():
            if local(self.elements[element_id]) in FLOW_NODES:
                planes.setdefault(plane, {})[element_id] = rect
        return planes


@pytest.fixture(scope="module", params=DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def drawing(request) -> Drawing:
    return Drawing(request.param)


def test_every_diagram_and_table_deploys_through_the_engines_validation():
    files = {p.name: p.read_bytes() for p in sorted(BPMN_DIR.iterdir()) if p.is_file()}
    parsed = validate_files(files)
    assert set(parsed.specs) == {"closed_loop", *(s["playbook"] for s in SEED["scenarios"]),
                                 SEED["fallback_playbook"], "device_maintenance"}
    assert len(parsed.forms) == len([n for n in files if n.endswith(".json")])


def test_every_flow_node_has_a_shape_and_every_flow_an_edge(drawing):
    missing = [e.get("id") for e in drawing.flow_nodes() if e.get("id") not in drawing.shapes]
    assert missing == []
    for flow in drawing.flows():
        assert flow.get("id") in drawing.edges, flow.get("id")
        assert len(drawing.edges[flow.get("id")][1]) >= 2, flow.get("id")
    lanes = [e for e in drawing.elements.values() if local(e) in ("lane", "participant")]
    assert all(lane.get("id") in drawing.shapes for lane in lanes)


def test_edges_start_at_their_source_and_end_at_their_target(drawing):
    for flow in drawing.flows():
        _, points = drawing.edges[flow.get("id")]
        assert drawing.shapes[flow.get("sourceRef")][1].on_border(points[0]), flow.get("id")
        assert drawing.shapes[flow.get("targetRef")][1].on_border(points[-1]), flow.get("id")
        for a, b in zip(points, points[1:]):
            assert a[0] == b[0] or a[1] == b[1], f"{flow.get('id')} has a diagonal segment"


def test_no_two_shapes_overlap(drawing):
    for plane, rects in drawing.node_rects_by_plane().items():
        for (a, ra), (b, rb) in combinations(rects.items(), 2):
            if drawing.elements[a].get("attachedToRef") == b or drawing.elements[b].get("attachedToRef") == a:
                continue  # a boundary event sits on its host's border
            assert not ra.overlaps(rb), f"{a} overlaps {b}"
    for element_id, label in drawing.labels.items():
        plane = drawing.shapes[element_id][0]
        for other, rect in drawing.node_rects_by_plane()[plane].items():
            if other != element_id and drawing.elements[other].get("attachedToRef") != element_id and \
                    drawing.elements[element_id].get("attachedToRef") != other:
                assert not label.overlaps(rect), f"the label of {element_id} covers {other}"


def test_lanes_and_pools_contain_their_nodes(drawing):
    for lane in drawing.root.iter(f"{{{NS['bpmn']}}}lane"):
        lane_rect = drawing.shapes[lane.get("id")][1]
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            assert lane_rect.contains(drawing.shapes[ref.text][1]), f"{ref.text} is outside lane {lane.get('name')}"
    for participant in drawing.root.iter(f"{{{NS['bpmn']}}}participant"):
        pool = drawing.shapes[participant.get("id")][1]
        process = drawing.elements[participant.get("processRef")]
        for node in process:
            if isinstance(node.tag, str) and local(node) in FLOW_NODES and not node.get("attachedToRef"):
                assert pool.contains(drawing.shapes[node.get("id")][1]), node.get("id")


def test_flows_pass_through_no_shape(drawing):
    rects = drawing.node_rects_by_plane()
    for flow in drawing.flows():
        plane, points = drawing.edges[flow.get("id")]
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        for other, rect in rects[plane].items():
            if other in ends:
                continue
            for a, b in zip(points, points[1:]):
                assert not rect.crossed_by(a, b), f"{flow.get('id')} runs through {other}"


def test_flows_never_run_along_each_other(drawing):
    """Two flows may share a stretch only when they leave the same node or enter the same node."""
    flows = list(drawing.flows())
    for f, g in combinations(flows, 2):
        if f.get("sourceRef") == g.get("sourceRef") or f.get("targetRef") == g.get("targetRef") or \
                drawing.edges[f.get("id")][0] != drawing.edges[g.get("id")][0]:
            continue
        for a, b in zip(drawing.edges[f.get("id")][1], drawing.edges[f.get("id")][1][1:]):
            for c, d in zip(drawing.edges[g.get("id")][1], drawing.edges[g.get("id")][1][1:]):
                assert not _collinear_overlap(a, b, c, d), f"{f.get('id')} runs along {g.get('id')}"


def _collinear_overlap(a, b, c, d) -> bool:
    if a[0] == b[0] == c[0] == d[0]:
        return min(max(a[1], b[1]), max(c[1], d[1])) - max(min(a[1], b[1]), min(c[1], d[1])) > 0
    if a[1] == b[1] == c[1] == d[1]:
        return min(max(a[0], b[0]), max(c[0], d[0])) - max(min(a[0], b[0]), min(c[0], d[0])) > 0
    return False


def test_lanes_are_teams_of_the_seed(drawing):
    for lane in drawing.root.iter(f"{{{NS['bpmn']}}}lane"):
        name = lane.get("name")
        team = name[:-len(SEED["lead_suffix"])] if name.endswith(SEED["lead_suffix"]) else name
        assert team in TEAMS, f"lane {name} names no team of seed/teams.json"


def test_names_are_given_in_chinese_and_english(drawing):
    """One language per label: the name in Chinese, the English as the ``name_en`` property (docs/i18n.md)."""
    for element in drawing.flow_nodes():
        if local(element) in ("userTask", "scriptTask", "businessRuleTask", "callActivity", "subProcess"):
            name = element.get("name") or ""
            english = [p.get("value") for p in element.iter("{*}property") if p.get("name") == "name_en"]
            assert any(ord(ch) > 0x2e80 for ch in name) and not any(ch.isascii() and ch.isalpha() for ch in name), \
                f"{element.get('id')} is named {name!r}"
            assert english and all(ord(ch) < 0x2e80 for ch in english[0]), f"{element.get('id')} has no English name"


def test_the_committed_layout_is_what_the_layout_script_writes(tmp_path, monkeypatch):
    """scripts/bpmn_layout.py is the source of the drawings: re-running it changes nothing (run it after editing
    a grid, or take a diagram laid out by hand out of its LAYOUTS)."""
    spec = importlib.util.spec_from_file_location("bpmn_layout", ROOT / "scripts" / "bpmn_layout.py")
    layout = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bpmn_layout", layout)   # dataclasses look their module up there
    spec.loader.exec_module(layout)
    for name in layout.LAYOUTS:
        copy = tmp_path / name
        copy.write_bytes((BPMN_DIR / name).read_bytes())
        layout.layout_file(copy)
        assert copy.read_bytes() == (BPMN_DIR / name).read_bytes(), f"{name} differs from the layout script's output"


def test_the_verifier_is_someone_other_than_whoever_worked_on_site():
    """Every playbook task whose form takes photos is on-site work, so its doer may not verify the case."""
    files = {p.name: p.read_bytes() for p in sorted(BPMN_DIR.iterdir()) if p.is_file()}
    parsed = validate_files(files)
    verify = parsed.specs["closed_loop"].task_specs["verify"]
    separate = set(verify.extensions["properties"]["separateFrom"].split(","))
    on_site = set()
    for process_id, spec in parsed.specs.items():
        for task_spec in spec.task_specs.values():
            form_name = (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(
                "formJsonSchemaFilename")
            if process_id != "closed_loop" and form_name and \
                    any(name.startswith("photos") for name in parsed.forms[form_name]["properties"]):
                on_site.add(task_spec.bpmn_id)
    assert on_site and on_site <= separate
    assert separate <= {t.bpmn_id for s in parsed.specs.values() for t in s.task_specs.values()}


def test_the_teams_seed_is_eight_in_house_five_partners_and_others_named_in_both_languages():
    kinds = [team["kind"] for team in SEED["teams"]]
    assert (kinds.count("in_house"), kinds.count("partner")) == (8, 5) and kinds.count("other") >= 1
    assert len(TEAMS) == len(SEED["teams"])
    for entry in SEED["teams"] + SEED["scenarios"]:
        assert any(ord(ch) > 0x2e80 for ch in entry["name_zh"]) and entry["name_en"].isascii()
    assert len({s["code"] for s in SEED["scenarios"]}) == len(SEED["scenarios"]) == 8
