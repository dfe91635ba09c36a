"""Text of SUMO's plain XML inputs (.nod/.edg/.con/.tll), the route file and the .sumocfg of a compiled scenario.

Pure functions returning strings; deterministic (fixed element and attribute order, fixed number formats).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sim.scenarios.definition import CompiledScenario

__all__ = ["scenario_texts"]


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _doc(root: ET.Element) -> str:
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def nodes_xml(c: CompiledScenario) -> str:
    root = ET.Element("nodes")
    for n in c.network.nodes:
        attrs = {"id": n.id, "x": _num(n.x_m), "y": _num(n.y_m), "type": n.type}
        if n.type == "traffic_light":
            attrs["tl"] = n.id
        ET.SubElement(root, "node", attrs)
    return _doc(root)


def edges_xml(c: CompiledScenario) -> str:
    root = ET.Element("edges")
    for e in c.network.edges:
        ET.SubElement(
            root,
            "edge",
            {
                "id": e.id,
                "from": e.from_node,
                "to": e.to_node,
                "numLanes": str(e.lanes),
                "speed": _num(e.speed_m_s),
            },
        )
    return _doc(root)


def connections_xml(c: CompiledScenario) -> str:
    root = ET.Element("connections")
    for k in c.network.connections:
        ET.SubElement(
            root,
            "connection",
            {"from": k.from_edge, "to": k.to_edge, "fromLane": str(k.from_lane), "toLane": str(k.to_lane)},
        )
    return _doc(root)


def tls_xml(c: CompiledScenario) -> str:
    root = ET.Element("tlLogics")
    for jid, program in c.programs.items():
        plan = c.plans[jid]
        logic = ET.SubElement(
            root, "tlLogic", {"id": jid, "type": "static", "programID": "0", "offset": str(plan.offset_s)}
        )
        for ph in program:
            ET.SubElement(
                logic, "phase", {"duration": str(ph.duration_s), "state": ph.state, "name": ph.name}
            )
    for jid in c.programs:
        for k in c.network.signal_links(jid):
            ET.SubElement(
                root,
                "connection",
                {
                    "from": k.from_edge,
                    "to": k.to_edge,
                    "fromLane": str(k.from_lane),
                    "toLane": str(k.to_lane),
                    "tl": jid,
                    "linkIndex": str(k.link_index),
                },
            )
    return _doc(root)


def routes_xml(c: CompiledScenario) -> str:
    d = c.definition.demand
    root = ET.Element("routes")
    dist = ET.SubElement(root, "vTypeDistribution", {"id": "mix"})
    for vt, share in d.mix.normalised():
        ET.SubElement(
            dist,
            "vType",
            {
                "id": vt.id,
                "vClass": vt.vclass,
                "guiShape": vt.gui_shape,
                "length": _num(vt.length_m),
                "width": _num(vt.width_m),
                "height": _num(vt.height_m),
                "minGap": _num(vt.min_gap_m),
                "accel": _num(vt.accel_m_s2),
                "decel": _num(vt.decel_m_s2),
                "maxSpeed": _num(vt.max_speed_m_s),
                "color": vt.color,
                "probability": f"{share:.4f}",
            },
        )
    route_ids = {}
    for (o, t), edges in sorted(c.routes.items()):
        rid = f"{o.junction}_{o.arm}__{t.junction}_{t.arm}"
        route_ids[(o, t)] = rid
        ET.SubElement(root, "route", {"id": rid, "edges": " ".join(edges)})
    flows = []
    for od in d.flows:
        for k, q in enumerate(od.veh_h):
            if q > 0:
                flows.append((k * d.slice_s, route_ids[(od.origin, od.destination)], k, q))
    for begin, rid, k, q in sorted(flows):
        ET.SubElement(
            root,
            "flow",
            {
                "id": f"{rid}__{k}",
                "type": "mix",
                "route": rid,
                "begin": str(begin),
                "end": str(begin + d.slice_s),
                "period": f"exp({q / 3600.0:.6f})",
                "departLane": "best",
                "departSpeed": "max",
            },
        )
    return _doc(root)


def sumocfg_xml(name: str, end_s: int) -> str:
    root = ET.Element("configuration")
    inp = ET.SubElement(root, "input")
    ET.SubElement(inp, "net-file", {"value": f"{name}.net.xml"})
    ET.SubElement(inp, "route-files", {"value": f"{name}.rou.xml"})
    time = ET.SubElement(root, "time")
    ET.SubElement(time, "begin", {"value": "0"})
    ET.SubElement(time, "end", {"value": str(end_s)})
    ET.SubElement(time, "step-length", {"value": "1"})
    return _doc(root)


def scenario_texts(c: CompiledScenario) -> dict[str, str]:
    """File name -> text of every generator-written file (the .net.xml is netconvert's)."""
    name = c.definition.name
    return {
        f"{name}.nod.xml": nodes_xml(c),
        f"{name}.edg.xml": edges_xml(c),
        f"{name}.con.xml": connections_xml(c),
        f"{name}.tll.xml": tls_xml(c),
        f"{name}.rou.xml": routes_xml(c),
        f"{name}.sumocfg": sumocfg_xml(name, c.definition.end_s),
    }
