"""How big a diagram may be: the limits that keep every deployed process runnable in bounded time.

SpiffWorkflow parses a process by recursing along its sequence flows (a sequence of about 490 tasks ends in a bare
RecursionError), and its engine steps cost grows with the square of the branches active at once (1,000 parallel
branches took 37 s to start; 5,000 never finished). So deployment measures each ``.bpmn`` file on its XML, before
SpiffWorkflow parses it, and refuses one over a limit with a problem naming the limit and the element. The district's
biggest diagram is far inside every limit (see ``docs/diagram-conventions.md``); the script limits of the sandbox
are in :mod:`engine.defaults` (time, memory) and :mod:`engine.sandbox_pool` (workers).
"""
from __future__ import annotations

from collections.abc import Iterator

from ..exceptions import Message, Problem

#: Flow elements (tasks, events, gateways, sub-processes) in one file. The district's largest has under 100.
MAX_ELEMENTS = 1000
#: Longest chain of elements one after the other (loops counted once). SpiffWorkflow's parser recurses once per
#: element of a chain; 200 keeps it far from Python's recursion limit and a start under a second.
MAX_SEQUENCE = 200
#: Branches that may be active at once: one plus what every parallel split adds (nested splits multiply).
#: 50 branches start in under a second; the cost grows with the square of this number.
MAX_PARALLEL_BRANCHES = 50

_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
_NOT_NODES = {"sequenceFlow", "laneSet", "lane", "flowNodeRef", "childLaneSet", "dataObject", "dataObjectReference",
              "dataStoreReference", "textAnnotation", "association", "group", "property", "ioSpecification",
              "extensionElements", "documentation", "incoming", "outgoing"}
#: Splits after which exactly one outgoing flow is taken.
_ONE_WAY = {"exclusiveGateway", "eventBasedGateway"}
#: Joins that wait for their incoming branches, so one token leaves however many arrive.
_WAITING_JOINS = {"parallelGateway", "inclusiveGateway", "complexGateway", "exclusiveGateway", "eventBasedGateway"}


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def size_problems(name: str, root) -> list[Problem]:
    """What in one parsed ``.bpmn`` file is over a limit (empty when it is fine)."""
    problems: list[Problem] = []
    containers = [e for e in root.iter() if _local(e.tag) in _CONTAINERS and
                  (e.tag.startswith("{" + _MODEL) or not e.tag.startswith("{"))]
    total = 0
    for container in containers:
        nodes = {child.get("id"): child for child in container
                 if _local(child.tag) not in _NOT_NODES and child.get("id") and _local(child.tag)}
        total += len(nodes)
        problems.extend(_container_problems(name, container, nodes))
    for loop in root.iter(f"{{{_MODEL}}}multiInstanceLoopCharacteristics"):
        problems.extend(_cardinality_problems(name, loop))
    if total > MAX_ELEMENTS:
        problems.insert(0, Problem(name, Message("has {count} flow elements; a diagram may have at most {limit} "
                                                 "(engine.deploy.sandbox_limits.MAX_ELEMENTS)", count=total,
                                                 limit=MAX_ELEMENTS), root.get("id"), root.sourceline))
    return problems


def _cardinality_problems(name: str, loop) -> Iterator[Problem]:
    """A parallel multi-instance activity with a fixed number of instances is that many parallel branches."""
    if loop.get("isSequential") == "true":
        return
    for cardinality in loop:
        if _local(cardinality.tag) == "loopCardinality" and (cardinality.text or "").strip().isdigit():
            count = int(cardinality.text.strip())
            if count > MAX_PARALLEL_BRANCHES:
                activity = loop.getparent()
                yield Problem(name, Message("runs {count} instances in parallel; a diagram may have at most {limit} "
                                            "branches active at once (engine.deploy.sandbox_limits.MAX_PARALLEL_BRANCHES)",
                                            count=count, limit=MAX_PARALLEL_BRANCHES),
                              activity.get("id"), loop.sourceline)


def _container_problems(name: str, container, nodes: dict) -> Iterator[Problem]:
    edges: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for flow in container:
        if _local(flow.tag) == "sequenceFlow":
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in edges and target in nodes:
                edges[source].append(target)
    for node_id, node in nodes.items():  # a boundary event is parsed with the task it is attached to
        attached = node.get("attachedToRef")
        if _local(node.tag) == "boundaryEvent" and attached in edges:
            edges[attached].append(node_id)
    order = _topological(edges)
    incoming: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for source, targets in edges.items():
        for target in targets:
            if order[target] > order[source]:  # forward edges only: a loop back is run again, not alongside
                incoming[target].append(source)
    ranked = sorted(nodes, key=order.get)
    length: dict[str, int] = {}
    tokens: dict[str, int] = {}
    branches, sequence_reported = 1, False
    for node_id in ranked:
        kind = _local(nodes[node_id].tag)
        before = incoming[node_id]
        length[node_id] = 1 + max((length[s] for s in before), default=0)
        if not before:
            tokens[node_id] = 1
        elif kind in _WAITING_JOINS:
            tokens[node_id] = max(tokens[s] for s in before)
        else:  # a task with several incoming flows runs once per arriving token
            tokens[node_id] = min(sum(tokens[s] for s in before), 10 ** 9)
        if length[node_id] > MAX_SEQUENCE and not sequence_reported:
            sequence_reported = True
            yield Problem(name, Message("a chain of more than {limit} elements one after another reaches it; a "
                                        "diagram may chain at most {limit} (engine.deploy.sandbox_limits.MAX_SEQUENCE)",
                                        limit=MAX_SEQUENCE),
                          node_id, nodes[node_id].sourceline)
        outgoing = len(edges[node_id])
        if outgoing > 1 and kind not in _ONE_WAY:
            branches += (outgoing - 1) * tokens[node_id]
            if branches > MAX_PARALLEL_BRANCHES:
                yield Problem(name, Message("with this split {count} branches can be active at once; a diagram may "
                                            "have at most {limit} (engine.deploy.sandbox_limits.MAX_PARALLEL_BRANCHES)",
                                            count=branches, limit=MAX_PARALLEL_BRANCHES),
                              node_id, nodes[node_id].sourceline)
                return


def _topological(edges: dict[str, list[str]]) -> dict[str, int]:
    """A rank per node such that every edge that is not a loop back goes to a higher rank (iterative DFS)."""
    finished: list[str] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root, children_of_root in edges.items():
        if root in state:
            continue
        stack = [(root, iter(children_of_root))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(edges[child])))
                    break
            else:
                stack.pop()
                state[node] = 2
                finished.append(node)
    return {node: rank for rank, node in enumerate(reversed(finished))}
