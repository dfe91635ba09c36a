"""The phase model of one signalised junction, derived from a SUMO-style program or from config.

A model is a sequence of green phases. Each green phase knows which signal links (SUMO link indices) it serves,
its min/max green and the yellow and all-red that must follow it. Transition states are built for the actual
switch (yellow only on links that lose right of way), never borrowed from the program: a program's own yellow is
only safe for its own successor.

Pure data and functions: the sim adapter reads the program from SUMO and passes plain tuples in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from controller.errors import SignalModelError

__all__ = ["GreenPhase", "Link", "ProgramPhase", "SignalModel", "derive_signal_model", "link_rank"]

GREEN = frozenset("Gg")
YELLOW = frozenset("yYuU")  # u/U: red-yellow (some countries) is a change interval too


def link_rank(c: str) -> int:
    """Right of way a signal character gives: 2 protected green, 1 permissive green, 0 none."""
    return 2 if c == "G" else 1 if c == "g" else 0


@dataclass(frozen=True, slots=True)
class Link:
    """One controlled connection: SUMO's signal index `index` from `in_lane` to `out_lane`."""

    index: int
    in_lane: str
    out_lane: str


@dataclass(frozen=True, slots=True)
class ProgramPhase:
    """A phase as a SUMO program stores it."""

    state: str
    duration_s: float
    min_dur_s: float | None = None
    max_dur_s: float | None = None
    # NEMA-type programs store only greens, their change interval in attributes: lower bounds for the clearance
    yellow_s: float | None = None
    red_s: float | None = None


@dataclass(frozen=True, slots=True)
class GreenPhase:
    """A green phase of the model, with its clearance."""

    index: int  # position in the model's sequence
    program_index: int  # index in the SUMO program, -1 if built from config
    state: str  # signal string while green
    min_green_s: float
    max_green_s: float
    yellow_s: float
    all_red_s: float
    program_green_s: float  # the program's own duration (fixed-time split)
    green_links: frozenset[int]
    in_lanes: tuple[str, ...]  # incoming lanes with at least one green link, unique, link order
    out_lanes: tuple[str, ...]

    @property
    def clearance_s(self) -> float:
        return self.yellow_s + self.all_red_s


@dataclass(frozen=True, slots=True)
class SignalModel:
    junction_id: str
    links: tuple[Link, ...]
    phases: tuple[GreenPhase, ...]
    max_red_s: float
    # (yellow_s, all_red_s) per switch i -> j where they depend on the switch (derived from a program); empty:
    # every switch from i takes phase i's own yellow_s and all_red_s
    transitions: tuple[tuple[tuple[float, float], ...], ...] = ()
    _covered: tuple[frozenset[int], ...] = field(init=False, repr=False, compare=False)

    @property
    def n_phases(self) -> int:
        return len(self.phases)

    def next_in_sequence(self, i: int) -> int:
        return (i + 1) % len(self.phases)

    def incoming_lanes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(link.in_lane for link in self.links))

    def outgoing_lanes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(link.out_lane for link in self.links))

    def yellow_state(self, i: int, j: int) -> str:
        """Signal string for the yellow between green i and green j: 'y' on links that lose right of way.

        A link loses right of way when it goes from green to red, or from protected 'G' to permissive 'g'
        (turners already in the junction on a protected arrow would meet opposing traffic released at once).
        """
        src, dst = self.phases[i].state, self.phases[j].state
        out = []
        for a, b in zip(src, dst, strict=True):
            ra, rb = link_rank(a), link_rank(b)
            if ra and rb >= ra:
                out.append(a)  # keeps right of way through the change
            elif ra:
                out.append("y")
            else:
                out.append("s" if a == "s" and b == "s" else "r")
        return "".join(out)

    def all_red_state(self, i: int, j: int) -> str:
        """Signal string for the red clearance between green i and green j."""
        src, dst = self.phases[i].state, self.phases[j].state
        out = []
        for a, b in zip(src, dst, strict=True):
            ra, rb = link_rank(a), link_rank(b)
            if ra and rb >= ra:
                out.append(a)
            else:
                out.append("s" if a == "s" and b == "s" else "r")
        return "".join(out)

    def clearance(self, i: int, j: int) -> tuple[float, float]:
        """(yellow_s, all_red_s) for the switch from green i to green j; (0, 0) when no link loses right of way.

        A phase's own `yellow_s`/`all_red_s` are the longest of its switches (for worst-case planning).
        """
        if i == j or not self.losing_links(i, j):
            return 0.0, 0.0
        if self.transitions:
            return self.transitions[i][j]
        p = self.phases[i]
        return p.yellow_s, p.all_red_s

    def covered(self, i: int) -> frozenset[int]:
        """Phases served whenever green i shows: every link they give right of way has at least as much in i.

        Always holds i itself; also its twins (a program serving the same green twice per cycle) and narrower
        phases. Their red waits end when i's green starts, and they are not red while it shows.
        """
        return self._covered[i]

    def __post_init__(self) -> None:
        covered = tuple(
            frozenset(
                k
                for k, p in enumerate(self.phases)
                if all(link_rank(a) >= link_rank(b) for a, b in zip(src.state, p.state, strict=True))
            )
            for src in self.phases
        )
        object.__setattr__(self, "_covered", covered)

    def losing_links(self, i: int, j: int) -> frozenset[int]:
        """Links that lose right of way between green i and green j (green -> red, or 'G' -> 'g')."""
        src, dst = self.phases[i].state, self.phases[j].state
        return frozenset(
            k for k, (a, b) in enumerate(zip(src, dst, strict=True)) if link_rank(a) > link_rank(b)
        )


def derive_signal_model(
    junction_id: str,
    links: Sequence[Link],
    program: Sequence[ProgramPhase],
    *,
    min_green_s: float,
    max_green_s: float,
    max_red_s: float,
    yellow_s: float,
    actuated_bounds: bool = False,
) -> SignalModel:
    """Build the phase model from a SUMO program.

    Green phases are those with a green link and no yellow link. A green phase's clearance is the longest the
    program gives any of its links: the yellow and all-red phases that follow it in the program, and for each
    of its green links the yellow that link gets wherever the program ends its green and the all-red after it
    (a partial yellow that lets some links run on, or a green followed directly by another green, would
    otherwise leave a switch straight to a conflicting phase with a shorter clearance than the program's).
    NEMA phases' own `yellow`/`red` attributes are lower bounds too. A yellow shorter than `yellow_s` (or
    missing) is lengthened to `yellow_s`, never shortened.

    Args:
        actuated_bounds: take min/max green from the program's minDur/maxDur where set.
    Raises:
        SignalModelError: the program has no green phase or its strings do not match the links.
    """
    if not program:
        raise SignalModelError(f"junction {junction_id}: expected a signal program, found no phases")
    width = len(program[0].state)
    for k, p in enumerate(program):
        if len(p.state) != width:
            raise SignalModelError(
                f"junction {junction_id}: phase {k} state {p.state!r} has {len(p.state)} links, expected {width}"
            )
    if links and max(link.index for link in links) >= width:
        raise SignalModelError(f"junction {junction_id}: link index beyond the program's {width} signals")
    by_index: dict[int, list[Link]] = {}
    for link in links:
        by_index.setdefault(link.index, []).append(link)

    green_idx = [k for k, p in enumerate(program) if _is_green(p.state)]
    if not green_idx:
        raise SignalModelError(f"junction {junction_id}: expected at least one green phase, found none")

    phases: list[GreenPhase] = []
    link_yellow, link_red = _link_clearances(program)
    # per switch: the longest yellow and all-red the program gives any link that loses right of way, the NEMA
    # phase's own attributes and, for the program's own successor, the change phases between them
    chain = {k: _change_after(program, k) for k in green_idx}  # the change phases to the program's next green
    table = []
    for k in green_idx:
        p = program[k]
        successor = _next_green(program, k)
        row = []
        for k2 in green_idx:
            losing = [i for i, (a, b) in enumerate(zip(p.state, program[k2].state, strict=True))
                      if link_rank(a) > link_rank(b)]  # fmt: skip
            if k2 == k or not losing:
                row.append((0.0, 0.0))
                continue
            y_s = max([yellow_s, p.yellow_s or 0.0, *(link_yellow[i] for i in losing)])
            r_s = max([p.red_s or 0.0, *(link_red[i] for i in losing)])
            if k2 == successor:
                y_s, r_s = max(y_s, chain[k][0]), max(r_s, chain[k][1])
            row.append((y_s, r_s))
        table.append(tuple(row))
    for seq, k in enumerate(green_idx):
        p = program[k]
        y_s = max([chain[k][0], *(y for y, _r in table[seq])])
        r_s = max([chain[k][1], *(r for _y, r in table[seq])])
        gl = frozenset(i for i, c in enumerate(p.state) if c in GREEN)
        in_lanes = tuple(dict.fromkeys(lk.in_lane for i in sorted(gl) for lk in by_index.get(i, [])))
        out_lanes = tuple(dict.fromkeys(lk.out_lane for i in sorted(gl) for lk in by_index.get(i, [])))
        lo, hi = min_green_s, max_green_s
        if (
            actuated_bounds
            and p.min_dur_s is not None
            and p.max_dur_s is not None
            and p.max_dur_s >= p.min_dur_s
        ):
            lo, hi = max(1.0, p.min_dur_s), max(p.max_dur_s, p.min_dur_s, 1.0)
        phases.append(
            GreenPhase(
                index=seq,
                program_index=k,
                state=p.state,
                min_green_s=lo,
                max_green_s=max(hi, lo),
                yellow_s=max(y_s, yellow_s),
                all_red_s=r_s,
                program_green_s=p.duration_s,
                green_links=gl,
                in_lanes=in_lanes,
                out_lanes=out_lanes,
            )
        )
    return SignalModel(junction_id=junction_id, links=tuple(links), phases=tuple(phases), max_red_s=max_red_s,
                       transitions=tuple(table))  # fmt: skip


def _next_green(program: Sequence[ProgramPhase], k: int) -> int:
    n = len(program)
    m = (k + 1) % n
    while m != k and not _is_green(program[m].state):
        m = (m + 1) % n
    return m


def _change_after(program: Sequence[ProgramPhase], k: int) -> tuple[float, float]:
    """The yellow and all-red phases between green k and the program's next green, summed."""
    n = len(program)
    y_s = r_s = 0.0
    m = (k + 1) % n
    while m != k and not _is_green(program[m].state):
        if any(c in YELLOW for c in program[m].state):
            y_s += program[m].duration_s
        else:
            r_s += program[m].duration_s
        m = (m + 1) % n
    return y_s, r_s


def _link_clearances(program: Sequence[ProgramPhase]) -> tuple[list[float], list[float]]:
    """Per link, the longest yellow the program gives it right after a green, and the all-red phases after that."""
    n, width = len(program), len(program[0].state)
    yellow, red = [0.0] * width, [0.0] * width
    for k in range(n):
        cur, nxt = program[k].state, program[(k + 1) % n].state
        for i in range(width):
            if cur[i] not in GREEN or nxt[i] not in "yY":
                continue
            y_s = r_s = 0.0
            m, steps = (k + 1) % n, 0
            while program[m].state[i] in "yY" and steps < n:
                y_s += program[m].duration_s
                m, steps = (m + 1) % n, steps + 1
            while _is_all_red(program[m].state) and steps < n:
                r_s += program[m].duration_s
                m, steps = (m + 1) % n, steps + 1
            yellow[i], red[i] = max(yellow[i], y_s), max(red[i], r_s)
    return yellow, red


def _is_all_red(state: str) -> bool:
    return not any(c in GREEN or c in YELLOW for c in state)


def _is_green(state: str) -> bool:
    return any(c in GREEN for c in state) and not any(c in YELLOW for c in state)
