"""The virtual controller as an SNMP agent: unsafe writes refused, backup timer, transactions; time injected."""

from __future__ import annotations

import pytest

from firmware_bridge.emulator.controller import ControlSource, VirtualController
from firmware_bridge.emulator.database import DatabaseSettings
from firmware_bridge.ntcip import UnitControlStatus, oid_of
from firmware_bridge.snmp import (
    ErrorStatus,
    PduType,
    SnmpMessage,
    Value,
    VarBind,
    decode_message,
    encode_message,
)

COMMUNITY = b"public"


def make_controller(**settings: object) -> VirtualController:
    return VirtualController(DatabaseSettings(**settings), community=COMMUNITY, now_s=0.0)  # type: ignore[arg-type]


def ask(
    vc: VirtualController, pdu: PduType, varbinds: list[tuple[tuple[int, ...], Value]], now_s: float
) -> SnmpMessage:
    request = SnmpMessage(pdu, COMMUNITY, 9, tuple(VarBind(o, v) for o, v in varbinds))
    reply = vc.handle(encode_message(request), now_s)
    assert reply is not None
    return decode_message(reply)


def set_(vc: VirtualController, now_s: float = 0.0, /, **named: Value) -> SnmpMessage:
    varbinds = []
    for key, value in named.items():
        name, *idx = key.split("__")
        varbinds.append((oid_of(name, *map(int, idx)), value))
    return ask(vc, PduType.SET, varbinds, now_s)


@pytest.mark.parametrize(
    ("write", "status"),
    [
        ({"phaseYellowChange__2": 29}, ErrorStatus.BAD_VALUE),  # 2.9 s yellow
        ({"phaseYellowChange__2": 30}, ErrorStatus.NO_ERROR),
        ({"phaseMinimumGreen__4": 3}, ErrorStatus.BAD_VALUE),  # floor 4 s
        ({"phaseMinimumGreen__4": 4}, ErrorStatus.NO_ERROR),
        ({"phaseConcurrency__2": b"\x05\x06"}, ErrorStatus.NO_ERROR),
        ({"phaseConcurrency__2": b"\x05\x06\x07"}, ErrorStatus.BAD_VALUE),  # 7 is across the barrier
        ({"phaseConcurrency__2": b"\x01"}, ErrorStatus.BAD_VALUE),  # 1 is in the same ring
        ({"splitTime__1__2": 13}, ErrorStatus.BAD_VALUE),  # below 8 s min green + 5.5 s clearance
        ({"splitTime__1__2": 14}, ErrorStatus.NO_ERROR),
        ({"systemPatternControl": 255}, ErrorStatus.BAD_VALUE),  # flash from the system
        ({"systemPatternControl": 3}, ErrorStatus.BAD_VALUE),  # pattern 3 has no cycle stored
        ({"unitControlStatus": 2}, ErrorStatus.READ_ONLY),
        ({"phaseRing__2": b"\x01"}, ErrorStatus.BAD_VALUE),  # wrong type
        ({"phaseControlGroupHold__2": 1}, ErrorStatus.NO_SUCH_NAME),  # only group 1 exists
    ],
)
def test_write_checks(write: dict[str, Value], status: ErrorStatus) -> None:
    vc = make_controller()
    reply = set_(vc, **write)
    assert reply.error_status == status
    oid = reply.varbinds[0].oid
    if status is ErrorStatus.NO_ERROR:
        assert ask(vc, PduType.GET, [(oid, None)], 0.0).varbinds[0].value == reply.varbinds[0].value
    assert (reply.error_index == 1) is (status is not ErrorStatus.NO_ERROR)


def test_set_is_atomic() -> None:
    vc = make_controller()
    reply = set_(vc, phaseYellowChange__4=45, phaseYellowChange__2=20)
    assert (reply.error_status, reply.error_index) == (ErrorStatus.BAD_VALUE, 2)
    assert vc.db.get("phaseYellowChange", 4) == 40  # the good first varbind was not applied either


def test_wrong_community_and_garbage_get_no_answer() -> None:
    vc = make_controller()
    msg = SnmpMessage(PduType.GET, b"guess", 1, (VarBind(oid_of("unitBackupTime")),))
    assert vc.handle(encode_message(msg), 0.0) is None
    assert vc.handle(b"\x30\x03garbage", 0.0) is None


def test_get_unknown_object_is_no_such_name() -> None:
    reply = ask(
        make_controller(), PduType.GET, [(oid_of("unitBackupTime"), None), ((1, 3, 6, 1, 9), None)], 0.0
    )
    assert (reply.error_status, reply.error_index) == (ErrorStatus.NO_SUCH_NAME, 2)


def test_get_next_walks_in_oid_order() -> None:
    vc = make_controller()
    first = ask(vc, PduType.GET_NEXT, [(oid_of("phaseMinimumGreen", 1)[:-1], None)], 0.0).varbinds[0]
    second = ask(vc, PduType.GET_NEXT, [(first.oid, None)], 0.0).varbinds[0]
    assert first.oid == oid_of("phaseMinimumGreen", 1) and second.oid == oid_of("phaseMinimumGreen", 2)


def test_hold_then_backup_timer_returns_control_to_own_plan() -> None:
    vc = make_controller(backup_time_s=3)
    vc.actuate(frozenset({4}))  # a car waits on the side street the whole time
    assert set_(vc, 0.0, phaseControlGroupHold__1=0x22).error_status == 0  # hold 2 and 6
    for i in range(1, 31):
        vc.step(i / 10)
        assert vc.status.source is ControlSource.SYSTEM and vc.signal.greens == {2, 6}
    # keep-alive at 2.9 s restarts the timer
    set_(vc, 2.9, phaseControlGroupHold__1=0x22)
    for i in range(31, 59):
        vc.step(i / 10)
    assert vc.status.source is ControlSource.SYSTEM and vc.status.held == {2, 6}
    for i in range(59, 100):
        vc.step(i / 10)
    status = vc.status
    assert status.source is ControlSource.BACKUP
    assert status.unit_control_status is UnitControlStatus.BACKUP_MODE
    assert status.held == frozenset() and status.pattern == 1
    assert vc.db.get("phaseControlGroupHold", 1) == 0
    for i in range(100, 450):  # coordinated 2/6 end at their split (29.5 s of green), then 4
        vc.step(i / 10)
    assert 4 in {p for _, p in vc.timer.green_starts}  # its own plan served the side street


def test_release_write_hands_control_back_at_once() -> None:
    vc = make_controller()
    set_(vc, 0.0, phaseControlGroupHold__1=0x02, systemPatternControl=254)
    assert vc.status.source is ControlSource.SYSTEM and vc.status.pattern == 254
    set_(vc, 1.0, phaseControlGroupHold__1=0, systemPatternControl=0)
    assert vc.status.source is ControlSource.OWN_PLAN and vc.status.pattern == 1
    assert vc.status.unit_control_status is UnitControlStatus.TIMEBASE


def test_status_groups_report_the_signal() -> None:
    vc = make_controller()
    reply = ask(
        vc,
        PduType.GET,
        [(oid_of("phaseStatusGroupGreens", 1), None), (oid_of("phaseStatusGroupReds", 1), None)],
        1.0,
    )
    assert [vb.value for vb in reply.varbinds] == [0x22, 0xDD]


def test_transaction_buffers_then_verifies_the_whole_database() -> None:
    vc = make_controller()
    t = "dbCreateTransaction"
    assert set_(vc, **{t: 2}).error_status == 0
    assert set_(vc, patternCycleTime__2=90, patternSplitNumber__2=2).error_status == 0
    assert vc.db.get("patternCycleTime", 2) == 0  # not applied before verification
    # pattern 2 uses split table 2, still all zero: rings do not add up to 90 s
    reply = set_(vc, **{t: 3})
    assert reply.error_status == ErrorStatus.BAD_VALUE
    assert vc.db.get("patternCycleTime", 2) == 0
    assert any("splits add to 0 s, cycle 90 s" in line for line in vc.log)
    set_(vc, **{t: 2})
    set_(vc, patternCycleTime__2=90, patternSplitNumber__2=1)  # split table 1 adds to 100 s
    assert set_(vc, **{t: 3}).error_status == ErrorStatus.BAD_VALUE
    set_(vc, **{t: 2})
    set_(vc, patternCycleTime__2=100, patternSplitNumber__2=1)
    assert set_(vc, **{t: 3}).error_status == 0
    assert vc.db.get("patternCycleTime", 2) == 100
    assert ask(vc, PduType.GET, [(oid_of(t), None)], 0.0).varbinds[0].value == 6


def test_controller_without_transactions() -> None:
    vc = make_controller(supports_transactions=False)
    assert (
        ask(vc, PduType.GET, [(oid_of("dbCreateTransaction"), None)], 0.0).error_status
        == ErrorStatus.NO_SUCH_NAME
    )
    assert set_(vc, dbCreateTransaction=2).error_status == ErrorStatus.NO_SUCH_NAME
