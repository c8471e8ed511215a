"""OEE per ISO 22400-2: availability, effectiveness, quality ratio, MTBF, MTTR and downtime
by reason, per line, shift and day."""

from isthmus.analytics.oee.kpis import KPI_SIGNALS, OeeTotals
from isthmus.analytics.oee.line import ClosedPeriod, LineTracker, counter_increase
from isthmus.analytics.oee.monitor import OeeMonitor, oee_derived_tags, oee_tag_path

__all__ = [
    "KPI_SIGNALS",
    "ClosedPeriod",
    "LineTracker",
    "OeeMonitor",
    "OeeTotals",
    "counter_increase",
    "oee_derived_tags",
    "oee_tag_path",
]
