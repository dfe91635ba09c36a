"""Plan download: a coordination pattern (cycle, offset) and its split table, written, verified and reported.

Where the controller supports dbCreateTransaction the writes go inside a transaction (the controller checks the
whole database before using any of it); otherwise they are written directly, after reading what they replace, and
when the controller refuses a later chunk the earlier ones are put back, so no pattern is left half new. Either
way every value is read back and compared. What the controller refused is reported by object and value, not
raised, so an engineer sees all of it; link failures still raise. The plan is checked locally first (each ring's
splits add up to the cycle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from firmware_bridge.client import SnmpClient, describe_oid
from firmware_bridge.errors import BridgeRejected
from firmware_bridge.ntcip import DbTransaction, oid_of
from firmware_bridge.snmp import ErrorStatus, Oid, Value

__all__ = ["DownloadReport", "PatternPlan", "SplitEntry", "download_plan"]

SPLIT_MODES = {
    "none": 2,
    "min_recall": 3,
    "max_recall": 4,
    "ped_recall": 5,
    "max_ped_recall": 6,
    "omitted": 7,
}
_CHUNK = 12  # varbinds per SET: keeps a PMPP frame near 500 bytes


@dataclass(frozen=True, slots=True)
class SplitEntry:
    phase: int
    time_s: int
    mode: int = SPLIT_MODES["none"]
    coord: bool = False


@dataclass(frozen=True, slots=True)
class PatternPlan:
    pattern: int
    cycle_s: int
    offset_s: int
    splits: tuple[SplitEntry, ...]
    split_number: int = 0  # 0: same number as the pattern

    @property
    def split_table(self) -> int:
        return self.split_number or self.pattern

    def values(self) -> list[tuple[Oid, Value]]:
        p, s = self.pattern, self.split_table
        out: list[tuple[Oid, Value]] = [
            (oid_of("patternCycleTime", p), self.cycle_s),
            (oid_of("patternOffsetTime", p), self.offset_s),
            (oid_of("patternSplitNumber", p), s),
        ]
        for e in self.splits:
            out += [
                (oid_of("splitTime", s, e.phase), e.time_s),
                (oid_of("splitMode", s, e.phase), e.mode),
                (oid_of("splitCoordPhase", s, e.phase), int(e.coord)),
            ]
        return out


@dataclass(frozen=True, slots=True)
class DownloadReport:
    used_transaction: bool
    written: int
    rejects: tuple[str, ...] = ()
    mismatches: tuple[str, ...] = ()
    local_problems: tuple[str, ...] = ()
    activated: bool = False

    @property
    def ok(self) -> bool:
        return not (self.rejects or self.mismatches or self.local_problems)


def ring_problems(plan: PatternPlan, rings: dict[int, int]) -> list[str]:
    """Pure: each ring's split times must add up to the cycle (`rings` maps phase -> ring number)."""
    totals: dict[int, int] = {}
    for e in plan.splits:
        if e.mode != SPLIT_MODES["omitted"]:
            totals[rings.get(e.phase, 0)] = totals.get(rings.get(e.phase, 0), 0) + e.time_s
    return [
        f"pattern {plan.pattern}: ring {ring} splits add to {total} s, expected the cycle {plan.cycle_s} s"
        for ring, total in sorted(totals.items())
        if ring and total != plan.cycle_s
    ]


def _chunks(values: Sequence[tuple[Oid, Value]]) -> list[Sequence[tuple[Oid, Value]]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _restore(client: SnmpClient, previous: Sequence[tuple[Oid, Value]]) -> str:
    """Put back values written before a reject (no transaction to abandon); says how that went."""
    try:
        for chunk in _chunks(previous):
            client.set(chunk)
    except BridgeRejected as exc:
        return f"no transaction: the {len(previous)} values written before the reject could not be put back ({exc})"
    return f"no transaction: the {len(previous)} values written before the reject were put back as they were"


def supports_transactions(client: SnmpClient) -> bool:
    try:
        client.get([oid_of("dbCreateTransaction")])
    except BridgeRejected as exc:
        if exc.error_status == ErrorStatus.NO_SUCH_NAME:
            return False
        raise
    return True


def download_plan(client: SnmpClient, plan: PatternPlan, *, activate: bool = False) -> DownloadReport:
    """Write `plan`, read it back, optionally run it (systemPatternControl = pattern).

    Raises:
        BridgeTimeout, BridgeLinkError: the link failed (nothing about the plan is known).
    """
    phases = sorted(e.phase for e in plan.splits)
    ring_values = client.get([oid_of("phaseRing", p) for p in phases])
    rings = {p: r for p, r in zip(phases, ring_values, strict=True) if isinstance(r, int)}
    local = ring_problems(plan, rings)
    values = plan.values()
    if local:
        return DownloadReport(False, 0, local_problems=tuple(local))
    transaction = supports_transactions(client)
    # without a transaction each chunk lands on its own: keep what was there, to put back if a later one is refused
    before = [] if transaction else [v for chunk in _chunks(values) for v in client.get([oid for oid, _ in chunk])]
    rejects: list[str] = []
    written = 0
    try:
        if transaction:
            client.set([(oid_of("dbCreateTransaction"), DbTransaction.TRANSACTION)])
        for chunk in _chunks(values):
            client.set(chunk)
            written += len(chunk)
        if transaction:
            client.set([(oid_of("dbCreateTransaction"), DbTransaction.VERIFYING)])
    except BridgeRejected as exc:
        rejects.append(str(exc))
        if not transaction and written:
            previous = [(oid, old) for (oid, _), old in zip(values[:written], before[:written], strict=True)]
            rejects.append(_restore(client, previous))
    finally:
        if transaction:
            client.set([(oid_of("dbCreateTransaction"), DbTransaction.NORMAL)])
    if rejects:
        return DownloadReport(transaction, written, rejects=tuple(rejects))
    mismatches = []
    for chunk in _chunks(values):
        got = client.get([oid for oid, _ in chunk])
        mismatches += [
            f"{describe_oid(oid)}: wrote {want!r}, read back {have!r}"
            for (oid, want), have in zip(chunk, got, strict=True)
            if want != have
        ]
    activated = False
    if activate and not mismatches:
        try:
            client.set([(oid_of("systemPatternControl"), plan.pattern)])
            activated = True
        except BridgeRejected as exc:
            rejects.append(str(exc))
    return DownloadReport(transaction, written, tuple(rejects), tuple(mismatches), activated=activated)
