"""Client retries, real-time commanding and release, plan download: bridge <-> in-process virtual controller."""

from __future__ import annotations

import pytest

from firmware_bridge.client import SnmpClient
from firmware_bridge.emulator.controller import ControlSource, VirtualController
from firmware_bridge.emulator.database import DatabaseSettings
from firmware_bridge.errors import BridgeRejected, BridgeTimeout
from firmware_bridge.fakes import EmulatorLink, ManualClock
from firmware_bridge.ntcip import DbTransaction, oid_of
from firmware_bridge.plan import PatternPlan, SplitEntry, download_plan
from firmware_bridge.realtime import PhaseCommand, RealtimeCommander
from firmware_bridge.snmp import PduType, SnmpMessage, VarBind, encode_message

COMMUNITY = b"s3cret"


def make_setup(
    *, drop: object = None, **settings: object
) -> tuple[VirtualController, EmulatorLink, SnmpClient, ManualClock]:
    clock = ManualClock()
    vc = VirtualController(DatabaseSettings(**settings), community=COMMUNITY, now_s=0.0)  # type: ignore[arg-type]
    link = EmulatorLink(vc, clock, drop=drop)  # type: ignore[arg-type]
    client = SnmpClient(link, COMMUNITY, timeout_s=0.01, retries=2, backoff_s=0.05, sleep=clock.advance)
    return vc, link, client, clock


def make_plan(pattern: int = 2, cycle_s: int = 90, through_s: int = 30) -> PatternPlan:
    return PatternPlan(
        pattern, cycle_s, 5,
        tuple(SplitEntry(p, through_s if p % 2 == 0 else cycle_s // 2 - through_s, coord=p in (2, 6)) for p in range(1, 9)),
    )  # fmt: skip


def test_get_and_set_round_trip() -> None:
    vc, _, client, _ = make_setup()
    client.set([(oid_of("phaseYellowChange", 2), 45)])
    assert client.get([oid_of("phaseYellowChange", 2), oid_of("unitBackupTime")]) == [45, 10]


def test_silence_retries_with_backoff_then_times_out() -> None:
    vc, link, client, clock = make_setup(drop=lambda payload: True)
    with pytest.raises(
        BridgeTimeout, match=r"expected a response to get unitBackupTime, found none after 3 tries"
    ):
        client.get([oid_of("unitBackupTime")])
    assert len(link.sent) == 3
    assert clock.now_s == pytest.approx(0.05 + 0.10)  # backoff 0.05 s then 0.1 s


def test_lost_request_is_recovered_by_a_retry() -> None:
    drops = iter([True, False])
    _, link, client, _ = make_setup(drop=lambda payload: next(drops))
    assert client.get([oid_of("unitBackupTime")]) == [10]
    assert client.stats.retries == 1


def test_stale_and_garbage_replies_are_skipped() -> None:
    _, link, client, _ = make_setup()
    stale = SnmpMessage(PduType.RESPONSE, COMMUNITY, 999, (VarBind(oid_of("unitBackupTime"), 77),))
    link.inject(encode_message(stale))
    link.inject(b"\x30\x02\xff\xff")
    assert client.get([oid_of("unitBackupTime")]) == [10]
    assert (client.stats.stale_replies, client.stats.undecodable) == (1, 1)


def test_rejection_names_the_object_and_value() -> None:
    _, _, client, _ = make_setup()
    with pytest.raises(BridgeRejected, match=r"rejected set phaseYellowChange.2 = 25: bad_value") as info:
        client.set([(oid_of("phaseMinimumGreen", 2), 9), (oid_of("phaseYellowChange", 2), 25)])
    assert info.value.error_index == 2


def test_realtime_keepalive_holds_beyond_the_backup_time_then_release() -> None:
    vc, _, client, clock = make_setup(backup_time_s=2)
    rt = RealtimeCommander(client, backup_time_s=2)
    vc.actuate(frozenset({4}))
    hold = PhaseCommand(hold=frozenset({2, 6}))
    for _ in range(100):  # 10 s at 10 Hz, five times the backup time
        clock.advance(0.1)
        rt.step(clock.now_s, hold)
        vc.step(clock.now_s)
        assert vc.status.source is ControlSource.SYSTEM and vc.signal.greens == {2, 6}
    assert 9 <= rt.sends <= 12  # resent every backup/2 = 1 s, not every step
    assert rt.step(clock.now_s, None)  # no healthy command: release
    assert vc.status.source is ControlSource.OWN_PLAN and vc.status.held == frozenset()
    assert not rt.active


def test_realtime_sends_at_once_when_the_command_changes() -> None:
    _, _, client, clock = make_setup()
    rt = RealtimeCommander(client, backup_time_s=10)
    assert rt.step(0.0, PhaseCommand(hold=frozenset({2})))
    assert not rt.step(0.1, PhaseCommand(hold=frozenset({2})))
    assert rt.step(0.2, PhaseCommand(force_off=frozenset({2})))
    assert rt.step(5.2, PhaseCommand(force_off=frozenset({2})))


def test_silent_controller_mid_hold_releases_and_says_so() -> None:
    silent = {"on": False}
    vc, link, client, clock = make_setup(drop=lambda payload: silent["on"], backup_time_s=3)
    rt = RealtimeCommander(client, backup_time_s=3)
    rt.step(0.0, PhaseCommand(hold=frozenset({2})))
    silent["on"] = True
    sent_before = len(link.sent)
    with pytest.raises(BridgeTimeout, match=r"found none after 3 tries.*backup timer \(3 s\)"):
        rt.step(2.0, PhaseCommand(hold=frozenset({2})))
    assert len(link.sent) - sent_before == 3 + 2  # the command's 3 tries, then the release's 2
    assert rt.active  # the release was not confirmed: a later step(None) or close() must try again
    for i in range(60):  # the controller's own backup timer takes over
        vc.step(i / 10)
    assert vc.status.source is ControlSource.BACKUP


def test_plan_download_in_a_transaction_with_read_back_and_activation() -> None:
    vc, _, client, _ = make_setup()
    report = download_plan(client, make_plan(), activate=True)
    assert report.ok and report.used_transaction and report.activated
    assert report.written == 3 + 3 * 8
    assert vc.db.get("patternCycleTime", 2) == 90 and vc.db.get("splitTime", 2, 4) == 30
    assert vc.status.pattern == 2


@pytest.mark.parametrize(
    ("plan", "ok"),
    [(make_plan(), True), (make_plan(cycle_s=60, through_s=12), False)],  # 12 s < min green + clearance
    ids=["stored", "refused-midway"],
)
def test_plan_download_always_closes_the_transaction(plan: PatternPlan, ok: bool) -> None:
    """A transaction left open keeps the controller's database locked for every later writer."""
    _, _, client, _ = make_setup()
    report = download_plan(client, plan)
    assert report.used_transaction and report.ok is ok
    assert client.get([oid_of("dbCreateTransaction")]) == [DbTransaction.NORMAL]


def test_plan_download_without_transactions() -> None:
    vc, _, client, _ = make_setup(supports_transactions=False)
    report = download_plan(client, make_plan())
    assert report.ok and not report.used_transaction
    assert vc.db.get("patternOffsetTime", 2) == 5


def test_plan_refused_midway_without_transactions_puts_back_what_was_written() -> None:
    vc, _, client, _ = make_setup(supports_transactions=False)
    pattern_1 = [oid_of("patternCycleTime", 1)] + [oid_of("splitTime", 1, p) for p in range(1, 9)]
    before = client.get(pattern_1)
    # each ring adds to the cycle, but phase 8's 12 s is below its min green + clearance: the third chunk is refused
    splits = {1: 20, 2: 40, 3: 20, 4: 20, 5: 20, 6: 40, 7: 28, 8: 12}
    report = download_plan(client, PatternPlan(1, 100, 0, tuple(SplitEntry(p, t) for p, t in splits.items())))
    assert not report.ok and report.written == 24
    assert "splitTime.1.8 = 12" in report.rejects[0] and "were put back" in report.rejects[1]
    assert client.get(pattern_1) == before and vc.db.verify(vc.db.values) == []


def test_plan_download_reports_what_the_controller_rejected() -> None:
    vc, _, client, _ = make_setup()
    report = download_plan(client, make_plan(cycle_s=60, through_s=12))  # 12 s < 8 + 5.5 s for phases 2/4/6/8
    assert not report.ok
    assert report.rejects and "splitTime.2.2 = 12" in report.rejects[0]
    assert vc.db.get("patternCycleTime", 2) == 0  # the transaction was abandoned: nothing stored


def test_plan_download_checks_ring_sums_locally_first() -> None:
    _, link, client, _ = make_setup()
    bad = PatternPlan(2, 90, 0, tuple(SplitEntry(p, 30) for p in range(1, 9)))
    report = download_plan(client, bad)
    assert (
        report.local_problems
        and "ring 1 splits add to 120 s, expected the cycle 90 s" in report.local_problems[0]
    )
    assert report.written == 0


class _ForgetfulLink(EmulatorLink):
    """A controller that acknowledges offset writes but keeps the old value (read-back must catch it)."""

    def send(self, payload: bytes) -> None:
        before = self.controller.db.get("patternOffsetTime", 2)
        super().send(payload)
        self.controller.db.values[oid_of("patternOffsetTime", 2)] = before


def test_plan_download_read_back_catches_a_mismatch() -> None:
    clock = ManualClock()
    vc = VirtualController(community=COMMUNITY)
    client = SnmpClient(_ForgetfulLink(vc, clock), COMMUNITY, timeout_s=0.01)
    report = download_plan(client, make_plan())
    assert report.mismatches == ("patternOffsetTime.2: wrote 5, read back 0",)
    assert not report.ok


def test_typed_reads_convert_units() -> None:
    from firmware_bridge.bridge import FieldBridge

    vc, link, client, clock = make_setup()
    bridge = FieldBridge(link, client, backup_time_s=10)
    (two,) = bridge.phase_timings([2])
    assert (two.min_green_s, two.passage_s, two.yellow_s, two.red_clear_s, two.ring) == (
        8.0,
        2.0,
        4.0,
        1.5,
        1,
    )
    # detector 3: two vehicles, occupied 6 s + 9 s of the 60 s period; detector 4 idle
    for t, present in ((1.0, {3}), (7.0, set()), (20.0, {3}), (29.0, set())):
        vc.step(t)
        vc.actuate(frozenset(present))
    assert [(r.volume_veh, r.occupancy_pct) for r in bridge.detectors([3])] == [
        (0, 0.0)
    ]  # period still running
    vc.step(60.0)
    readings = bridge.detectors([3, 4])
    assert [(r.detector, r.volume_veh, r.occupancy_pct) for r in readings] == [(3, 2, 25.0), (4, 0, 0.0)]
    assert client.get([oid_of("volumeOccupancySequence")]) == [1]


def test_unhealthy_inputs_release_control() -> None:
    from firmware_bridge.bridge import FieldBridge

    vc, link, client, clock = make_setup()
    with FieldBridge(link, client, backup_time_s=10) as bridge:
        assert bridge.command(0.0, PhaseCommand(hold=frozenset({2})))
        assert vc.status.held == {2}
        assert bridge.command(0.5, PhaseCommand(hold=frozenset({2})), inputs_healthy=False)
        assert vc.status.held == frozenset() and vc.status.source is ControlSource.OWN_PLAN
        assert not bridge.command(
            0.6, PhaseCommand(hold=frozenset({2})), inputs_healthy=False
        )  # nothing to release
        assert bridge.command(1.0, PhaseCommand(force_off=frozenset({2})))
    assert vc.status.source is ControlSource.OWN_PLAN  # leaving the block released the force-off


def test_close_after_a_lost_release_releases_once_the_line_is_back() -> None:
    """A keep-alive and its release both time out in a short outage; shutdown must still hand control back."""
    from firmware_bridge.bridge import FieldBridge

    silent = {"on": False}
    vc, link, client, clock = make_setup(drop=lambda payload: silent["on"], backup_time_s=60)
    bridge = FieldBridge(link, client, backup_time_s=60)
    cmd = PhaseCommand(hold=frozenset({2, 6}), force_off=frozenset({4, 8}))
    bridge.command(0.0, cmd)
    vc.step(0.0)
    assert vc.status.source is not ControlSource.OWN_PLAN
    silent["on"] = True
    clock.advance(31.0)
    with pytest.raises(BridgeTimeout, match="release not confirmed"):
        bridge.command(31.0, cmd)
    silent["on"] = False
    clock.advance(1.0)
    bridge.close()  # the SIGTERM path
    vc.step(clock.now_s)
    assert vc.status.source is ControlSource.OWN_PLAN and not vc.status.held  # not left for the 60 s backup timer


def test_release_after_an_activated_plan_returns_the_pattern_to_standby() -> None:
    """systemPatternControl is a system command too: left set, the controller stays under system control."""
    from firmware_bridge.bridge import FieldBridge

    vc, link, client, clock = make_setup()
    with FieldBridge(link, client, backup_time_s=10) as bridge:
        assert bridge.download(make_plan(pattern=2), activate=True).activated
        assert bridge.command(0.0, PhaseCommand(hold=frozenset({2})))
        assert vc.db.get("systemPatternControl") == 2 and vc.status.held == {2}
    assert vc.db.get("systemPatternControl") == 0  # standby
    assert vc.status.source is ControlSource.OWN_PLAN and vc.status.pattern == vc.settings.timebase_pattern
