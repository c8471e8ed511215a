"""The platform's security monitor (`isthmus.security.platform.PlatformMonitor`) without a
gateway: its own event loop in a thread, its security events written straight to the
historian at `historian_url` and its inventory to the asset table. The gateway runs the
same component when the site file has a `security_monitor:` section; this glue serves a
caller that has no gateway (tests, scripts)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from isthmus.config import SiteConfig
from isthmus.config.security import SecurityMonitorConfig
from isthmus.historian import SequencedHistorian, open_historian
from isthmus.historian.assets import open_asset_store
from isthmus.model import Asset, Event
from isthmus.security.platform import MonitorCounters, PlatformMonitor

__all__ = ["DemoWatch"]


@dataclass
class DemoWatch:
    site: SiteConfig
    historian_url: str
    iface: str = "lo"
    settle_s: float = 3.0
    on_event: Callable[[Event], None] | None = None
    data_dir: Path = Path("isthmus-data")      # used only to save a learned baseline
    stored: int = 0
    _monitor: PlatformMonitor | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> None:
        """Check the capture now (a permission problem is raised at once), then run."""
        config = SecurityMonitorConfig(iface=self.iface, settle=self.settle_s)
        history = open_historian(self.historian_url)
        self._monitor = PlatformMonitor(self.site, config, data_dir=self.data_dir,
                                        publish=lambda e: self._store(history, e),
                                        history=history, store_assets=self._store_assets)
        try:
            self._monitor.probe()
        except BaseException:
            history.close()
            raise
        self._thread = threading.Thread(target=self._run, args=(history,),
                                        name="demo-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> MonitorCounters | None:
        """Stop capturing; every pending event is stored before this returns."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return None if self._monitor is None else self._monitor.counters

    @property
    def alerts(self) -> int:
        return 0 if self._monitor is None else self._monitor.counters.alerts

    @property
    def assets(self) -> int:
        return 0 if self._monitor is None else self._monitor.counters.assets

    def _run(self, history: SequencedHistorian) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:            # thread boundary: re-raised by stop()
            self._error = exc
        finally:
            history.close()

    async def _main(self) -> None:
        assert self._monitor is not None
        task = asyncio.create_task(self._monitor.run())
        while not self._stop.is_set() and not task.done():
            await asyncio.sleep(0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _store(self, history: SequencedHistorian, event: Event) -> None:
        await asyncio.to_thread(history.write_events, [event])
        self.stored += 1
        if self.on_event is not None:
            self.on_event(event)

    def _store_assets(self, assets: Sequence[Asset]) -> None:
        with open_asset_store(self.historian_url) as store:
            store.upsert(assets)
