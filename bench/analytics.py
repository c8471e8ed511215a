"""Analytics benchmark: every streaming analytic on 5,000 tags at 1 Hz (50 lines of 100 tags:
a filler's fill weight, state, counters and kWh meter, and 95 sensors), fed one 1-second
batch at a time: SPC (an X̄-R chart per line), OEE and energy per line, the ISA-18.2 alarm
engine (20 HI alarms per line), the anomaly detectors (a robust-z group of 20 sensors and a
PCA group of 5 per line) and the health engine (one asset per line: a degradation sensor
with a 4-hour trend at 1-minute steps, a second signal and a running gate). Reports samples/s
per core (single thread), the time each component takes, and the process RSS over simulated
time.

Baseline, same run: a naive pandas recomputation over a sliding window (each second, the
last `--window` seconds are concatenated and per-tag mean/std/min/max recomputed, and the
newest values compared to them).

    .venv/bin/python bench/analytics.py [--hours 1] [--baseline-seconds 120] [--window 300]

A simulated day is 432 M samples (`--hours 24`); the default runs one hour and states the
rate, which holds for longer runs because every component's memory is bounded (the RSS
column shows it).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from isthmus.analytics.alarms import AlarmEngine
from isthmus.analytics.anomaly.engine import AnomalyEngine
from isthmus.analytics.efficiency import EfficiencyAnalytics
from isthmus.analytics.health import HealthEngine
from isthmus.config.schema import SiteConfig
from isthmus.gateway import namespace_tags
from isthmus.model import Event, SampleBatch, TagRegistry

S = 1_000_000_000
T0 = 1_750_000_000 * S
PER_LINE = 100
SENSORS = PER_LINE - 5


def site_of(lines: int, *, anomaly: bool) -> SiteConfig:
    devices, spc, oee, meters, alarms, groups, assets = [], [], [], [], [], [], []
    for i in range(lines):
        line = f"packaging/line{i}"
        filler = {"fill_weight": {"address": 0, "type": "float32"},
                  "state": {"address": 2}, "good_count": {"address": 3, "type": "uint32"},
                  "reject_count": {"address": 5, "type": "uint32"},
                  "kwh": {"address": 7, "type": "float32"}}
        sensors = {f"s{k:02d}": {"address": 2 * k, "type": "float32"} for k in range(SENSORS)}
        devices.append({"name": f"plc{i}", "host": "127.0.0.1", "units": [
            {"unit_id": 1, "path": f"{line}/filler/filler", "tags": filler},
            {"unit_id": 2, "path": f"{line}/sensors/rack", "tags": sensors}]})
        spc.append({"tag": f"{line}/filler/filler/fill_weight", "subgroup": 5,
                    "baseline_subgroups": 25, "spec": {"lsl": 495, "usl": 505}})
        oee.append({"name": line, "state": f"{line}/filler/filler/state",
                    "good_count": f"{line}/filler/filler/good_count",
                    "reject_count": f"{line}/filler/filler/reject_count", "ideal_cycle": 0.5})
        meters.append({"name": line, "kwh": f"{line}/filler/filler/kwh",
                       "production": [f"{line}/filler/filler/good_count"],
                       "state": f"{line}/filler/filler/state", "peak_limit_kw": 80})
        alarms += [{"id": f"l{i}-s{k:02d}-hi", "tag": f"{line}/sensors/rack/s{k:02d}",
                    "type": "hi", "limit": 68, "deadband": 1, "on_delay": 2}
                   for k in range(20)]
        groups += [{"name": f"l{i}-robust", "method": "robust_z",
                    "tags": [f"{line}/sensors/rack/s{k:02d}" for k in range(20, 40)]},
                   {"name": f"l{i}-pca", "method": "pca",
                    "tags": [f"{line}/sensors/rack/s{k:02d}" for k in range(40, 45)]}]
        assets.append({"asset": f"{line}/sensors/rack", "anomaly": f"l{i}-pca",
                       "degradation": {"tag": "s50", "threshold": 90, "healthy": 50,
                                       "window": "4h", "resolution": "1m", "horizon": "24h",
                                       "running": f"{line}/filler/filler/state"},
                       "signals": [{"tag": "s51", "healthy": 50, "limit": 80}]})
    data: dict[str, Any] = {"enterprise": "acme", "site": "bench", "devices": devices,
                            "alarms": alarms, "timezone": "Europe/Paris",
                            "shifts": [{"name": "a", "start": "06:00"},
                                       {"name": "b", "start": "14:00"},
                                       {"name": "c", "start": "22:00"}],
                            "spc": {"charts": spc}, "oee": {"lines": oee},
                            "energy": {"meters": meters}}
    if anomaly:
        data["analytics"] = {"anomaly": groups}
        data["health"] = {"assets": assets}
    return SiteConfig.model_validate(data)


class Plant:
    """One 1-second batch of every tag per call, vectorised."""

    def __init__(self, registry: TagRegistry, site: SiteConfig, lines: int) -> None:
        self.lines = lines
        self.ids = np.array([registry.id_of(t.path) for t in site.tags()], np.int32)
        self.rng = np.random.default_rng(7)
        self.good = np.zeros(lines)
        self.reject = np.zeros(lines)
        self.kwh = np.full(lines, 1000.0)
        self.quality = np.zeros(len(self.ids), np.uint32)

    def batch(self, second: int) -> SampleBatch:
        n = self.lines
        running = ((second + 37 * np.arange(n)) % 1800) >= 60  # a 1-min stop per 30 min
        self.good += 2 * running
        self.reject += running * (self.rng.random(n) < 0.01)
        self.kwh += (20 + 5 * running + self.rng.normal(0, 1, n)) / 3600
        values = np.empty((n, PER_LINE))
        values[:, 0] = self.rng.normal(500, 1.8, n)
        values[:, 1] = np.where(running, 1.0, 2.0)
        values[:, 2], values[:, 3], values[:, 4] = self.good, self.reject, self.kwh
        values[:, 5:] = self.rng.normal(50, 5, (n, SENSORS))
        ts = np.full(len(self.ids), T0 + second * S, np.int64)
        return SampleBatch(self.ids, ts, values.ravel(), self.quality, ts)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _draining(update: Callable[[SampleBatch], list[Event]], take: Callable[[], object]
              ) -> Callable[[SampleBatch], list[Event]]:
    """`update`, then `take` the derived samples, as the gateway publishes them to the
    historian (left in place they would grow without bound)."""
    def step(batch: SampleBatch) -> list[Event]:
        events = update(batch)
        take()
        return events
    return step


def build(lines: int) -> tuple[SiteConfig, TagRegistry, dict[str, Callable[[SampleBatch],
                                                                          list[Event]]]]:
    site = site_of(lines, anomaly=True)
    registry = TagRegistry()
    for tag in namespace_tags(site):
        registry.intern(tag)
    efficiency = EfficiencyAnalytics(site, registry)
    anomaly = AnomalyEngine(site, registry)
    health = HealthEngine(site, registry)
    return site, registry, {
        "spc+oee+energy": _draining(efficiency.update, efficiency.take_derived),
        "alarms": AlarmEngine(site, registry).update,
        "anomaly": _draining(anomaly.update, anomaly.derived.take),
        "health": _draining(health.update, health.derived.take),
    }


def run_isthmus(lines: int, seconds: int) -> tuple[float, float, dict[str, float], list[str]]:
    site, registry, components = build(lines)
    plant = Plant(registry, site, lines)
    spent = dict.fromkeys(components, 0.0)
    memory, events = [], 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for second in range(seconds):
        batch = plant.batch(second)
        for name, update in components.items():
            start = time.process_time()  # CPU time: the machine may be shared
            events += len(update(batch))
            spent[name] += time.process_time() - start
        if second % 600 == 0 or second == seconds - 1:
            memory.append(f"{second / 60:6.0f} min  RSS {rss_mb():7.1f} MB")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    memory.append(f"events raised: {events:,}")
    return cpu, wall, spent, memory


def run_pandas(lines: int, seconds: int, window: int) -> float:
    """Seconds of CPU for `seconds` batches, each recomputing over the last `window`."""
    import pandas as pd

    site = site_of(lines, anomaly=False)
    registry = TagRegistry()
    for tag in site.tags():
        registry.intern(tag)
    plant = Plant(registry, site, lines)
    frames: deque[pd.DataFrame] = deque(maxlen=window)
    for second in range(window):  # a full window before measuring
        b = plant.batch(second)
        frames.append(pd.DataFrame({"tag": b.tag_id, "ts": b.ts, "value": b.value}))
    flagged = 0
    cpu0 = time.process_time()
    for second in range(window, window + seconds):
        b = plant.batch(second)
        frames.append(pd.DataFrame({"tag": b.tag_id, "ts": b.ts, "value": b.value}))
        frame = pd.concat(frames, ignore_index=True)
        stats = frame.groupby("tag")["value"].agg(["mean", "std", "min", "max"])
        latest = pd.Series(b.value, index=b.tag_id)
        z = (latest - stats["mean"].reindex(latest.index)) / stats["std"].reindex(latest.index)
        flagged += int((z.abs() > 3).sum())
    return time.process_time() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--baseline-seconds", type=int, default=120)
    parser.add_argument("--window", type=int, default=300)
    args = parser.parse_args()
    seconds = round(args.hours * 3600)
    tags = args.lines * PER_LINE
    print(f"{tags:,} tags at 1 Hz for {seconds:,} simulated s ({tags * seconds:,} samples)")
    cpu, wall, spent, memory = run_isthmus(args.lines, seconds)
    samples = tags * seconds
    analytics_s = sum(spent.values())
    print("\n".join(memory))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (ru_maxrss): {peak:.1f} MB")
    print(f"\n{'component':<16}{'CPU s':>10}{'samples/CPU-s':>16}")
    for name, s in spent.items():
        print(f"{name:<16}{s:>10.2f}{samples / s:>16,.0f}")
    print(f"{'all analytics':<16}{analytics_s:>10.2f}{samples / analytics_s:>16,.0f}")
    ours = spent["spc+oee+energy"] + spent["alarms"]
    print(f"{'all but anomaly':<16}{ours:>10.2f}{samples / ours:>16,.0f}")
    print(f"(whole loop incl. data generation: {cpu:.1f} CPU s, {wall:.1f} s wall)")
    base_cpu = run_pandas(args.lines, args.baseline_seconds, args.window)
    base_rate = tags * args.baseline_seconds / base_cpu
    print(f"\npandas sliding-window recomputation ({args.window} s window, "
          f"{args.baseline_seconds} s measured): {base_rate:,.0f} samples/CPU-s")
    print(f"ratio isthmus / pandas: {samples / analytics_s / base_rate:,.1f}x")


if __name__ == "__main__":
    main()
