"""Analytics over the sample stream: streaming components that see each batch once, in order,
and emit events (alarms today; anomaly, health, OEE, SPC and energy to come)."""

from isthmus.analytics.streaming import StreamingDetector

__all__ = ["StreamingDetector"]
