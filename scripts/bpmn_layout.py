"""Lay out the diagrams in bpmn/ and write their BPMN diagram interchange (bpmndi), so they render in bpmn-js.

A development tool, not imported by the engine: ``python scripts/bpmn_layout.py [file.bpmn ...]`` rewrites the
``bpmndi:BPMNDiagram`` sections of the diagrams named in :data:`LAYOUTS` (all of them by default) and leaves the
process semantics untouched. Each plane (a pool with lanes, or a collapsed subprocess drawn on its own plane, as
bpmn-js's drill-down expects) is a grid given below row by row: one string per row, one token per column, ``.`` for
an empty cell. Rows are grouped by lane and must hold exactly the nodes the lane's ``flowNodeRef``s name. Boundary
events are not in the grid: they sit on their host's top or bottom edge, on the side of their first target.

Sequence flows are routed orthogonally on a graph of lines running through cell centres and along the gaps between
cells (three tracks per gap), never through a shape, with penalties for bends and crossings and a prohibitive one
for running along another flow that shares neither its source nor its target. Re-run it after changing a grid;
a diagram someone has since laid out by hand in a modeller should be taken out of :data:`LAYOUTS` first.
"""
from __future__ import annotations

import heapq
import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}

#: Cell size: a task (100 x 80) with room around it for boundary events, labels and three routing tracks.
CELL_W, CELL_H = 160, 160
TRACK_OFFSETS = (-10, 0, 10)
POOL_X, POOL_Y, POOL_LABEL_W, LANE_LABEL_W = 100, 60, 30, 30
PLANE_X, PLANE_Y = 100, 60
BEND, CROSSING, OVERLAP, SIBLING_OVERLAP, PORT_SHARED = 40, 30, 5000, 500, 120
SHAPE_MARGIN = 6
LABEL_W = 90

SIZES = {"event": (36, 36), "gateway": (50, 50), "task": (100, 80)}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
TASKS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
         "receiveTask", "callActivity", "subProcess"}

_ = None  # a lane-less plane
LAYOUTS: dict[str, dict[str, list[tuple[str | None, list[str]]]]] = {
    "closed_loop.bpmn": {
        "closed_loop": [
            ("command_centre", [
                ". . . . . . auto_registered . . . . . . . . . . .",
                "start intake auto_register triage set_limits gw_auto register gw_registered route_case dispatch "
                "handle . . close evaluate gw_callback . end_closed",
                ". . . . . register_reminded register_escalate reject end_rejected . . . . . . . callback .",
                ". . . . . . register_escalated . . . . . . . . . . .",
            ]),
            ("grid_patrol", [
                ". . . . . . . . . . . verify_reminded auto_verified . . . . .",
                ". . . . . . . . . . rework verify gw_passed . . . . .",
                ". . . . . . . . . . . verify_escalate verify_escalated . . . . .",
            ]),
        ],
        "handle": [(_, [
            ". . call_street_trading .",
            ". . call_group_renting .",
            ". . call_three_in_one .",
            ". . call_fire_lane .",
            "handle_start gw_playbook call_hydrant_pressure gw_playbook_done handle_end",
            ". . call_door_open .",
            ". . call_cleaning_patrol .",
            ". . call_illegal_dumping .",
            ". . call_general .",
        ])],
    },
    "street_trading.bpmn": {"playbook_street_trading": [
        ("urban_management", [
            ". persuade_reminded . . . . .",
            "start persuade gw_repeat persuaded end_persuaded . .",
            ". persuade_escalate . . . . .",
            ". persuade_escalated collect_evidence . enforce_penalty penalised end_penalised",
        ]),
        ("urban_management.lead", [
            ". . . penalty_decision . . .",
        ]),
    ]},
    "group_renting.bpmn": {"playbook_group_renting": [
        ("housing_office", [
            ". plan_inspection_reminded . . . . . . . . . .",
            "start plan_inspection split_inspection inspect_housing join_inspection assess gw_confirmed issue_notice "
            "wait_rectification reinspect gw_rectified rectified end_rectified",
            ". plan_inspection_escalate . . . . not_confirmed end_not_confirmed . . . . .",
            ". plan_inspection_escalated . . . . . . . . . . .",
        ]),
        ("police", [". . . inspect_police . . . . . . . . ."]),
        ("property_company", [". . . inspect_property . . . . . . . . ."]),
        ("urban_management", [". . . . . . . . . . enforce enforced end_enforced"]),
    ]},
    "three_in_one.bpmn": {"playbook_three_in_one": [
        ("fire_station", [
            ". rush_to_scene_reminded . . . . . .",
            "start rush_to_scene remove_hazard . . . . .",
            ". rush_to_scene_escalate . . . . . .",
            ". rush_to_scene_escalated . . . . . .",
        ]),
        ("safety_office", [
            ". . . rectification_order wait_rectification reinspect gw_recurred rectified end_rectified",
        ]),
        ("urban_management", [
            ". . . . . . relocate relocated end_relocated",
        ]),
    ]},
    "fire_lane.bpmn": {"playbook_fire_lane": [
        ("property_company", [
            ". move_vehicle_reminded . . .",
            "start move_vehicle gw_moved moved end_moved",
            ". move_vehicle_escalate . . .",
            ". move_vehicle_escalated . . .",
        ]),
        ("traffic_police", [". . tow_vehicle towed end_towed"]),
    ]},
    "hydrant_pressure.bpmn": {"playbook_hydrant_pressure": [
        ("water_company", [
            ". check_hydrant_reminded . . .",
            "start check_hydrant gw_cause fixed_on_site end_fixed",
            ". check_hydrant_escalate . . .",
            ". check_hydrant_escalated . repair_mains mains_repaired end_mains",
        ]),
        ("property_company", [". . . repair_pump pump_repaired end_pump"]),
    ]},
    "door_open.bpmn": {"playbook_door_open": [
        ("property_company", [
            ". check_door_reminded . . .",
            "start check_door gw_door closed end_closed",
            ". check_door_escalate . . .",
            ". check_door_escalated . repair_door repaired end_repaired",
        ]),
        ("police", [". . . security_check checked end_checked"]),
    ]},
    "cleaning_patrol.bpmn": {"playbook_cleaning_patrol": [
        ("sanitation", [
            ". makeup_patrol_reminded . . .",
            "start makeup_patrol . patrolled end",
            ". makeup_patrol_escalate . . .",
            ". makeup_patrol_escalated . . .",
        ]),
        ("sanitation.lead", [". . record_performance . ."]),
    ]},
    "illegal_dumping.bpmn": {"playbook_illegal_dumping": [
        ("sanitation", [
            ". survey_reminded . . .",
            "start survey gw_party clean_up cleaned end_cleaned",
            ". survey_escalate . . . .",
            ". survey_escalated . . . .",
        ]),
        ("urban_management", [". . . order_removal ordered end_ordered"]),
    ]},
    "general.bpmn": {"playbook_general": [
        ("grid_patrol", [
            ". handle_on_site_reminded . .",
            "start handle_on_site handled end",
            ". handle_on_site_escalate . .",
            ". handle_on_site_escalated . .",
        ]),
    ]},
}


def local(element) -> str:
    return etree.QName(element).localname


def kind_of(tag: str) -> str:
    if tag in EVENTS:
        return "event"
    if tag in GATEWAYS:
        return "gateway"
    if tag in TASKS:
        return "task"
    raise ValueError(f"no layout rule for bpmn:{tag}")


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2

    def inflated(self, by: float) -> "Box":
        return Box(self.x - by, self.y - by, self.w + 2 * by, self.h + 2 * by)


@dataclass
class Node:
    id: str
    tag: str
    name: str | None
    box: Box = None
    row: int = 0
    col: int = 0
    host: str | None = None     # boundary events
    side: str | None = None     # boundary events: "top" or "bottom"
    label: Box | None = None    # events and gateways: their name is drawn outside them


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None
    points: list = field(default_factory=list)
    label: Box | None = None


def text_width(text: str) -> float:
    return sum(13 if ord(ch) > 0x2e80 else 6.6 for ch in text)


def label_box_for(text: str) -> tuple[float, float]:
    """Size of an external label as bpmn-js draws it: wrapped at 90 px whatever its bounds say, 15 px a line."""
    lines, line = 1, 0.0
    for word in text.split(" "):
        size = text_width(word)
        if line and line + 6.6 + size > LABEL_W:
            lines, line = lines + 1, 0.0
        line += (6.6 if line else 0) + size
        while line > LABEL_W:  # a long word (Chinese has no spaces) breaks anywhere
            lines, line = lines + 1, line - LABEL_W
    return LABEL_W, lines * 15 + 2


# -- placing ---------------------------------------------------------------------------------------------------------
def place(container, grid, lanes_by_name) -> tuple[dict[str, Node], dict[str, Box], Box | None, int, int]:
    """Nodes at their grid cells (boundary events on their hosts), lane and pool bounds, and the grid's size."""
    nodes: dict[str, Node] = {}
    for child in container:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN:
            continue
        tag = local(child)
        if tag in EVENTS | GATEWAYS | TASKS:
            nodes[child.get("id")] = Node(child.get("id"), tag, child.get("name"), host=child.get("attachedToRef"))
    rows: list[tuple[str | None, list[str]]] = []
    for lane, lane_rows in grid:
        for text in lane_rows:
            rows.append((lane, text.split()))
    n_cols = max(len(tokens) for _, tokens in rows)
    seen: dict[str, tuple[int, int]] = {}
    for r, (lane, tokens) in enumerate(rows):
        for c, token in enumerate(tokens):
            if token == ".":
                continue
            if token not in nodes or nodes[token].host:
                raise SystemExit(f"grid names {token!r}, which is not a flow node of {container.get('id')}")
            if token in seen:
                raise SystemExit(f"{token} is placed twice")
            seen[token] = (r, c)
    missing = [i for i, n in nodes.items() if not n.host and i not in seen]
    if missing:
        raise SystemExit(f"{container.get('id')}: not placed: {missing}")
    for lane, lane_rows in grid:
        if lane is None:
            continue
        placed = {t for text in lane_rows for t in text.split() if t != "."}
        declared = lanes_by_name.get(lane)
        if declared is None:
            raise SystemExit(f"no lane named {lane!r} in {container.get('id')}")
        if placed != declared:
            raise SystemExit(f"lane {lane}: grid has {sorted(placed - declared)} extra, "
                             f"{sorted(declared - placed)} missing")

    has_lanes = any(lane for lane, _ in grid)
    x0 = POOL_X + POOL_LABEL_W + LANE_LABEL_W if has_lanes else PLANE_X
    y0 = POOL_Y if has_lanes else PLANE_Y
    for node_id, (r, c) in seen.items():
        node = nodes[node_id]
        w, h = SIZES[kind_of(node.tag)]
        node.row, node.col = r, c
        node.box = Box(x0 + c * CELL_W + (CELL_W - w) // 2, y0 + r * CELL_H + (CELL_H - h) // 2, w, h)

    # Boundary events: on the side of their first target, spread along the edge.
    flows_from = {}
    for flow in container.findall("bpmn:sequenceFlow", NS):
        flows_from.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    slots: dict[tuple[str, str], list[tuple[float, Node]]] = {}
    for node in nodes.values():
        if not node.host:
            continue
        host = nodes[node.host]
        target = nodes[flows_from[node.id][0]]
        node.side = "top" if target.row < host.row else "bottom"
        node.col, node.row = host.col, host.row
        fraction = 0.5 if target.col == host.col else 0.88 if target.col > host.col else 0.12
        slots.setdefault((host.id, node.side), []).append((fraction, node))
    for (host_id, side), members in slots.items():
        host = nodes[host_id].box
        members.sort(key=lambda m: m[0])
        fractions = [f for f, _ in members]
        if len(set(fractions)) != len(fractions):
            fractions = [0.12 + i * 0.76 / max(1, len(members) - 1) for i in range(len(members))]
        for fraction, (_, node) in zip(fractions, members):
            cx = round(host.x + host.w * fraction)
            cy = host.y if side == "top" else host.y + host.h
            node.box = Box(cx - 18, cy - 18, 36, 36)

    lane_boxes: dict[str, Box] = {}
    pool = None
    width = n_cols * CELL_W
    if has_lanes:
        r = 0
        for lane, lane_rows in grid:
            lane_boxes[lane] = Box(POOL_X + POOL_LABEL_W, y0 + r * CELL_H, LANE_LABEL_W + width,
                                   len(lane_rows) * CELL_H)
            r += len(lane_rows)
        pool = Box(POOL_X, y0, POOL_LABEL_W + LANE_LABEL_W + width, r * CELL_H)

    return nodes, lane_boxes, pool, len(rows), n_cols


# -- routing ---------------------------------------------------------------------------------------------------------
def _segment_hits(a, b, box: Box) -> bool:
    """Does the axis-parallel segment a-b pass through the open interior of box?"""
    (x1, y1), (x2, y2) = a, b
    if x1 == x2:
        lo, hi = sorted((y1, y2))
        return box.x < x1 < box.x + box.w and lo < box.y + box.h and hi > box.y
    lo, hi = sorted((x1, x2))
    return box.y < y1 < box.y + box.h and lo < box.x + box.w and hi > box.x


def _segment_touches(a, b, box: Box) -> bool:
    """Does the segment share more than a point with the closed box (run along or through it)?"""
    (x1, y1), (x2, y2) = a, b
    if x1 == x2:
        lo, hi = sorted((y1, y2))
        return box.x <= x1 <= box.x + box.w and min(hi, box.y + box.h) - max(lo, box.y) > 0
    lo, hi = sorted((x1, x2))
    return box.y <= y1 <= box.y + box.h and min(hi, box.x + box.w) - max(lo, box.x) > 0


STEPS = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}
OPPOSITE = {"right": "left", "left": "right", "up": "down", "down": "up"}


class Router:
    """Routes flows on one static graph of lines; what each segment passes through is computed once."""

    def __init__(self, nodes: dict[str, Node], n_rows: int, n_cols: int, origin: tuple[float, float]):
        self.nodes = nodes
        x0, y0 = origin
        xs, ys = set(), set()
        for c in range(n_cols + 1):
            xs.update(x0 + c * CELL_W + off for off in TRACK_OFFSETS)
            if c < n_cols:
                xs.add(x0 + c * CELL_W + CELL_W // 2)
        for r in range(n_rows + 1):
            ys.update(y0 + r * CELL_H + off for off in TRACK_OFFSETS)
            if r < n_rows:
                ys.add(y0 + r * CELL_H + CELL_H // 2)
        for node in nodes.values():
            for (x, y), _, _ in self.ports(node, "source") + self.ports(node, "target"):
                xs.add(x)
                ys.add(y)
        self.xs, self.ys = sorted(xs), sorted(ys)
        self.x_index = {x: i for i, x in enumerate(self.xs)}
        self.y_index = {y: i for i, y in enumerate(self.ys)}
        self.segments: dict[tuple, tuple[frozenset, frozenset]] = {}
        for a, b in self._all_segments():
            hits = frozenset(n.id for n in nodes.values() if _segment_hits(a, b, n.box.inflated(SHAPE_MARGIN)))
            touches = frozenset(n.id for n in nodes.values() if _segment_touches(a, b, n.box))
            self.segments[(a, b)] = self.segments[(b, a)] = (hits, touches)
        self.segment_users: dict[tuple, list[tuple[str, str, tuple]]] = {}  # (source, target, port left by)
        self.vertex_users: dict[tuple, list[tuple[str, str, bool]]] = {}
        self.ports_taken: dict[str, set] = {}

    def _all_segments(self):
        for x in self.xs:
            for y1, y2 in zip(self.ys, self.ys[1:]):
                yield (x, y1), (x, y2)
        for y in self.ys:
            for x1, x2 in zip(self.xs, self.xs[1:]):
                yield (x1, y), (x2, y)

    @staticmethod
    def ports(node: Node, role: str) -> list[tuple[tuple, str, float]]:
        """(point, direction of travel there, penalty) of a node as a flow's source or target."""
        b = node.box
        if node.host:
            return [((b.cx, b.y + b.h), "down", 0)] if node.side == "bottom" else [((b.cx, b.y), "up", 0)]
        side_cost = 12 if kind_of(node.tag) == "gateway" else 40
        if role == "source":
            return [((b.x + b.w, b.cy), "right", 0), ((b.cx, b.y + b.h), "down", side_cost),
                    ((b.cx, b.y), "up", side_cost), ((b.x, b.cy), "left", 150)]
        return [((b.x, b.cy), "right", 0), ((b.cx, b.y), "down", 40), ((b.cx, b.y + b.h), "up", 40),
                ((b.x + b.w, b.cy), "left", 150)]

    def _neighbour(self, point, direction):
        dx, dy = STEPS[direction]
        if dx:
            i = self.x_index[point[0]] + dx
            return (self.xs[i], point[1]) if 0 <= i < len(self.xs) else None
        i = self.y_index[point[1]] + dy
        return (point[0], self.ys[i]) if 0 <= i < len(self.ys) else None

    def _step_cost(self, a, b, direction, flow: Flow, allowed: set[str], port) -> float | None:
        hits, touches = self.segments[(a, b)]
        if hits - allowed or touches & allowed:
            return None
        cost = abs(b[0] - a[0]) + abs(b[1] - a[1])
        horizontal = direction in ("left", "right")
        for source, target, other_port in self.segment_users.get((a, b), ()):
            if source != flow.source and target != flow.target:
                cost += OVERLAP
            elif source == flow.source and other_port != port:
                cost += SIBLING_OVERLAP  # branches of one node that left by different sides must stay apart
        for source, target, other_horizontal in self.vertex_users.get(b, ()):
            if source != flow.source and target != flow.target and other_horizontal != horizontal:
                cost += CROSSING
        return cost

    def route(self, flow: Flow) -> list:
        allowed = {flow.source, flow.target}
        # A node's flows each take their own side where they can (a gateway's branches fan out visibly).
        taken = self.ports_taken.setdefault(flow.source, set())
        starts = [(point, direction, penalty + (PORT_SHARED if point in taken else 0))
                  for point, direction, penalty in self.ports(self.nodes[flow.source], "source")]
        goals = {point: (direction, penalty) for point, direction, penalty in self.ports(self.nodes[flow.target],
                                                                                           "target")}
        heap, best, came, counter = [], {}, {}, 0
        start_points = set()
        for point, direction, penalty in starts:
            best[(point, direction, point)] = penalty
            start_points.add(point)
            heapq.heappush(heap, (penalty, counter, point, direction, point))
            counter += 1
        while heap:
            cost, _, point, direction, port = heapq.heappop(heap)
            state = (point, direction, port)
            if best.get(state, math.inf) < cost:
                continue
            if point in goals and goals[point][0] == direction and point not in start_points:
                path = [point]
                while state in came:
                    state = came[state]
                    path.append(state[0])
                path.reverse()
                return path
            for new_direction in STEPS:
                if new_direction == OPPOSITE[direction]:
                    continue
                if point == port and state not in came and new_direction != direction:
                    continue  # leave a port straight out
                nxt = self._neighbour(point, new_direction)
                if nxt is None:
                    continue
                step = self._step_cost(point, nxt, new_direction, flow, allowed, port)
                if step is None:
                    continue
                step += BEND if new_direction != direction else 0
                if nxt in goals and goals[nxt][0] == new_direction:
                    step += goals[nxt][1]
                new_state = (nxt, new_direction, port)
                if cost + step < best.get(new_state, math.inf):
                    best[new_state] = cost + step
                    came[new_state] = state
                    heapq.heappush(heap, (cost + step, counter, nxt, new_direction, port))
                    counter += 1
        raise SystemExit(f"no route for {flow.id} ({flow.source} -> {flow.target})")

    def commit(self, flow: Flow, raw: list) -> None:
        self.ports_taken.setdefault(flow.source, set()).add(raw[0])
        for a, b in zip(raw, raw[1:]):
            self.segment_users.setdefault((a, b), []).append((flow.source, flow.target, raw[0]))
            self.segment_users.setdefault((b, a), []).append((flow.source, flow.target, raw[0]))
            self.vertex_users.setdefault(b, []).append((flow.source, flow.target, a[1] == b[1]))
            self.vertex_users.setdefault(a, []).append((flow.source, flow.target, a[1] == b[1]))


def _simplify(points: list) -> list:
    out = [points[0]]
    for p in points[1:]:
        if p == out[-1]:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out


def flow_label_candidates(flow: Flow, siblings: list[Flow]) -> list[Box]:
    """Places for a flow's name: beside its first segment, or its last when it branches off with others."""
    if not flow.name:
        return []
    w, h = label_box_for(flow.name)
    candidates = []
    if siblings:  # a branch of a gateway: name it where it arrives, clear of the shared trunk
        (x1, y1), (x2, y2) = flow.points[-2], flow.points[-1]
        if y1 == y2:
            x = x2 - 6 - w if x2 > x1 else x2 + 6
            return [Box(x, y1 - h - 2, w, h), Box(x, y1 + 3, w, h)]
        y = y2 - h - 6 if y2 > y1 else y2 + 6
        return [Box(x1 + 5, y, w, h), Box(x1 - 5 - w, y, w, h)]
    (x1, y1), (x2, y2) = flow.points[0], flow.points[1]
    for shift in (0, 20, 40):
        if y1 == y2:
            x = x1 + 6 + shift if x2 > x1 else x1 - 6 - w - shift
            candidates += [Box(x, y1 - h - 2, w, h), Box(x, y1 + 3, w, h)]
        else:
            y = y1 + 4 + shift if y2 > y1 else y1 - h - 4 - shift
            candidates += [Box(x1 + 5, y, w, h), Box(x1 - 5 - w, y, w, h)]
    return candidates


def node_label_candidates(node: Node) -> list[Box]:
    """Places for the name of an event or a gateway, best first (tasks show theirs inside)."""
    if not node.name or kind_of(node.tag) == "task":
        return []
    b = node.box
    if kind_of(node.tag) == "gateway":
        w, h = label_box_for(node.name)
        return [Box(b.cx - w / 2, b.y - 6 - h, w, h), Box(b.cx - w / 2, b.y + b.h + 6, w, h),
                Box(b.x - 4 - w, b.y - 4 - h, w, h), Box(b.x + b.w + 4, b.y - 4 - h, w, h)]
    if node.host:
        w, h = label_box_for(node.name)
        boxes = []
        for dy in ((20, 38, 58) if node.side == "bottom" else (-20 - h, -38 - h, -58 - h)):
            right, left = Box(b.cx + 6, b.cy + dy, w, h), Box(b.cx - 6 - w, b.cy + dy, w, h)
            boxes += [left, right] if node.side == "top" else [right, left]
        return boxes
    w, h = label_box_for(node.name)
    return [Box(b.cx - w / 2, b.y + b.h + 4, w, h), Box(b.cx - w / 2, b.y - 4 - h, w, h),
            Box(b.x + b.w + 4, b.cy - h / 2, w, h), Box(b.x - 4 - w, b.cy - h / 2, w, h)]


def place_labels(nodes: dict[str, Node], flows: list[Flow]) -> None:
    """Give each name the first of its candidate places that no flow, shape or other name runs through."""
    placed: list[Box] = []
    segments = [(a, b) for f in flows for a, b in zip(f.points, f.points[1:])]

    def clash(box: Box, own: str | None) -> float:
        score = sum(1 for a, b in segments if _segment_hits(a, b, box))
        score += sum(10 for n in nodes.values() if n.id != own and _overlap(box, n.box))
        score += sum(10 for other in placed if _overlap(box, other))
        return score

    # The boundary events of one host are placed together: their names compete for the same few spots.
    groups: dict[str, list[Node]] = {}
    for node in nodes.values():
        if node_label_candidates(node):
            groups.setdefault(node.host or node.id, []).append(node)
    for members in groups.values():
        options = [node_label_candidates(node) for node in members]

        def total(choice):
            score = sum(clash(box, node.id) for node, box in zip(members, choice))
            score += sum(10 for a, b in itertools.combinations(choice, 2) if _overlap(a, b))
            return score, [opts.index(box) for opts, box in zip(options, choice)]

        best = min(itertools.product(*options), key=total)
        for node, box in zip(members, best):
            node.label = box
            placed.append(box)
    for flow in flows:
        candidates = flow_label_candidates(flow, [f for f in flows if f.source == flow.source and f is not flow])
        if candidates:
            flow.label = min(candidates, key=lambda box: (clash(box, None), candidates.index(box)))
            placed.append(flow.label)


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def _runs_along(segment, points) -> bool:
    (a, b) = segment
    for c, d in zip(points, points[1:]):
        if a[0] == b[0] == c[0] == d[0] and min(max(a[1], b[1]), max(c[1], d[1])) > max(min(a[1], b[1]),
                                                                                          min(c[1], d[1])):
            return True
        if a[1] == b[1] == c[1] == d[1] and min(max(a[0], b[0]), max(c[0], d[0])) > max(min(a[0], b[0]),
                                                                                          min(c[0], d[0])):
            return True
    return False


# -- writing ---------------------------------------------------------------------------------------------------------
def _bounds(parent, box: Box):
    etree.SubElement(parent, f"{{{DC}}}Bounds", x=_n(box.x), y=_n(box.y), width=_n(box.w), height=_n(box.h))


def _n(value) -> str:
    return str(int(round(value)))


def layout_plane(root, plane_element_id: str, container, grid) -> etree._Element:
    lanes_by_name, lane_ids = {}, {}
    for lane in container.findall("bpmn:laneSet/bpmn:lane", NS):
        lanes_by_name[lane.get("name")] = {ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)}
        lane_ids[lane.get("name")] = lane.get("id")
    nodes, lane_boxes, pool, n_rows, n_cols = place(container, grid, lanes_by_name)
    origin = (POOL_X + POOL_LABEL_W + LANE_LABEL_W, POOL_Y) if pool else (PLANE_X, PLANE_Y)
    router = Router(nodes, n_rows, n_cols, origin)
    flows = [Flow(f.get("id"), f.get("sourceRef"), f.get("targetRef"), f.get("name"))
             for f in container.findall("bpmn:sequenceFlow", NS)]
    # Longest flows first: they have the fewest ways through; short ones fit in around them.
    order = sorted(flows, key=lambda f: -(abs(nodes[f.source].col - nodes[f.target].col) +
                                          abs(nodes[f.source].row - nodes[f.target].row)))
    for flow in order:
        raw = router.route(flow)
        router.commit(flow, raw)
        flow.points = _simplify(raw)
    place_labels(nodes, flows)

    diagram = etree.Element(f"{{{BPMNDI}}}BPMNDiagram", id=f"{plane_element_id}_diagram")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"{plane_element_id}_plane",
                             bpmnElement=plane_element_id)
    if pool:
        participant = root.find(f"bpmn:collaboration/bpmn:participant[@processRef='{container.get('id')}']", NS)
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{participant.get('id')}_di",
                                 bpmnElement=participant.get("id"), isHorizontal="true")
        _bounds(shape, pool)
        for name, box in lane_boxes.items():
            shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{lane_ids[name]}_di",
                                     bpmnElement=lane_ids[name], isHorizontal="true")
            _bounds(shape, box)
    ordered = [n for n in nodes.values() if not n.host] + [n for n in nodes.values() if n.host]
    for node in ordered:
        attrs = {"id": f"{node.id}_di", "bpmnElement": node.id}
        if node.tag == "subProcess":
            attrs["isExpanded"] = "false"
        if node.tag == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", **attrs)
        _bounds(shape, node.box)
        if node.label:
            label = etree.SubElement(shape, f"{{{BPMNDI}}}BPMNLabel")
            _bounds(label, node.label)
    for flow in flows:
        edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.id}_di", bpmnElement=flow.id)
        for x, y in flow.points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=_n(x), y=_n(y))
        if flow.label:
            label = etree.SubElement(edge, f"{{{BPMNDI}}}BPMNLabel")
            _bounds(label, flow.label)
    return diagram


def layout_file(path: Path) -> None:
    planes = LAYOUTS[path.name]
    parser = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True)
    tree = etree.parse(str(path), parser)
    root = tree.getroot()
    for old in root.findall("bpmndi:BPMNDiagram", NS):
        root.remove(old)
    for element_id, grid in planes.items():
        container = root.find(f".//*[@id='{element_id}']")
        if container is None:
            raise SystemExit(f"{path.name}: no element {element_id}")
        if local(container) == "process":
            collaboration = root.find("bpmn:collaboration", NS)
            plane_id = collaboration.get("id") if collaboration is not None else element_id
        else:
            plane_id = element_id
        diagram = layout_plane(root, plane_id, container, grid)
        etree.indent(diagram, space="  ", level=1)
        diagram.tail = "\n"
        root[-1].tail = "\n  "
        root.append(diagram)
    root[-1].tail = "\n"
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    text = path.read_text(encoding="utf-8").replace("<?xml version='1.0' encoding='UTF-8'?>",
                                                    '<?xml version="1.0" encoding="UTF-8"?>', 1)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    names = argv or sorted(LAYOUTS)
    for name in names:
        path = BPMN_DIR / Path(name).name
        layout_file(path)
        print(f"laid out {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
