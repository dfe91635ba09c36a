"""Load YAML into validated models, with errors that name the file, the field path, expected and found.

A config file says what it is with a top-level `kind:` key (see MODELS). Relative paths inside it are resolved
against the file's own folder, so a config can be moved together with its model and scenario files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from configs.bridge import BridgeConfig, BridgePlanConfig
from configs.controller import ControllerParams
from configs.edge import EdgeConfig
from configs.errors import ConfigError
from configs.intersection import IntersectionConfig
from configs.scenario import ScenarioConfig
from configs.vision import CameraConfig, DetectorConfig

__all__ = ["MODELS", "format_validation_error", "load_config", "load_yaml_model"]

MODELS: dict[str, type[BaseModel]] = {
    "edge": EdgeConfig,
    "intersection": IntersectionConfig,
    "camera": CameraConfig,
    "detector": DetectorConfig,
    "bridge": BridgeConfig,
    "bridge_plan": BridgePlanConfig,
    "scenario": ScenarioConfig,
    "controller": ControllerParams,
}


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per problem: `FILE: field.path: what was wrong (found VALUE)`; the first line stands alone."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        found = err.get("input")
        shown = "" if isinstance(found, dict) or "found" in msg else f" (found {_short(found)})"
        lines.append(f"{source}: {loc}: {msg}{shown}")
    return "; ".join(lines)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: expected a YAML config file, found {'a folder' if path.exists() else 'nothing'}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: expected valid YAML, found a syntax error ({problem})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: expected UTF-8 text, found undecodable bytes at {exc.start}") from exc


def load_yaml_model(path: str | Path, model: type[BaseModel]) -> Any:
    """Validate a YAML file (with or without a `kind:` key) as `model`; a `kind:` naming another model is refused.

    Raises:
        ConfigError: the file is missing, is not YAML, or fails validation.
    """
    p = Path(path)
    data = _read_yaml(p)
    if isinstance(data, dict):
        kind = data.get("kind")
        expected = [k for k, m in MODELS.items() if m is model]
        if kind is not None and expected and kind not in expected:
            raise ConfigError(f"{p}: kind: expected {expected[0]!r} here, found {kind!r}")
        data = {k: v for k, v in data.items() if k != "kind"}
    return _validate(p, data, model)


def _validate(path: Path, data: Any, model: type[BaseModel]) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    try:
        return model.model_validate(data, context={"base_dir": path.parent.resolve()})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from exc


def load_config(path: str | Path) -> tuple[str, Any]:
    """Load a config file whose top-level `kind:` names its model.

    Returns:
        (kind, validated model).
    Raises:
        ConfigError: missing file, bad YAML, unknown kind or invalid content.
    """
    p = Path(path)
    data = _read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, found {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in MODELS:
        raise ConfigError(f"{p}: kind: expected one of {sorted(MODELS)}, found {kind!r}")
    body = {k: v for k, v in data.items() if k != "kind"}
    return kind, _validate(p, body, MODELS[kind])
