"""Read the parts of a .sumocfg the harness needs (files and time window), paths resolved against its folder."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from sim.errors import ScenarioError

__all__ = ["SumoConfig", "read_sumocfg"]


@dataclass(frozen=True, slots=True)
class SumoConfig:
    path: Path
    net_file: Path
    route_files: tuple[Path, ...]
    additional_files: tuple[Path, ...]
    begin_s: float | None
    end_s: float | None


def read_sumocfg(path: Path) -> SumoConfig:
    """Raises ScenarioError for a missing file, bad XML or a config without a network."""
    if not path.is_file():
        raise ScenarioError(f"{path}: expected a .sumocfg file, found {'a folder' if path.exists() else 'nothing'}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ScenarioError(f"{path}: expected SUMO configuration XML, found a parse error ({exc})") from exc
    values: dict[str, str] = {}
    for el in root.iter():
        if "value" in el.attrib:
            values[el.tag] = el.attrib["value"]
    base = path.parent

    def files(key: str) -> tuple[Path, ...]:
        raw = values.get(key, "")
        return tuple((base / p.strip()).resolve() for p in raw.replace(" ", ",").split(",") if p.strip())

    nets = files("net-file")
    if not nets:
        raise ScenarioError(f"{path}: expected an <net-file value=...> entry, found none")
    if not nets[0].is_file():
        raise ScenarioError(f"{path}: net-file: expected an existing file, found no {nets[0]}")

    for key in ("route-files", "additional-files"):
        missing = [str(f) for f in files(key) if not f.is_file()]
        if missing:
            raise ScenarioError(f"{path}: {key}: expected existing files, found no {', '.join(missing)}")

    def num(key: str) -> float | None:
        try:
            return float(values[key]) if key in values else None
        except ValueError as exc:
            raise ScenarioError(f"{path}: {key}: expected seconds, found {values[key]!r}") from exc

    return SumoConfig(
        path=path.resolve(),
        net_file=nets[0],
        route_files=files("route-files"),
        additional_files=files("additional-files"),
        begin_s=num("begin"),
        end_s=num("end"),
    )
