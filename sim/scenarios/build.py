"""Write a compiled scenario to a folder and run netconvert on it, cached and atomic.

Cache: `<name>.build.json` records the generator version and a hash of every generated input text; a build is
skipped when that stamp matches and all files exist. Atomicity: everything is written and netconverted in a
temporary folder inside `out_dir`, then the stamp is removed, the files are renamed into place (os.replace) and
the stamp is written last, so an interrupted build is never mistaken for a finished one. Concurrent builds of
the same scenario (one per seed process) write identical bytes and are harmless.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sim.errors import ScenarioError
from sim.scenarios.definition import CompiledScenario
from sim.scenarios.plainxml import scenario_texts
from sim.sumo_bin import sumo_binary

__all__ = ["GENERATOR_VERSION", "write_scenario"]

GENERATOR_VERSION = 1  # bump when the generator's output changes in a way the input hash cannot see


def _stamp(texts: dict[str, str]) -> dict[str, object]:
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode())
        digest.update(texts[name].encode())
    return {"generator_version": GENERATOR_VERSION, "inputs_sha256": digest.hexdigest()}


def write_scenario(compiled: CompiledScenario, out_dir: Path) -> Path:
    """Write the scenario's files into `out_dir` (reusing a matching earlier build); returns the .sumocfg path.

    Raises:
        ScenarioError: out_dir cannot be written or netconvert fails.
    """
    name = compiled.definition.name
    out_dir = Path(out_dir)
    texts = scenario_texts(compiled)
    stamp = _stamp(texts)
    stamp_path = out_dir / f"{name}.build.json"
    net_name = f"{name}.net.xml"
    names = [*texts, net_name]
    if _is_current(stamp_path, stamp, out_dir, names):
        return out_dir / f"{name}.sumocfg"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    except OSError as exc:
        raise ScenarioError(f"scenario {name}: cannot write into {out_dir}: {exc}") from exc
    try:
        for fname, text in texts.items():
            (tmp / fname).write_text(text, encoding="utf-8")
        _netconvert(name, tmp)
        stamp_path.unlink(missing_ok=True)
        for fname in names:
            os.replace(tmp / fname, out_dir / fname)
        (tmp / stamp_path.name).write_text(json.dumps(stamp, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp / stamp_path.name, stamp_path)
    except OSError as exc:
        raise ScenarioError(f"scenario {name}: cannot write into {out_dir}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / f"{name}.sumocfg"


def _is_current(stamp_path: Path, stamp: dict[str, object], out_dir: Path, names: list[str]) -> bool:
    try:
        found = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found == stamp and all((out_dir / n).is_file() for n in names)


def _netconvert(name: str, folder: Path) -> None:
    cmd = [
        sumo_binary("netconvert"),
        "--node-files", f"{name}.nod.xml",
        "--edge-files", f"{name}.edg.xml",
        "--connection-files", f"{name}.con.xml",
        "--tllogic-files", f"{name}.tll.xml",
        "--output-file", f"{name}.net.xml",
        "--no-turnarounds", "true",
        "--offset.disable-normalization", "true",
        "--junctions.corner-detail", "5",
        "--no-warnings", "false",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (folder / f"{name}.net.xml").is_file():
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit status {proc.returncode}"
        raise ScenarioError(f"scenario {name}: netconvert failed: {detail}")
