"""Over real ttys: bridge <-> virtual controller on a pty pair, in separate processes, with faults on the wire."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from configs.bridge import BridgeConfig
from firmware_bridge.bridge import FieldBridge
from firmware_bridge.emulator.controller import ControlSource, VirtualController
from firmware_bridge.emulator.database import DatabaseSettings
from firmware_bridge.emulator.server import serve_serial
from firmware_bridge.ntcip import oid_of
from firmware_bridge.pmpp import Deframer
from firmware_bridge.ptywire import PtyWire
from firmware_bridge.realtime import PhaseCommand
from greenwave.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")

COMMUNITY = "s3cret"
CLI = [sys.executable, "-m", "greenwave.cli", "bridge"]


def wait_line(proc: subprocess.Popen[str], text: str, timeout_s: float = 20.0) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            line = proc.stdout.readline()
            if text in line:
                return line
            if not line and proc.poll() is not None:
                break
    raise AssertionError(f"expected a line with {text!r} from {proc.args!r}, found none (exit {proc.poll()})")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def config(path: str, **kw: object) -> BridgeConfig:
    return BridgeConfig.model_validate({"url": f"{path}?baud=9600", "community": COMMUNITY, **kw})


class InProcessEmulator:
    """The virtual controller served on one end of the wire from a thread, so the test can look inside it."""

    def __init__(self, path: str, backup_time_s: int) -> None:
        self.vc = VirtualController(DatabaseSettings(backup_time_s=backup_time_s), community=COMMUNITY.encode(),
                                    now_s=time.monotonic())  # fmt: skip
        self._stop = threading.Event()
        self.deframer = Deframer()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=serve_serial, args=(self.vc, f"{path}?baud=9600"),
            kwargs={"stop": self._stop, "on_ready": ready.set, "deframer": self.deframer}, daemon=True,
        )  # fmt: skip
        self._thread.start()
        assert ready.wait(5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def wire() -> Iterator[PtyWire]:
    with PtyWire() as w:
        yield w


def test_round_trip_with_emulator_process_at_9600_baud() -> None:
    with PtyWire(baud=9600) as wire:  # paced like a real 9600 baud line
        emu = subprocess.Popen([*CLI, "emulate", "--serial", f"{wire.a_path}?baud=9600", "--community", COMMUNITY],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            wait_line(emu, "emulating an NTCIP 1202 controller")
            with FieldBridge.open(config(wire.b_path, timeout_s=2.0)) as bridge:
                before = bridge.status()
                assert before.control == "timebase" and before.greens == {2, 6}
                bridge.realtime.step(time.monotonic(), PhaseCommand(hold=frozenset({2, 6})))
                held = bridge.status()
                assert held.held == {2, 6} and held.control == "system_control"
                assert bridge.client.get([oid_of("phaseYellowChange", 2)]) == [40]
            # leaving the block released control
            with FieldBridge.open(config(wire.b_path, timeout_s=2.0)) as bridge:
                after = bridge.status()
            assert after.held == frozenset() and after.control == "timebase" and after.system_pattern == 0
        finally:
            stop(emu)


def _corrupt_every_third(kind: str) -> Callable[[bytes], bytes]:
    counter = {"n": 0}

    def fault(data: bytes) -> bytes:
        counter["n"] += 1
        if counter["n"] % 3 != 1:
            return data
        if kind == "noise":
            return (
                b"\x7e\x13\x99garbage\x7d\x7e" + data[: len(data) // 2] + b"\xff\x00" + data[len(data) // 2 :]
            )
        if kind == "drop":
            return data[:5] + data[6:]
        return data[:7] + data[6:]  # duplicate byte 6

    return fault


@pytest.mark.parametrize("kind", ["noise", "drop", "duplicate"])
def test_faults_on_the_line_are_rejected_and_retried(wire: PtyWire, kind: str) -> None:
    emu = InProcessEmulator(wire.a_path, backup_time_s=10)
    wire.set_filter(0, _corrupt_every_third(kind))  # emulator -> bridge
    wire.set_filter(1, _corrupt_every_third(kind))  # bridge -> emulator
    try:
        with FieldBridge.open(config(wire.b_path, timeout_s=0.3, retries=4, backoff_s=0.0)) as bridge:
            for i in range(6):
                value = 30 + i
                bridge.client.set([(oid_of("phaseYellowChange", 4), value)])
                assert bridge.client.get([oid_of("phaseYellowChange", 4)]) == [value]
            stats = bridge.link.deframer.stats  # type: ignore[attr-defined]
            assert stats.rejected + emu.deframer.stats.rejected >= 3 and bridge.client.stats.retries >= 2
    finally:
        emu.close()


def test_silent_controller_retries_then_releases_with_a_clear_error(
    wire: PtyWire, capsys: pytest.CaptureFixture[str]
) -> None:
    # nothing listens on the far end of the wire
    rc = main(["bridge", "hold", "2", "--seconds", "5", "--url", f"{wire.b_path}?baud=9600", "--community", COMMUNITY,
               "--timeout", "0.2", "--retries", "2", "--backup-time", "3"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert "expected a response to set unitBackupTime, found none after 3 tries of 0.2 s" in err
    assert "backup timer (3 s) hands control back" in err


def test_bridge_killed_mid_hold_controller_returns_to_own_plan_within_backup_time(wire: PtyWire) -> None:
    backup_s = 3
    emu = InProcessEmulator(wire.a_path, backup_time_s=10)
    emu.vc.actuate(frozenset({4}))  # a side-street car that only the controller's own plan will serve
    bridge = subprocess.Popen([*CLI, "hold", "2,6", "--seconds", "60", "--backup-time", str(backup_s),
                               "--url", f"{wire.b_path}?baud=9600", "--community", COMMUNITY],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_line(bridge, "holding")
        deadline = time.monotonic() + 10
        while emu.vc.status.held != {2, 6}:
            assert time.monotonic() < deadline, "the bridge never held 2,6"
            time.sleep(0.02)
        time.sleep(backup_s + 0.5)  # held across more than one backup period: keep-alives work
        assert emu.vc.status.source is ControlSource.SYSTEM
        os.kill(bridge.pid, signal.SIGKILL)  # no release can run
        killed_s = time.monotonic()
        while emu.vc.status.source is not ControlSource.BACKUP:
            assert time.monotonic() - killed_s < backup_s + 1.0, (
                "controller still held after unitBackupTime + 1 s"
            )
            time.sleep(0.01)
        back_s = time.monotonic() - killed_s
        status = emu.vc.status
        assert status.held == frozenset() and status.pattern == 1
        assert back_s <= backup_s + 1.0
    finally:
        stop(bridge)
        emu.close()


def test_sigterm_mid_hold_releases_at_once(wire: PtyWire) -> None:
    emu = InProcessEmulator(wire.a_path, backup_time_s=10)
    bridge = subprocess.Popen([*CLI, "hold", "2", "--seconds", "60", "--backup-time", "30",
                               "--url", f"{wire.b_path}?baud=9600", "--community", COMMUNITY],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_line(bridge, "holding")
        deadline = time.monotonic() + 10
        while emu.vc.status.held != {2}:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(timeout=10) == 0
        assert (
            emu.vc.status.source is ControlSource.OWN_PLAN
        )  # released, not waiting out the 30 s backup timer
        assert emu.vc.status.held == frozenset()
    finally:
        stop(bridge)
        emu.close()
