"""`greenwave bridge ...` engineer tools against the virtual controller over SNMP/UDP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.emulator.controller import VirtualController
from firmware_bridge.emulator.server import serve_udp
from greenwave.cli import main

COMMUNITY = "s3cret"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def emulator() -> Iterator[tuple[VirtualController, list[str]]]:
    port = free_udp_port()
    vc = VirtualController(community=COMMUNITY.encode(), now_s=time.monotonic())
    stop, ready = threading.Event(), threading.Event()
    url = f"udp://127.0.0.1:{port}"
    thread = threading.Thread(
        target=serve_udp, args=(vc, url), kwargs={"stop": stop, "on_ready": ready.set}, daemon=True
    )
    thread.start()
    assert ready.wait(5)
    yield vc, ["--url", url, "--community", COMMUNITY]
    stop.set()
    thread.join(5)


def test_status_get_set(
    emulator: tuple[VirtualController, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    vc, conn = emulator
    assert main(["bridge", "status", *conn]) == 0
    out = capsys.readouterr().out
    assert "control   timebase (6)" in out and "green     [2, 6]" in out
    assert main(["bridge", "set", *conn, "phaseYellowChange.4=4.5", "phaseConcurrency.4=7,8"]) == 0
    assert vc.db.get("phaseYellowChange", 4) == 45 and vc.db.get("phaseConcurrency", 4) == b"\x07\x08"
    # in the units the engineer typed, as `get` shows them
    assert capsys.readouterr().out.splitlines()[0] == "set phaseYellowChange.4 = 4.5 s (raw 45)"
    assert main(["bridge", "get", *conn, "phaseYellowChange.4", "unitBackupTime"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "phaseYellowChange.4 = 4.5 s (raw 45)",
        "unitBackupTime = 10 s (raw 10)",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # nothing Greenwave sends may shorten a clearance or a minimum: refused before any write
        (["set", "phaseYellowChange.4=3.5"], "phaseYellowChange.4: expected at least the controller's 4.0 s (raw 40)"),
        (["set", "unitBackupTime=20", "phaseRedClear.4=0.5"], "phaseRedClear.4: expected at least the controller's"),
        (["set", "phaseMinimumGreen.2=1"], "phaseMinimumGreen.2: expected at least the controller's"),
        (["set", "phaseYellowChange.4=2.55"], "phaseYellowChange: expected a multiple of 0.1 s, found 2.55"),
        (["get", "phaseYelow.4"], "NTCIP object: expected one of"),
        (["set", "phaseYellowChange.4"], "expected OBJECT=VALUE"),
        (["hold", "9,10"], "bridge hold: expected phases 1-8 like 2,6, found '9,10'"),
        (["hold", ","], "bridge hold: expected phases 1-8 like 2,6, found ','"),
        (["hold", "2,6", "--backup-time", "65535"], "backup_time_s: Input should be less than or equal to 255"),
    ],
)
def test_errors_are_one_line(emulator: tuple[VirtualController, list[str]], capsys: pytest.CaptureFixture[str],
                             argv: list[str], message: str) -> None:  # fmt: skip
    _, conn = emulator
    assert main(["bridge", argv[0], *conn, *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_set_that_would_shorten_a_clearance_writes_nothing(
    emulator: tuple[VirtualController, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    vc, conn = emulator
    before = (vc.db.get("unitBackupTime"), vc.db.get("phaseRedClear", 4))
    assert main(["bridge", "set", *conn, "unitBackupTime=20", "phaseRedClear.4=0.5"]) == 2
    assert (vc.db.get("unitBackupTime"), vc.db.get("phaseRedClear", 4)) == before
    assert main(["bridge", "set", *conn, "phaseRedClear.4=3.0"]) == 0  # lengthening is an engineer's call
    assert vc.db.get("phaseRedClear", 4) == 30


def test_factory_community_refused_for_the_bridge(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bridge", "status", "--url", "udp://127.0.0.1:9", "--community", "public"]) == 2
    assert "factory default 'public'" in capsys.readouterr().err


def test_plan_download_from_yaml(emulator: tuple[VirtualController, list[str]], capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path) -> None:  # fmt: skip
    vc, conn = emulator
    assert main(["bridge", "plan", *conn, str(CONFIGS / "bridge_plan.example.yaml"), "--activate"]) == 0
    assert (
        "27 values written in a dbCreateTransaction, read back and verified; running pattern 2"
        in capsys.readouterr().out
    )
    assert vc.db.get("patternOffsetTime", 2) == 12 and vc.running_pattern == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (CONFIGS / "bridge_plan.example.yaml").read_text().replace("2: {time_s: 30", "2: {time_s: 35")
    )
    assert main(["bridge", "plan", *conn, str(bad)]) == 1
    assert "ring 1 splits add to 95 s, expected the cycle 90 s" in capsys.readouterr().err


def test_config_file_values_are_checked_with_command_line_options(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text("kind: bridge\nurl: udp://127.0.0.1:9\ncommunity: site\n")
    assert main(["bridge", "hold", "2,6", "--config", str(cfg), "--backup-time", "65535", "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg} with command-line options" in err and "backup_time_s" in err and err.count("\n") == 1


def test_client_shared_by_two_threads_gets_every_reply(emulator: tuple[VirtualController, list[str]]) -> None:
    """At shutdown the main thread releases while the bridge thread may still be mid-request on the same link."""
    from firmware_bridge.client import SnmpClient
    from firmware_bridge.ntcip import oid_of
    from firmware_bridge.transport import open_link

    _, conn = emulator
    link = open_link(conn[1])
    client = SnmpClient(link, COMMUNITY.encode(), timeout_s=0.5, retries=0)
    errors: list[Exception] = []

    def reads() -> None:
        for _ in range(60):
            try:
                assert client.get([oid_of("unitBackupTime")]) == [10]
            except Exception as exc:  # a reply taken by the other thread shows as a timeout here
                errors.append(exc)

    threads = [threading.Thread(target=reads) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    link.close()
    assert errors == []


def test_hold_says_so_when_the_release_is_not_confirmed(
    emulator: tuple[VirtualController, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The controller goes silent once the hold is in force: the final release cannot be confirmed."""
    vc, conn = emulator
    answer = vc.handle

    def silent_while_held(payload: bytes, now_s: float) -> bytes | None:
        return None if vc.status.held else answer(payload, now_s)

    monkeypatch.setattr(vc, "handle", silent_while_held)
    # 1 s is well inside the keep-alive interval (half the 10 s backup time): the release is the next request
    argv = ["bridge", "hold", "2,6", *conn, "--seconds", "1", "--backup-time", "10", "--timeout", "0.1",
            "--retries", "0"]  # fmt: skip
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "release not confirmed" in err and err.count("\n") == 1 and "released" not in out
    assert vc.status.held == {2, 6}  # left to the controller's backup timer
