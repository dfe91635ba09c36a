"""Field-controller link settings: transport URL, NTCIP address, SNMP community, timeouts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from configs.base import StrictModel

__all__ = ["BridgeConfig", "BridgePlanConfig", "SplitConfig"]

_SCHEMES = ("serial", "loop", "socket", "rfc2217", "udp")


class BridgeConfig(StrictModel):
    url: str = Field(
        min_length=1,
        description="'/dev/ttyUSB0?baud=9600' (serial, PMPP), 'loop://', 'socket://h:p', 'rfc2217://h:p' or 'udp://h:p' (SNMP/IP).",
    )
    address: int = Field(default=1, ge=0, le=0x1FFF, description="PMPP (NTCIP 2101) station address.")
    community: str = Field(min_length=1, description="SNMP community with write access.")
    timeout_s: float = Field(default=0.5, gt=0, le=30)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.1, ge=0, le=10, description="Wait before retry k: backoff_s * 2**k.")
    backup_time_s: int = Field(
        default=10, ge=2, le=255, description="unitBackupTime written before commanding."
    )
    mode: str = Field(default="realtime", pattern="^(realtime|plan)$")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if url.startswith("/dev/") or url.startswith("COM"):
            return url
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in _SCHEMES:
            raise ValueError(
                f"expected a device path or one of {[s + '://' for s in _SCHEMES]}, found {url!r}"
            )
        return url

    @field_validator("community")
    @classmethod
    def _not_factory_default(cls, community: str) -> str:
        if community == "public":
            raise ValueError("expected a site community string, found the factory default 'public'")
        return community


class SplitConfig(StrictModel):
    time_s: int = Field(ge=0, le=255, description="Green + yellow + red clearance for this phase, seconds.")
    mode: Literal["none", "min_recall", "max_recall", "ped_recall", "max_ped_recall", "omitted"] = "none"
    coord: bool = Field(default=False, description="Coordinated phase (rests to the split end).")


class BridgePlanConfig(StrictModel):
    """A coordination pattern to download: `greenwave bridge plan FILE`."""

    pattern: int = Field(ge=1, le=253)
    cycle_s: int = Field(ge=30, le=255)
    offset_s: int = Field(default=0, ge=0, le=254)
    split_number: int = Field(default=0, ge=0, le=255, description="0: same number as the pattern.")
    splits: dict[int, SplitConfig] = Field(min_length=2, description="Per phase number (1..64).")

    @model_validator(mode="after")
    def _consistent(self) -> BridgePlanConfig:
        if self.offset_s >= self.cycle_s:
            raise ValueError(f"offset_s: expected below cycle_s {self.cycle_s}, found {self.offset_s}")
        bad = [p for p in self.splits if not 1 <= p <= 64]
        if bad:
            raise ValueError(f"splits: expected phase numbers 1..64, found {bad}")
        return self
