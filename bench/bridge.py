"""Firmware-bridge benchmark: round-trip latency vs wire time, deframer throughput, 10,000-frame fuzz/noise run.

    python -m bench.bridge [--round-trips N] [--frames N] [--kills N] [--seed S] [--skip-latency]

1. Latency: the virtual controller runs in its own process (`greenwave bridge emulate`) on one end of a pty pair;
   the bridge sends GET/SET requests from this process. A pty delivers instantly, so the cable between the two
   ptys is paced at the baud rate (8N1, 10 bits a byte) by `PtyWire`, as a UART would; the unpaced pty is shown
   too. Wire time is the request frame + response frame at that baud. The controller's turnaround is measured
   separately (decode + agent + encode + framing, in-process, same requests). Prints medians and the check
   `median round trip <= 1.5 x wire time + turnaround`.
2. Deframer throughput in frames/s: a long stream fed in 4 KiB chunks and byte by byte.
3. Fuzz/noise: N frames each corrupted one way (bit flips, byte substitution, drop, duplicate, noise burst,
   truncation, swapped bytes, fuzzed SNMP payload behind a valid FCS), each followed by a good frame, through one
   streaming deframer in random chunk sizes and then the SNMP decoder. Every corrupted frame must be decoded
   exactly or rejected (a false accept is a delivered message that differs from what was sent), and every good
   frame after a bad one must come through.
4. Bridge killed mid-hold: `greenwave bridge hold 2,6 --backup-time 2` in a subprocess holds the in-process virtual
   controller over a pty pair; after SIGKILL the time until the controller is back on its own plan, from the kill
   and from the last keep-alive it received, against unitBackupTime + 1 s.
"""

from __future__ import annotations

import argparse
import random
import select
import statistics
import subprocess
import sys
import time
from collections import Counter

from firmware_bridge.client import SnmpClient
from firmware_bridge.emulator.controller import VirtualController
from firmware_bridge.errors import BridgeProtocolError
from firmware_bridge.ntcip import ControlCol, StatusCol, control_oid, oid_of, status_oid
from firmware_bridge.pmpp import Deframer, PmppFrame, encode_frame
from firmware_bridge.ptywire import PtyWire, wire_time_s
from firmware_bridge.snmp import PduType, SnmpMessage, VarBind, decode_message, encode_message
from firmware_bridge.transport import PmppLink, open_serial_port

COMMUNITY = "bench-community"
REQUESTS = {
    "get unitBackupTime": (PduType.GET, [VarBind(oid_of("unitBackupTime"))]),
    "set hold 2,6": (PduType.SET, [VarBind(control_oid(ControlCol.HOLD), 0x22)]),
    "get status (4 objects)": (
        PduType.GET,
        [VarBind(status_oid(c)) for c in (StatusCol.GREENS, StatusCol.YELLOWS, StatusCol.REDS)]
        + [VarBind(oid_of("unitControlStatus"))],
    ),
}


# -- 1. latency -----------------------------------------------------------------------------------------
def _wait_ready(proc: subprocess.Popen[str], timeout_s: float = 30.0) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.1)[0] and "emulating" in proc.stdout.readline():
            return
    raise SystemExit("emulator did not start")


def turnaround_s(n: int) -> dict[str, float]:
    """Median in-process time for the controller to answer each request (decode, agent, encode, frame)."""
    vc = VirtualController(community=COMMUNITY.encode(), now_s=0.0)
    out = {}
    for name, (pdu, varbinds) in REQUESTS.items():
        payload = encode_message(SnmpMessage(pdu, COMMUNITY.encode(), 1, tuple(varbinds)))
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            reply = vc.handle(payload, i * 0.1)
            assert reply is not None
            encode_frame(PmppFrame(1, reply))
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


def latency(baud: int | None, n: int, turnaround: dict[str, float]) -> list[str]:
    rows = []
    with PtyWire(baud=baud) as wire:
        emu = subprocess.Popen(
            [sys.executable, "-m", "greenwave.cli", "bridge", "emulate", "--serial", f"{wire.a_path}?baud={baud or 9600}",
             "--community", COMMUNITY],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            _wait_ready(emu)
            link = PmppLink(
                open_serial_port(f"{wire.b_path}?baud={baud or 9600}"), 1, description=wire.b_path
            )
            client = SnmpClient(link, COMMUNITY.encode(), timeout_s=3.0, retries=0)
            client.get([oid_of("unitBackupTime")])  # warm-up
            for name, (pdu, varbinds) in REQUESTS.items():
                rtts, wires = [], []
                for _ in range(n):
                    out0, in0 = link.bytes_out, link.bytes_in
                    t0 = time.perf_counter()
                    client.request(pdu, varbinds)
                    rtts.append(time.perf_counter() - t0)
                    wires.append(wire_time_s(link.bytes_out - out0 + link.bytes_in - in0, baud or 9600))
                rtt, wt, ta = statistics.median(rtts), statistics.median(wires), turnaround[name]
                ratio = statistics.median(r / w for r, w in zip(rtts, wires, strict=True))
                bound = 1.5 * wt + ta
                label = f"{baud} baud paced" if baud else "pty unpaced (9600 set)"
                verdict = "ok" if rtt <= bound else "OVER"
                rows.append(
                    f"  {label:24} {name:24} rtt {rtt * 1e3:7.1f} ms  wire {wt * 1e3:7.1f} ms  "
                    f"ratio {ratio:5.2f}  turnaround {ta * 1e3:5.2f} ms  bound 1.5*wire+turnaround "
                    f"{bound * 1e3:7.1f} ms  {verdict}"
                )
            link.close()
        finally:
            emu.terminate()
            emu.wait(timeout=10)
    return rows


# -- 2. deframer throughput -----------------------------------------------------------------------------
def random_message(rng: random.Random, request_id: int) -> SnmpMessage:
    pdu = rng.choice([PduType.GET, PduType.SET, PduType.RESPONSE])
    varbinds = []
    for _ in range(rng.randint(1, 4)):
        oid = oid_of("phaseControlGroupHold", 1)[:-2] + (rng.randint(2, 7), rng.randint(1, 2))
        value = rng.choice(
            [None, rng.randint(0, 255), bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 6)))]
        )
        varbinds.append(VarBind(oid, None if pdu is PduType.GET else value))
    return SnmpMessage(pdu, COMMUNITY.encode(), request_id, tuple(varbinds))


def deframer_throughput(n: int, rng: random.Random) -> list[str]:
    frames = [encode_frame(PmppFrame(1, encode_message(random_message(rng, i)))) for i in range(n)]
    stream = b"".join(frames)
    rows = []
    for label, chunk in (("4 KiB chunks", 4096), ("byte by byte", 1)):
        d = Deframer()
        t0 = time.perf_counter()
        got = 0
        for i in range(0, len(stream), chunk):
            got += len(d.feed(stream[i : i + chunk]))
        dt = time.perf_counter() - t0
        assert got == n
        rows.append(
            f"  {label:14} {n / dt:10.0f} frames/s  ({len(stream) / n:.0f} bytes/frame, {len(stream) / dt / 1e6:.2f} MB/s)"
        )
    return rows


# -- 3. fuzz / noise ------------------------------------------------------------------------------------
KINDS = ("flip", "substitute", "drop", "duplicate", "noise_burst", "truncate", "swap", "fuzz_payload")


def corrupt(wire: bytes, payload: bytes, kind: str, rng: random.Random) -> bytes:
    b = bytearray(wire)
    pos = rng.randint(1, len(b) - 2)  # inside the flags
    if kind == "flip":
        for _ in range(rng.randint(1, 3)):
            b[rng.randint(1, len(b) - 2)] ^= 1 << rng.randint(0, 7)
    elif kind == "substitute":
        b[pos] = (b[pos] + rng.randint(1, 255)) % 256
    elif kind == "drop":
        del b[pos]
    elif kind == "duplicate":
        b.insert(pos, b[pos])
    elif kind == "noise_burst":
        b[pos:pos] = bytes(rng.choice([0x7E, 0x7D, rng.randint(0, 255)]) for _ in range(rng.randint(1, 12)))
    elif kind == "truncate":
        del b[pos:]
    elif kind == "swap":
        pos = min(pos, len(b) - 3)
        if b[pos] == b[pos + 1]:
            b[pos] ^= 0x01
        b[pos], b[pos + 1] = b[pos + 1], b[pos]
    else:  # fuzz_payload: mutated SNMP bytes behind a valid FCS; only the SNMP decoder can refuse them
        p = bytearray(payload)
        for _ in range(rng.randint(1, 4)):
            p[rng.randrange(len(p))] = rng.randint(0, 255)
        return encode_frame(PmppFrame(1, bytes(p)))
    return bytes(b)


def fuzz(n: int, rng: random.Random) -> list[str]:
    counts: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    deframer = Deframer()
    worst_s = 0.0
    t_start = time.perf_counter()
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        sent = random_message(rng, 2 * i)
        payload = encode_message(sent)
        bad_wire = corrupt(encode_frame(PmppFrame(1, payload)), payload, kind, rng)
        good = random_message(rng, 2 * i + 1)
        good_wire = encode_frame(PmppFrame(1, encode_message(good)))
        noise = bytes(rng.randint(0, 255) for _ in range(rng.choice([0, 0, 3, 20])))
        stream = noise + bad_wire + good_wire
        t0 = time.perf_counter()
        frames = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 64)
            frames += deframer.feed(stream[pos : pos + step])
            pos += step
        decoded = []
        for f in frames:
            try:
                decoded.append(decode_message(f.payload))
            except BridgeProtocolError:
                counts["rejected by the SNMP decoder"] += 1
                by_kind[f"{kind}: passed the FCS, rejected by the SNMP decoder"] += 1
        worst_s = max(worst_s, time.perf_counter() - t0)
        if decoded and decoded[-1] == good:
            counts["good frame after a bad one recovered"] += 1
            decoded.pop()
        else:
            counts["good frame after a bad one LOST"] += 1
        if not decoded:
            counts["corrupted frame rejected"] += 1
            by_kind[f"{kind}: rejected"] += 1
        for msg in decoded:
            if msg == sent:
                counts["corrupted frame decoded exactly"] += 1
                by_kind[f"{kind}: decoded exactly"] += 1
            elif kind == "fuzz_payload" and decode_message(encode_message(msg)) == msg:
                # the fuzzed bytes did arrive intact (valid FCS) and form a valid message: decoded as sent
                counts["corrupted frame decoded exactly"] += 1
                by_kind[f"{kind}: decoded exactly (valid BER as sent)"] += 1
            else:
                counts["FALSE ACCEPT"] += 1
                by_kind[f"{kind}: FALSE ACCEPT"] += 1
    total_s = time.perf_counter() - t_start
    rows = [
        f"  {n} corrupted frames + {n} good frames, {len(KINDS)} corruption kinds, random chunking, noise between"
    ]
    for key in ("corrupted frame decoded exactly", "corrupted frame rejected", "FALSE ACCEPT",
                "good frame after a bad one recovered", "good frame after a bad one LOST", "rejected by the SNMP decoder"):  # fmt: skip
        rows.append(f"  {key:40} {counts[key]}")
    rows.append(f"  deframer stats: {deframer.stats}")
    rows.append(f"  slowest pair {worst_s * 1e3:.2f} ms, whole run {total_s:.1f} s (no hang)")
    rows += [f"    {k:52} {v}" for k, v in sorted(by_kind.items())]
    return rows


# -- 4. bridge killed mid-hold ---------------------------------------------------------------------------
def kill_recovery(repeats: int, rng: random.Random, backup_s: int = 2) -> list[str]:
    import os
    import signal
    import threading

    from firmware_bridge.emulator.controller import ControlSource
    from firmware_bridge.emulator.database import DatabaseSettings
    from firmware_bridge.emulator.server import serve_serial

    rows = []
    for _ in range(repeats):
        with PtyWire() as wire:
            vc = VirtualController(DatabaseSettings(), community=COMMUNITY.encode(), now_s=time.monotonic())
            stop, ready = threading.Event(), threading.Event()
            server = threading.Thread(target=serve_serial, args=(vc, f"{wire.a_path}?baud=9600"),
                                      kwargs={"stop": stop, "on_ready": ready.set}, daemon=True)  # fmt: skip
            server.start()
            ready.wait(5)
            bridge = subprocess.Popen(
                [sys.executable, "-m", "greenwave.cli", "bridge", "hold", "2,6", "--seconds", "60",
                 "--backup-time", str(backup_s), "--url", f"{wire.b_path}?baud=9600", "--community", COMMUNITY],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 30
                while vc.status.held != {2, 6} and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(
                    1.5 * backup_s + rng.uniform(0, backup_s / 2)
                )  # across keep-alives, killed at any phase
                held_before = vc.status.held == {2, 6} and vc.status.source is ControlSource.SYSTEM
                os.kill(bridge.pid, signal.SIGKILL)
                killed = time.monotonic()
                while vc.status.source is not ControlSource.BACKUP and time.monotonic() - killed < 30:
                    time.sleep(0.005)
                back = time.monotonic()
                last = vc.last_system_write_s or killed
                status = vc.status
                ok = (
                    held_before
                    and back - killed <= backup_s + 1.0
                    and not status.held
                    and status.pattern == 1
                )
                rows.append(
                    f"  unitBackupTime {backup_s} s: own plan (pattern {status.pattern}, {status.source.value}, "
                    f"held {sorted(status.held)}) {back - killed:.2f} s after SIGKILL, {back - last:.2f} s after the "
                    f"last keep-alive; bound {backup_s + 1.0:.1f} s  {'ok' if ok else 'FAIL'}"
                )
            finally:
                bridge.wait(timeout=10)
                stop.set()
                server.join(timeout=5)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bridge", description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=20)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=3, help="bridge-killed-mid-hold repeats (0: skip)")
    parser.add_argument("--seed", type=int, default=1202)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    if not args.skip_latency:
        ta = turnaround_s(200)
        print("round trip over a pty pair, emulator in another process (medians):")
        for baud in (9600, 38400, None):
            for row in latency(baud, args.round_trips, ta):
                print(row, flush=True)
    print("deframer throughput:")
    for row in deframer_throughput(20_000, rng):
        print(row, flush=True)
    print("fuzz / noise:")
    rows = fuzz(args.frames, rng)
    for row in rows:
        print(row, flush=True)
    if args.kills:
        print("bridge killed mid-hold:")
        for row in kill_recovery(args.kills, rng):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
