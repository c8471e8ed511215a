"""Scenario files: faults injected into the simulated plant at given simulated times.

A scenario is YAML validated by pydantic (unknown keys are errors). Times are seconds or
durations such as `90s`, `15m`, `2h`, `3d`, `1w`, `1d12h`, counted from the simulation start.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from isthmus.config.durations import Duration, parse_duration
from isthmus.sim.errors import ScenarioError

__all__ = ["BearingWear", "Bias", "CommLoss", "Drift", "Fault", "FirmwareChange", "Noise",
           "ProgramChange", "Replay", "Scenario", "Smooth", "Spike", "Stuck", "load_scenario",
           "parse_duration", "shipped_scenarios"]



class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(description="a tag path (signal faults), an asset path, or a device "
                        "name; paths may omit the enterprise/site prefix")
    start: Duration = 0.0
    duration: Duration | None = Field(default=None, description="absent: until the end")
    description: str = ""

    def active(self, t_s: float) -> bool:
        if t_s < self.start:
            return False
        return self.duration is None or t_s < self.start + self.duration


class BearingWear(_Fault):
    """The asset's bearing wears `factor` times faster than normal."""

    kind: Literal["bearing_wear"]
    factor: Annotated[float, Field(gt=0)] = 20.0


class Stuck(_Fault):
    """The sensor freezes: at `value`, or at its reading when the fault starts."""

    kind: Literal["stuck"]
    value: float | None = None


class Drift(_Fault):
    """A growing calibration offset: `rate_per_hour` engineering units per simulated hour."""

    kind: Literal["drift"]
    rate_per_hour: float


class Spike(_Fault):
    """An outlier of `magnitude` added for `width`; repeated `every` if given."""

    kind: Literal["spike"]
    magnitude: float
    width: Duration = 1.0
    every: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] | None = None


class Noise(_Fault):
    """Extra Gaussian noise of standard deviation `sigma` (engineering units)."""

    kind: Literal["noise"]
    sigma: Annotated[float, Field(gt=0)]


class CommLoss(_Fault):
    """The target stops answering. `silent`: requests get no response (clients time out);
    `disconnect` (devices only): the listener and its connections close."""

    kind: Literal["comm_loss"]
    mode: Literal["silent", "disconnect"] = "silent"


class Replay(_Fault):
    """The sensor plays back what it reported from `source_start` for `length`, in a loop
    (recorded data replayed to hide the process, as Stuxnet did)."""

    kind: Literal["replay"]
    source_start: Duration
    length: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]

    @model_validator(mode="after")
    def _recorded_before(self) -> Replay:
        if self.source_start + self.length > self.start:
            end = self.source_start + self.length
            raise ValueError(f"replay records {self.source_start:g}..{end:g} s, which must "
                             f"end before the replay starts at {self.start:g} s")
        return self


class Smooth(_Fault):
    """The reading is replaced by its own slow average (time constant `tau`): a value an
    attacker computes instead of measuring, with none of a transmitter's noise."""

    kind: Literal["smooth"]
    tau: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 60.0


class Bias(_Fault):
    """False data injection: the reading is offset by `offset` engineering units."""

    kind: Literal["bias"]
    offset: float


class FirmwareChange(_Fault):
    """The device (a device name) reports a new firmware revision in its identification
    (Modbus FC 43/14 object 2) from `start` on; permanent, `duration` is ignored."""

    kind: Literal["firmware_change"]
    revision: str = "9.9.9-tampered"


class ProgramChange(_Fault):
    """The device's program checksum register takes a new value from `start` on."""

    kind: Literal["program_change"]
    checksum: Annotated[int, Field(ge=0, le=0xFFFFFFFF)] = 0xBADC0DE


Fault = Annotated[BearingWear | Stuck | Drift | Spike | Noise | CommLoss | Replay | Bias
                  | Smooth | FirmwareChange | ProgramChange, Field(discriminator="kind")]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    faults: list[Fault] = []


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that come with Isthmus."""
    folder = resources.files("isthmus.sim") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


def load_scenario(source: str | Path) -> Scenario:
    """Load a scenario from a file path, or by the name of a shipped one (`bearing-wear`)."""
    path = Path(source)
    if path.is_file():
        text, where = path.read_text(encoding="utf-8"), str(path)
    elif str(source) in shipped_scenarios():
        ref = resources.files("isthmus.sim") / "scenarios" / f"{source}.yaml"
        text, where = ref.read_text(encoding="utf-8"), f"shipped scenario {source}"
    else:
        raise ScenarioError(f"scenario {str(source)!r}: no such file, and not a shipped "
                            f"scenario ({', '.join(shipped_scenarios())})")
    return parse_scenario(text, where=where)


def parse_scenario(text: str, *, where: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping with name and faults")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}"
                             for e in exc.errors())
        raise ScenarioError(f"{where}: {problems}") from exc
