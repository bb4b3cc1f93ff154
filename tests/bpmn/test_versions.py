"""A designer changes a deadline and a route, in the routing table and in the diagram, and redeploys: new cases
follow the change, cases already running finish on the version they started on."""
from __future__ import annotations

from datetime import timedelta

from tests.bpmn.conftest import Case, alert, report


def changed(files: dict[str, bytes], name: str, old: str, new: str) -> None:
    text = files[name].decode("utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {name}"
    files[name] = text.replace(old, new).encode("utf-8")


def test_new_cases_follow_a_changed_deadline_and_route_while_running_cases_keep_theirs(
        engine, bpmn_files, deployed, manual_clock):
    opened = manual_clock.now()
    trading_v1 = Case(engine, engine.start("closed_loop", alert("street_trading", opened, alert_count=2)),
                      manual_clock)
    door_v1 = Case(engine, engine.start("closed_loop", report("door_open", opened, inside_compound=True)),
                   manual_clock)

    files = dict(bpmn_files)
    # The routing table: street trading is to be handled within 90 minutes, and doors left open by day go to the
    # residents' committee.
    changed(files, "routing.dmn", '<outputEntry id="routing_street_trading_out_limit"><text>"PT2H"</text>',
            '<outputEntry id="routing_street_trading_out_limit"><text>"PT90M"</text>')
    changed(files, "routing.dmn", '<outputEntry id="routing_street_trading_out_remind"><text>"PT1H30M"</text>',
            '<outputEntry id="routing_street_trading_out_remind"><text>"PT1H"</text>')
    changed(files, "routing.dmn", '<outputEntry id="routing_door_open_out_team"><text>"property_company"</text>',
            '<outputEntry id="routing_door_open_out_team"><text>"residents_committee"</text>')
    # The diagram: ordinary cases are to be registered and dispatched within 20 minutes, reminded at 15.
    changed(files, "closed_loop.bpmn", 'else "PT30M"', 'else "PT20M"')
    changed(files, "closed_loop.bpmn", 'else "PT25M"', 'else "PT15M"')
    second = engine.deploy(files, deployed_by="designer")
    assert second.created and set(second.versions.values()) == {2}
    assert set(second.versions) == set(deployed.versions)

    trading_v2 = Case(engine, engine.start("closed_loop", alert("street_trading", opened, alert_count=2)),
                      manual_clock)
    door_v2 = Case(engine, engine.start("closed_loop", report("door_open", opened, inside_compound=True)),
                   manual_clock)
    assert [c.view().version for c in (trading_v1, door_v1, trading_v2, door_v2)] == [1, 1, 2, 2]
    assert trading_v1.task("persuade", "urban_management")["due_at"] == opened + timedelta(hours=2)
    assert trading_v2.task("persuade", "urban_management")["due_at"] == opened + timedelta(minutes=90)
    assert door_v1.task("register", "command_centre")["due_at"] == opened + timedelta(minutes=30)
    assert door_v2.task("register", "command_centre")["due_at"] == opened + timedelta(minutes=20)

    # The timers follow their own versions too.
    manual_clock.advance(minutes=15, seconds=1)
    assert engine.due_instances() == [door_v2.id]
    assert door_v2.tick() == ["register_remind"]
    manual_clock.advance(minutes=5)
    assert door_v2.tick() == ["register_overdue"]
    manual_clock.advance(minutes=5)
    assert engine.due_instances() == [door_v1.id]
    assert door_v1.tick() == ["register_remind"]

    # The route: each case is dispatched by the table of its own version.
    door_v1.complete("register", "command_centre")
    door_v1.task("check_door", "property_company")
    door_v2.complete("register", "command_centre")
    door_v2.task("check_door", "residents_committee")

    # The running cases finish on version 1.
    trading_v1.complete("persuade", "urban_management")
    trading_v1.verify_and_close()
    door_v1.complete("check_door", "property_company")
    door_v1.verify_and_close()
    assert [c.view().version for c in (trading_v1, door_v1)] == [1, 1]
    assert [c.case["outcome"] for c in (trading_v1, door_v1)] == ["persuaded", "door_closed"]
