"""Run one simulation: one scenario, one controller, one seed. Meant to run in its own process (libsumo).

Per signalised junction one controller object is plugged in through one interface:
    measurement = source.measure(junction, now)   -> controller.decide(...)   -> guard.step(...) -> SUMO
Coordinated controllers (those that publish a plan, with `coordination_horizon_s` > 0) also see, through the
measurement's `upstream`, what their upstream neighbours released or plan to release toward them.
`fixed` and `actuated` are SUMO's own logic (the scenario's static programs, or the same phase sequence re-typed as
gap-based actuated); they still go through the same loop, which then only samples queues.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from configs.controller import ControllerParams
from controller.coordination import UpstreamLink, UpstreamPredictor
from controller.guard import SafetyGuard
from controller.monitor import SafetyMonitor
from controller.registry import NATIVE_CONTROLLERS, get_factory
from controller.signal_model import ProgramPhase, SignalModel, derive_signal_model
from sim.actuation import Actuator, make_actuator
from sim.backend import load_api
from sim.errors import SimError
from sim.metrics import parse_tripinfo, trip_metrics
from sim.sources import make_source
from sim.sumo_bin import sumo_binary
from sim.sumocfg import read_sumocfg
from sim.topology import SignalInfo, read_topology

__all__ = ["QUEUE_SAMPLE_S", "RunSpec", "run_one"]

QUEUE_SAMPLE_S = 10.0
ACTUATED_PROGRAM = "greenwave_actuated"
# Decisions happen once per simulation step (1 s): a bound can only be acted on at a step.
_STEP_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class RunSpec:
    sumocfg: Path
    controller: str
    seed: int
    begin_s: float | None = None
    end_s: float | None = None
    params: ControllerParams = field(default_factory=ControllerParams)
    backend: str | None = None
    measure: str = "oracle"  # sim.sources.MEASUREMENTS
    actuation: str = "direct"  # sim.actuation.ACTUATIONS


def run_one(spec: RunSpec, *, on_step: Callable[[Any, float], None] | None = None) -> dict[str, Any]:
    """Run the simulation and return metrics, queue series and controller statistics (plain JSON types).

    `on_step(api, now_s)`, when given, is called after every simulation step with the SUMO API, for benchmarks
    that measure per-step state SUMO's outputs do not give (bench/progression.py). Controllers never see it.
    """
    wall0 = time.perf_counter()
    cfg = read_sumocfg(spec.sumocfg)
    begin_s = spec.begin_s if spec.begin_s is not None else (cfg.begin_s or 0.0)
    end_s = spec.end_s if spec.end_s is not None else cfg.end_s
    if end_s is not None and end_s <= begin_s:
        raise SimError(f"{cfg.path.name}: expected an end after the begin ({begin_s:g} s), found end {end_s:g} s")
    if not 0 <= spec.seed < 2**31:
        raise SimError(f"seed: expected 0 <= seed < 2147483648 (SUMO's range), found {spec.seed}")
    topo = read_topology(cfg.net_file, range_m=spec.params.detection_range_m)
    external = spec.controller not in NATIVE_CONTROLLERS
    factory = get_factory(spec.controller) if external else None
    api, backend = load_api(spec.backend)
    with tempfile.TemporaryDirectory(prefix="greenwave-run-") as tmp:
        out = Path(tmp)
        extra = _write_additional(out, topo.signals, spec)
        cmd = [
            sumo_binary("sumo"),
            "-c", str(cfg.path),
            "--seed", str(spec.seed),
            "--random", "false",  # a config's <random value="true"/> would otherwise ignore the seed
            "--time-to-teleport", "-1",
            "--tripinfo-output", str(out / "tripinfo.xml"),
            "--tripinfo-output.write-unfinished", "true",
            "--tripinfo-output.write-undeparted", "true",
            "--additional-files", ",".join([str(p) for p in cfg.additional_files] + [str(extra)]),
            "--no-step-log", "true",
            "--no-warnings", "true",
            "--duration-log.disable", "true",
        ]
        if spec.begin_s is not None:
            cmd += ["--begin", str(spec.begin_s)]
        if spec.end_s is not None:
            cmd += ["--end", str(spec.end_s)]
        loop = None
        try:
            api.start(cmd)
            try:
                loop = _Loop(api, topo.signals, spec, factory, feeds=topo.feeds)
                loop.run(end_s, on_step)
            finally:
                if loop is not None:
                    loop.close()
                api.close()
        except _api_errors(api) as exc:  # SUMO refused the run or died in it; its own message says why
            raise SimError(f"{cfg.path.name}: SUMO stopped: {_first_line(exc)}") from None
        metrics = trip_metrics(parse_tripinfo(out / "tripinfo.xml"), teleports=loop.teleports)
    result: dict[str, Any] = {"seed": spec.seed, **metrics.as_dict()}
    result.update(
        controller=spec.controller,
        backend=backend,
        wall_s=time.perf_counter() - wall0,
        sim_s=loop.sim_s,
        collisions=loop.collisions,
        emergency_stops=loop.emergency_stops,
        decision_ms=loop.decision_ms(),
        guard_overrides=dict(loop.overrides),
        safety_violations=dict(loop.violations),
        queue_m=loop.queues,
    )
    return result


@dataclass
class _Agent:
    """One signalised junction under external control."""

    tls_id: str
    controller: Any
    guard: SafetyGuard
    monitor: SafetyMonitor
    actuator: Actuator
    upstream: UpstreamPredictor | None = None


class _Loop:
    def __init__(
        self,
        api: Any,
        signals: dict[str, SignalInfo],
        spec: RunSpec,
        factory: Any,
        *,
        feeds: dict[str, dict[str, tuple[UpstreamLink, ...]]] | None = None,
    ) -> None:
        self.api = api
        self.spec = spec
        self.teleports = self.collisions = self.emergency_stops = 0
        self.sim_s = 0.0
        self.overrides: dict[str, int] = {}
        self.queues: dict[str, list[tuple[float, float]]] = {}
        self._decision_s: list[float] = []
        # approach -> per controlled lane, the detectors along its zone (the lane and the lanes upstream of it)
        self._approach_dets: dict[str, list[list[str]]] = {}
        for tls_id, info in signals.items():
            for lane, edge in info.lane_edges.items():
                # SUMO puts no detectors on a junction's internal lanes; the queue series skips those few metres
                chain = [_det_id(seg.lane) for seg in info.zones[lane] if not seg.lane.startswith(":")]
                self._approach_dets.setdefault(f"{tls_id}/{edge}", []).append(chain)
        self.violations: dict[str, int] = {}
        self._agents: list[_Agent] = []
        if spec.controller == "actuated":
            for tls_id in signals:
                api.trafficlight.setProgram(tls_id, ACTUATED_PROGRAM)
        if factory is not None:
            self.source = make_source(spec.measure, api, signals, spec.params, seed=spec.seed)
            now = api.simulation.getTime()
            try:
                for tls_id, info in signals.items():
                    model = _model_for(api, tls_id, info, spec.params)
                    guard = SafetyGuard(model, start_phase=_start_phase(api, tls_id, model), now_s=now)
                    actuator = make_actuator(spec.actuation, api, tls_id, model, guard.state)
                    monitor = SafetyMonitor(model, tolerance_s=_STEP_TOLERANCE_S)
                    monitor.observe(now, guard.state)
                    upstream = None
                    if feeds and feeds.get(tls_id) and spec.params.coordination_horizon_s > 0:
                        upstream = UpstreamPredictor(
                            feeds[tls_id],
                            speed_mps=spec.params.free_speed_mps,
                            horizon_s=spec.params.coordination_horizon_s,
                        )
                    agent = _Agent(tls_id, factory(model, spec.params), guard, monitor, actuator, upstream)
                    self._agents.append(agent)
            except BaseException:
                self.close()  # hand back whatever the junctions set up so far hold
                raise

    def run(self, end_s: float | None, on_step: Callable[[Any, float], None] | None = None) -> None:
        api = self.api
        sim = api.simulation
        t0 = t = sim.getTime()
        next_sample = t
        perf = time.perf_counter
        plans: dict[str, Any] = {}  # junction -> its controller's latest published plan
        # only junctions upstream of a coordinated one publish (a plan is built when read)
        listened = {
            link.up_junction
            for a in self._agents
            if a.upstream is not None
            for links in a.upstream.links.values()
            for link in links
        }
        while True:
            if end_s is not None and t >= end_s - 1e-9:
                break
            if end_s is None and sim.getMinExpectedNumber() <= 0:
                break
            api.simulationStep()
            t = sim.getTime()
            self.teleports += sim.getStartingTeleportNumber()
            self.collisions += sim.getCollidingVehiclesNumber()
            self.emergency_stops += sim.getEmergencyStoppingVehiclesNumber()
            if on_step is not None:
                on_step(api, t)
            if t >= next_sample:
                self._sample_queues(t)
                next_sample = t + QUEUE_SAMPLE_S
            for agent in self._agents:
                m = self.source.measure(agent.tls_id, t)
                c0 = perf()
                if agent.upstream is not None:
                    m = agent.upstream.attach(m, plans)
                phase = agent.controller.decide(m, agent.guard.status)
                demand = agent.controller.demand(m)
                self._decision_s.append(perf() - c0)
                if agent.tls_id in listened:
                    published = getattr(agent.controller, "published", None)
                    if published is not None:
                        plans[agent.tls_id] = published
                    else:
                        plans.pop(agent.tls_id, None)  # no stale plan for the neighbours
                shown = agent.actuator.apply(t, agent.guard.step(t, phase, demand))
                agent.monitor.observe(t, shown, demand)
        self.sim_s = t - t0
        for agent in self._agents:
            for reason, n in agent.guard.overrides.items():
                self.overrides[reason] = self.overrides.get(reason, 0) + n
            for kind, n in agent.monitor.violations.items():
                if n:
                    self.violations[kind] = self.violations.get(kind, 0) + n

    def close(self) -> None:
        for agent in self._agents:
            agent.actuator.close()

    def _sample_queues(self, t: float) -> None:
        get = self.api.lanearea.getJamLengthMeters
        for approach, chains in self._approach_dets.items():
            queue = max(sum(get(d) for d in chain) for chain in chains)
            self.queues.setdefault(approach, []).append((t, queue))

    def decision_ms(self) -> float | None:
        return statistics.median(self._decision_s) * 1000.0 if self._decision_s else None


def _api_errors(api: Any) -> tuple[type[BaseException], ...]:
    """The SUMO API's own exception types (libsumo's TraCIException, traci's TraCIException/FatalTraCIError)."""
    found = [getattr(api, n, None) for n in ("TraCIException", "FatalTraCIError")]
    exceptions = getattr(api, "exceptions", None)  # the traci package keeps them in traci.exceptions
    found += [getattr(exceptions, n, None) for n in ("TraCIException", "FatalTraCIError")] if exceptions else []
    return tuple({t for t in found if isinstance(t, type) and issubclass(t, BaseException)})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_ACTUATED_TYPES = (3, 4, 5)  # TRAFFICLIGHT_TYPE_ACTUATED, _NEMA, _DELAYBASED (the same in libsumo and traci)


def _model_for(api: Any, tls_id: str, info: SignalInfo, params: ControllerParams) -> SignalModel:
    """The model of the program SUMO is running: read from SUMO itself, so a program loaded from an additional
    file (or replacing the net's under the same id) is the one used, not the net's first.

    Raises:
        SimError: SUMO reports no logic for the program it runs.
    """
    program_id = api.trafficlight.getProgram(tls_id)
    logic = next((lg for lg in api.trafficlight.getAllProgramLogics(tls_id) if lg.programID == program_id), None)
    if logic is None:
        raise SimError(f"signal {tls_id}: expected the logic of its running program {program_id!r}, found none")
    # the net's NEMA yellow/red attributes, which SUMO's API does not report, where the phase is the net's own
    in_net = {(ph.state, ph.duration_s): ph for ph in info.programs.get(program_id, ())}
    program = []
    for ph in logic.phases:
        net_ph = in_net.get((ph.state, float(ph.duration)))
        program.append(ProgramPhase(
            state=ph.state,
            duration_s=float(ph.duration),
            min_dur_s=float(ph.minDur) if ph.minDur >= 0 else None,
            max_dur_s=float(ph.maxDur) if ph.maxDur >= 0 else None,
            yellow_s=net_ph.yellow_s if net_ph else None,
            red_s=net_ph.red_s if net_ph else None,
        ))  # fmt: skip
    return derive_signal_model(
        tls_id,
        info.links,
        program,
        min_green_s=params.min_green_s,
        max_green_s=params.max_green_s,
        max_red_s=params.max_red_s,
        yellow_s=params.yellow_s,
        actuated_bounds=int(logic.type) in _ACTUATED_TYPES,
    )


def _start_phase(api: Any, tls_id: str, model: SignalModel) -> int:
    """The model phase at or after the program's current phase, so the first seconds look like the program."""
    current = api.trafficlight.getPhase(tls_id)
    for p in model.phases:
        if p.program_index >= current:
            return p.index
    return 0


def _det_id(lane: str) -> str:
    return "gwq_" + lane


def _write_additional(out: Path, signals: dict[str, SignalInfo], spec: RunSpec) -> Path:
    """Queue detectors along every controlled lane's zone and, for `actuated`, the programs re-typed as actuated."""
    lines = ["<additional>"]
    placed: set[str] = set()
    for info in signals.values():
        for segments in info.zones.values():
            for seg in segments:
                if seg.lane in placed or seg.lane.startswith(":"):
                    continue
                placed.add(seg.lane)
                det_len = max(0.1, min(seg.length_m, spec.params.detection_range_m - seg.offset_m))
                lines.append(
                    f"  <laneAreaDetector id={quoteattr(_det_id(seg.lane))} lane={quoteattr(seg.lane)} "
                    f'endPos="{seg.length_m:.2f}" length="{det_len:.2f}" period="86400" file="/dev/null"/>'
                )
        if spec.controller == "actuated":
            lines.extend(_actuated_program(info, spec.params))
    lines.append("</additional>")
    path = out / "greenwave.add.xml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ET.parse(path)  # fail here, not inside SUMO, if an id broke the XML
    return path


def _actuated_program(info: SignalInfo, params: ControllerParams) -> list[str]:
    """SUMO's gap-based actuated control on the same phase sequence as the scenario's first program."""
    pid, phases = next(iter(info.programs.items()))
    already = info.program_types.get(pid) == "actuated"
    lines = [f'  <tlLogic id={quoteattr(info.tls_id)} programID="{ACTUATED_PROGRAM}" offset="0" type="actuated">']
    for ph in phases:
        green = any(c in "Gg" for c in ph.state) and not any(c in "yYuU" for c in ph.state)
        if green:
            lo = ph.min_dur_s if already and ph.min_dur_s is not None else params.min_green_s
            hi = ph.max_dur_s if already and ph.max_dur_s is not None else max(params.max_green_s, lo)
            dur = min(max(ph.duration_s, lo), hi)
            if math.isclose(lo, hi):
                lines.append(f'    <phase duration="{dur:g}" state="{ph.state}"/>')
            else:
                lines.append(f'    <phase duration="{dur:g}" minDur="{lo:g}" maxDur="{hi:g}" state="{ph.state}"/>')
        else:
            lines.append(f'    <phase duration="{ph.duration_s:g}" state="{ph.state}"/>')
    lines.append("  </tlLogic>")
    return lines
