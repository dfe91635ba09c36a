"""Which SUMO scenario to run: a built-in name or a .sumocfg path, a time window and seeds."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator

from configs.base import StrictModel

__all__ = ["BUILTIN_SCENARIOS", "ScenarioConfig"]

BUILTIN_SCENARIOS = ("single", "corridor")


class ScenarioConfig(StrictModel):
    builtin: str | None = Field(default=None, description=f"One of {list(BUILTIN_SCENARIOS)}.")
    sumocfg: Path | None = Field(default=None, description="Path to a .sumocfg (relative to the YAML file).")
    begin_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, gt=0)
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)

    @field_validator("sumocfg")
    @classmethod
    def _resolve_cfg(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if path is None or path.is_absolute() or base is None:
            return path
        return Path(base) / path

    @model_validator(mode="after")
    def _one_source(self) -> ScenarioConfig:
        if (self.builtin is None) == (self.sumocfg is None):
            raise ValueError("expected exactly one of 'builtin' or 'sumocfg', found "
                             + ("both" if self.builtin else "neither"))
        if self.builtin is not None and self.builtin not in BUILTIN_SCENARIOS:
            raise ValueError(f"builtin: expected one of {list(BUILTIN_SCENARIOS)}, found {self.builtin!r}")
        if self.sumocfg is not None and self.sumocfg.suffix != ".sumocfg":
            raise ValueError(f"sumocfg: expected a .sumocfg file, found {str(self.sumocfg)!r}")
        if self.begin_s is not None and self.end_s is not None and self.end_s <= self.begin_s:
            raise ValueError(f"end_s must be after begin_s, found begin_s={self.begin_s} end_s={self.end_s}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds: expected distinct values, found {self.seeds}")
        return self
