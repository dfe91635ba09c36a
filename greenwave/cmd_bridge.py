"""`greenwave bridge emulate|status|get|set|plan|hold`: a virtual controller and engineer tools for a real one.

Connection options for the tools: `--config FILE` (kind: bridge) or `--url URL --community S [--address N]`.
`hold` commands phases in real time until its time is up or it is stopped (Ctrl-C, SIGTERM, SIGHUP); it always
releases control on the way out, and a SIGKILL leaves it to the controller's backup timer.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from configs.bridge import BridgeConfig, BridgePlanConfig
from configs.errors import ConfigError
from configs.loader import format_validation_error, load_yaml_model
from greenwave.argtypes import bounded_int, seconds
from greenwave.signals import on_stop_signals

if TYPE_CHECKING:
    from firmware_bridge.bridge import FieldBridge
    from firmware_bridge.emulator.controller import VirtualController
    from firmware_bridge.ntcip import ObjectDef, Value

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bridge", help="NTCIP 1202 field-controller bridge: virtual controller and engineer tools"
    )
    bsub = p.add_subparsers(dest="bridge_command", metavar="ACTION", required=True)

    emu = bsub.add_parser("emulate", help="run a virtual NTCIP 1202 controller on a serial port or UDP")
    where = emu.add_mutually_exclusive_group(required=True)
    where.add_argument("--serial", metavar="DEVICE", help="device or pyserial URL, e.g. /dev/pts/3?baud=9600")
    where.add_argument("--udp", metavar="HOST:PORT", help="listen for SNMP on UDP, e.g. 127.0.0.1:1161")
    emu.add_argument("--address", type=bounded_int(0, 0x1FFF), default=1, help="PMPP station address (default 1)")
    emu.add_argument("--community", default="public", help="SNMP community (default: the factory 'public')")
    emu.add_argument(
        "--backup-time", type=bounded_int(0, 65535), default=10, metavar="S", help="initial unitBackupTime, s"
    )
    emu.add_argument("--min-green-floor", type=seconds(), default=4.0, metavar="S")
    emu.add_argument(
        "--no-transactions", action="store_true", help="behave as a controller without dbCreateTransaction"
    )
    emu.add_argument(
        "--duration", type=seconds(), default=0.0, metavar="S", help="stop after S seconds (0: run until stopped)"
    )
    emu.add_argument("--verbose", action="store_true", help="print every signal change and control event")
    emu.set_defaults(func=_emulate)

    def tool(name: str, help_: str) -> argparse.ArgumentParser:
        t = bsub.add_parser(name, help=help_)
        t.add_argument("--config", "-c", metavar="FILE", help="bridge config (kind: bridge)")
        t.add_argument("--url", help="controller link URL (instead of --config)")
        t.add_argument("--community", help="SNMP community (instead of --config)")
        t.add_argument("--address", type=int, default=None, help="PMPP station address (default 1)")
        t.add_argument("--timeout", type=float, default=None, metavar="S", help="reply timeout (default 0.5 s)")
        t.add_argument("--retries", type=int, default=None, help="retries per request (default 2)")
        return t

    tool("status", "print control status, running pattern and signal state").set_defaults(func=_status)
    get = tool("get", "read objects, e.g. phaseYellowChange.2 unitBackupTime")
    get.add_argument("objects", nargs="+", metavar="OBJECT")
    get.set_defaults(func=_get)
    set_ = tool("set", "write objects in one SNMP SET, e.g. phaseYellowChange.2=4.0 (engineer units)")
    set_.add_argument("assignments", nargs="+", metavar="OBJECT=VALUE")
    set_.set_defaults(func=_set)
    plan = tool("plan", "download a pattern and split table (YAML), verify it, optionally run it")
    plan.add_argument("plan_file", metavar="PLAN")
    plan.add_argument("--activate", action="store_true", help="then set systemPatternControl to the pattern")
    plan.set_defaults(func=_plan)
    hold = tool("hold", "hold phases green in real time (keep-alive inside unitBackupTime), then release")
    hold.add_argument("phases", help="comma-separated phases to hold, e.g. 2,6")
    hold.add_argument("--seconds", type=seconds(positive=True), default=30.0, metavar="S")
    hold.add_argument("--backup-time", type=int, default=None, metavar="S", help="unitBackupTime to write")
    hold.set_defaults(func=_hold)


# -- emulator -------------------------------------------------------------------------------------------
def _emulate(args: argparse.Namespace) -> int:
    from firmware_bridge.emulator.controller import VirtualController
    from firmware_bridge.emulator.database import DatabaseSettings
    from firmware_bridge.emulator.server import serve_serial, serve_udp

    settings = DatabaseSettings(backup_time_s=args.backup_time, min_green_floor_s=args.min_green_floor,
                                supports_transactions=not args.no_transactions)  # fmt: skip
    vc = VirtualController(settings, community=args.community.encode(), now_s=time.monotonic())
    stop = threading.Event()
    where = args.serial or f"udp://{args.udp}"

    def ready() -> None:
        print(f"emulating an NTCIP 1202 controller at address {args.address} on {where} "
              f"(community {args.community!r}, unitBackupTime {args.backup_time} s)", flush=True)  # fmt: skip

    watcher = threading.Thread(target=_watch, args=(vc, stop, args.duration, args.verbose), daemon=True)
    with on_stop_signals(stop.set):
        watcher.start()
        if args.serial:
            serve_serial(vc, args.serial, address=args.address, stop=stop, on_ready=ready)
        else:
            serve_udp(vc, where, stop=stop, on_ready=ready)
    return 0


def _watch(vc: VirtualController, stop: threading.Event, duration_s: float, verbose: bool) -> None:
    start = time.monotonic()
    last: tuple[object, ...] = ()
    seen_log = 0
    while not stop.wait(0.1):
        if duration_s and time.monotonic() - start >= duration_s:
            stop.set()
        if not verbose:
            continue
        st = vc.status
        key = (st.source, st.pattern, st.signal.greens, st.signal.yellows, st.held)
        if key != last:
            print(f"{st.now_s - start:8.1f} s {st.source.value:8} pattern {st.pattern:3} "
                  f"green {sorted(st.signal.greens)} yellow {sorted(st.signal.yellows)} held {sorted(st.held)}",
                  flush=True)  # fmt: skip
            last = key
        for line in vc.log[seen_log:]:
            print(f"  {line}", flush=True)
        seen_log = len(vc.log)


# -- engineer tools -------------------------------------------------------------------------------------
def _config(args: argparse.Namespace, **overrides: object) -> BridgeConfig:
    """The bridge config from --config or --url/--community; link options given on the command line win."""
    given = {"address": args.address, "timeout_s": args.timeout, "retries": args.retries}
    overrides = {**{k: v for k, v in given.items() if v is not None}, **overrides}
    if args.config:
        cfg: BridgeConfig = load_yaml_model(args.config, BridgeConfig)
        if not overrides:
            return cfg
        data, where = {**cfg.model_dump(), **overrides}, f"{args.config} with command-line options"
    elif not args.url or not args.community:
        raise ConfigError("bridge: expected --config FILE, or --url and --community, found neither")
    else:
        data, where = {"url": args.url, "community": args.community, **overrides}, "command line"
    try:  # validated as a whole (model_copy(update=...) would skip validation)
        return BridgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(where, exc)) from exc


def _open(args: argparse.Namespace, **overrides: object) -> FieldBridge:
    from firmware_bridge.bridge import FieldBridge  # pysnmp and pyserial load only for bridge commands

    return FieldBridge.open(_config(args, **overrides))


def _status(args: argparse.Namespace) -> int:
    with _open(args) as bridge:
        st = bridge.status()
    print(f"control   {st.control} ({st.unit_control_status})")
    print(f"pattern   running {st.pattern}, systemPatternControl {st.system_pattern}")
    print(f"backup    {st.backup_time_s} s")
    print(f"green     {sorted(st.greens)}  yellow {sorted(st.yellows)}  red {sorted(st.reds)}")
    print(f"held      {sorted(st.held)}  force-off {sorted(st.force_off)}")
    return 0


def _get(args: argparse.Namespace) -> int:
    from firmware_bridge.client import describe_oid
    from firmware_bridge.ntcip import parse_name

    named = [parse_name(text) for text in args.objects]
    with _open(args) as bridge:
        values = bridge.client.get([d.instance(*i) for d, i in named])
    for (d, i), raw in zip(named, values, strict=True):
        print(f"{describe_oid(d.instance(*i))} = {_shown(d, raw)}")
    return 0


def _shown(d: ObjectDef, raw: Value) -> str:
    """A value in the user's units with the raw one beside it: `4.0 s (raw 40)`."""
    unit = " s" if d.unit.value in ("s", "0.1s") else ""
    return f"{d.from_raw(raw)!r}{unit} (raw {raw!r})"


# timings whose shortening could end a green too early or cut a clearance: `bridge set` may lengthen them only
_NEVER_SHORTENED = frozenset(
    {"phaseYellowChange", "phaseRedClear", "phaseMinimumGreen", "phaseWalk", "phasePedestrianClear"}
)


def _set(args: argparse.Namespace) -> int:
    from firmware_bridge.client import describe_oid
    from firmware_bridge.ntcip import parse_name

    writes = []
    for text in args.assignments:
        name, sep, value = text.partition("=")
        if not sep:
            raise ConfigError(f"bridge set: expected OBJECT=VALUE, found {text!r}")
        d, i = parse_name(name)
        try:
            user: float | bytes = (
                bytes(int(x) for x in value.split(",") if x) if d.unit.value == "octets" else float(value)
            )
        except ValueError as exc:
            raise ConfigError(f"bridge set: {name}: expected a number, found {value!r}") from exc
        writes.append((d, d.instance(*i), d.to_raw(user)))
    with _open(args) as bridge:
        floors = [(d, oid, raw) for d, oid, raw in writes if d.name in _NEVER_SHORTENED]
        if floors:
            now = bridge.client.get([oid for _d, oid, _r in floors])
            for (d, oid, raw), current in zip(floors, now, strict=True):
                if isinstance(current, int) and isinstance(raw, int) and raw < current:
                    raise ConfigError(
                        f"bridge set: {describe_oid(oid)}: expected at least the controller's {_shown(d, current)},"
                        f" found {_shown(d, raw)} (Greenwave never shortens a clearance, minimum green or"
                        " pedestrian time; change it at the controller)"
                    )
        bridge.client.set([(oid, raw) for _d, oid, raw in writes])
    for d, oid, raw in writes:
        print(f"set {describe_oid(oid)} = {_shown(d, raw)}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from firmware_bridge.bridge import plan_from_config

    plan = plan_from_config(load_yaml_model(args.plan_file, BridgePlanConfig))
    with _open(args) as bridge:
        report = bridge.download(plan, activate=args.activate)
    how = "in a dbCreateTransaction" if report.used_transaction else "directly (no dbCreateTransaction)"
    for line in (*report.local_problems, *report.rejects, *report.mismatches):
        print(f"FAIL {line}", file=sys.stderr)
    if not report.ok:
        return 1
    print(f"ok   pattern {plan.pattern}: {report.written} values written {how}, read back and verified"
          + (f"; running pattern {plan.pattern}" if report.activated else ""))  # fmt: skip
    if report.activated:
        # systemPatternControl is a system-control object: the backup timer ends it like any other command
        print("     as a system command: the controller drops it when unitBackupTime passes without a rewrite;"
              " write the splits into its time-of-day pattern to keep them")  # fmt: skip
    return 0


def _hold(args: argparse.Namespace) -> int:
    from firmware_bridge.errors import BridgeError
    from firmware_bridge.realtime import PhaseCommand

    try:
        phases = frozenset(int(p) for p in args.phases.split(",") if p.strip())
        if not phases:
            raise ValueError("no phase")
        command = PhaseCommand(hold=phases)
    except ValueError as exc:
        raise ConfigError(f"bridge hold: expected phases 1-8 like 2,6, found {args.phases!r}") from exc
    overrides = {"backup_time_s": args.backup_time} if args.backup_time is not None else {}
    stop = threading.Event()  # a signal only sets it: no exception lands in the middle of an SNMP exchange
    with on_stop_signals(stop.set), _open(args, **overrides) as bridge:
        end = time.monotonic() + args.seconds
        print(f"holding {sorted(phases)} for {args.seconds} s (unitBackupTime {bridge.realtime.backup_time_s} s)",
              flush=True)  # fmt: skip
        while (now := time.monotonic()) < end and not stop.is_set():
            bridge.realtime.step(now, command)
            stop.wait(0.1)
        if stop.is_set():
            print("stopped by a signal; releasing", file=sys.stderr)
        released = bridge.realtime.release()
        backup_s = bridge.realtime.backup_time_s
    if not released:
        raise BridgeError(
            f"release not confirmed by the controller; its backup timer ({backup_s} s) hands control back to its own plan"
        )
    print("released", flush=True)
    return 0
