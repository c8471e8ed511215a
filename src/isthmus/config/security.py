"""The site file's `security_monitor:` section: the passive monitor run inside the gateway
(live capture on one interface, detection rules, baseline, SIEM outputs). Absent = off."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from isthmus.config.durations import Duration

__all__ = ["SecurityMonitorConfig"]



def _network(cidr: str) -> str:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not a network: give a CIDR such as 10.1.0.0/16 "
                         f"({exc})") from None
    return cidr


def _host_port(target: str) -> str:
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{target!r} is not HOST:PORT (e.g. siem.example:514)")
    return target


Seconds = Duration
Network = Annotated[str, AfterValidator(_network)]


class SecurityMonitorConfig(BaseModel):
    """`security_monitor:` — watch `iface` live (root or CAP_NET_RAW), keep the frames the
    BPF `filter` passes (default: the site's device hosts), raise alerts mapped to ATT&CK
    for ICS as security events, keep the inventory in the asset table
    (docs/security-monitor.md, "Inside the platform")."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    iface: Annotated[str, Field(min_length=1)] = "lo"
    bpf: str | None = Field(default=None, alias="filter",
                            description="tcpdump-style filter; default: host H or … for "
                                        "every device host of the site")
    baseline: Path | None = Field(default=None, description="protect with this learned "
                                  "baseline (`isthmus monitor --learn FILE` writes one)")
    learn_for: Annotated[Seconds, Field(gt=0)] | None = Field(
        default=None, description="learn a baseline for this long, save it in the data "
                                  "directory (security/baseline.json), then protect with it")
    rules: list[Path] = Field(default=[], description="more rule files or folders (YAML)")
    ot_nets: list[Network] = []
    it_nets: list[Network] = []
    cef: Annotated[str, AfterValidator(_host_port)] | None = Field(
        default=None, description="send alerts as syslog CEF to this HOST:PORT")
    cef_tcp: bool = False
    zeek_dir: Path | None = Field(default=None, description="write Zeek TSV logs here")
    settle: Annotated[Seconds, Field(ge=0, le=300)] = Field(
        default=3.0, description="how long a write waits for the process value after it")
    inventory_every: Annotated[Seconds, Field(gt=0, le=86400)] = Field(
        default=60.0, description="how often the inventory is upserted into the asset table")

    @model_validator(mode="after")
    def _one_baseline_source(self) -> SecurityMonitorConfig:
        if self.baseline is not None and self.learn_for is not None:
            raise ValueError("give `baseline: FILE` (protect with it) or `learn_for: "
                             "DURATION` (learn one), not both")
        return self
