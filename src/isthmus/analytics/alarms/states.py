"""ISA-18.2 alarm states and the transitions between them.

The state shown to the operator is derived from five facts: is the condition active, is the
latest activation acknowledged, and is the alarm shelved, suppressed by design or out of
service. Deriving it (rather than storing it) keeps impossible combinations out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

__all__ = [
    "ALLOWED_TRANSITIONS",
    "AlarmActionError",
    "AlarmFlags",
    "AlarmState",
    "Transition",
]


class AlarmState(enum.StrEnum):
    NORMAL = "normal"
    UNACK_ACTIVE = "unack_active"
    ACK_ACTIVE = "ack_active"
    UNACK_RTN = "unack_rtn"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"

    @property
    def annunciated(self) -> bool:
        """Shown to the operator as needing attention (the list `isthmus alarms` prints)."""
        return self in (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE, AlarmState.UNACK_RTN)

    @property
    def hidden(self) -> bool:
        return self in (AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE)


class Transition(enum.StrEnum):
    """Why an alarm's state changed."""

    ACTIVATE = "activate"
    CLEAR = "clear"
    ACKNOWLEDGE = "acknowledge"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    SHELVE_EXPIRED = "shelve_expired"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    REMOVE_FROM_SERVICE = "remove_from_service"
    RETURN_TO_SERVICE = "return_to_service"
    RESTORE = "restore"


class AlarmActionError(ValueError):
    """An operator action that the alarm's state does not allow (or an unknown alarm)."""


_S = AlarmState
_VISIBLE = (_S.NORMAL, _S.UNACK_ACTIVE, _S.ACK_ACTIVE, _S.UNACK_RTN)
#: every state change the engine may make; anything else is a bug
ALLOWED_TRANSITIONS: frozenset[tuple[AlarmState, AlarmState]] = frozenset({
    (_S.NORMAL, _S.UNACK_ACTIVE),
    (_S.UNACK_ACTIVE, _S.ACK_ACTIVE),
    (_S.UNACK_ACTIVE, _S.UNACK_RTN),
    (_S.ACK_ACTIVE, _S.NORMAL),
    (_S.UNACK_RTN, _S.NORMAL),
    (_S.UNACK_RTN, _S.UNACK_ACTIVE),
    # hiding an alarm is possible from any visible state, and between hidden states;
    # coming back shows it as normal, or unacknowledged-active when its condition is active
    *((v, h) for v in _VISIBLE for h in (_S.SHELVED, _S.SUPPRESSED, _S.OUT_OF_SERVICE)),
    *((h, v) for h in (_S.SHELVED, _S.SUPPRESSED, _S.OUT_OF_SERVICE)
      for v in (_S.NORMAL, _S.UNACK_ACTIVE)),
    *((a, b) for a in (_S.SHELVED, _S.SUPPRESSED, _S.OUT_OF_SERVICE)
      for b in (_S.SHELVED, _S.SUPPRESSED, _S.OUT_OF_SERVICE) if a != b),
})


@dataclass(frozen=True, slots=True)
class AlarmFlags:
    """The facts an alarm's state is derived from. `acked` is only meaningful while the alarm
    is shown; hiding it and showing it again re-derives acknowledgement from the condition."""

    active: bool = False
    acked: bool = True
    shelved: bool = False
    suppressed: bool = False
    out_of_service: bool = False

    @property
    def hidden(self) -> bool:
        return self.shelved or self.suppressed or self.out_of_service

    @property
    def state(self) -> AlarmState:
        if self.out_of_service:
            return AlarmState.OUT_OF_SERVICE
        if self.shelved:
            return AlarmState.SHELVED
        if self.suppressed:
            return AlarmState.SUPPRESSED
        if self.active:
            return AlarmState.ACK_ACTIVE if self.acked else AlarmState.UNACK_ACTIVE
        return AlarmState.NORMAL if self.acked else AlarmState.UNACK_RTN

    def with_condition(self, active: bool) -> AlarmFlags:
        """The condition became active (annunciated unless hidden) or cleared."""
        if active == self.active:
            return self
        if active and not self.hidden:
            return replace(self, active=True, acked=False)
        return replace(self, active=active)

    def acknowledged(self) -> AlarmFlags:
        if self.state not in (AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN):
            raise AlarmActionError(f"nothing to acknowledge: the alarm is {self.state.value}")
        return replace(self, acked=True)

    def hidden_as(self, *, shelved: bool | None = None, suppressed: bool | None = None,
                  out_of_service: bool | None = None) -> AlarmFlags:
        """Set or clear a hiding flag; an alarm shown again is normal, or
        unacknowledged-active when its condition is active."""
        changed = replace(
            self,
            shelved=self.shelved if shelved is None else shelved,
            suppressed=self.suppressed if suppressed is None else suppressed,
            out_of_service=self.out_of_service if out_of_service is None else out_of_service,
        )
        if self.hidden and not changed.hidden:
            return replace(changed, acked=not changed.active)
        return changed
