"""Recognising a framed binary protocol from a connection's first bytes, the same way for
every protocol: each direction is judged by its first message, or, when the connection
was picked up mid-stream, by whether any plausible message can be found in it."""

from __future__ import annotations

from collections.abc import Callable

from isthmus.security.dissectors.base import Match

__all__ = ["match_directions"]


def match_directions(to_server: bytes, to_client: bytes, *, midstream: bool,
                     find_sync: Callable[[bytes, int], tuple[int | None, int]],
                     sync_window: int, first: Callable[[bytes], Match]) -> Match:
    """YES as soon as one direction is the protocol; NO as soon as a direction's first
    message is not; MAYBE while a direction is too short to say (mid-stream: shorter than
    `sync_window` bytes without a message found by `find_sync`)."""
    undecided = not (to_server or to_client)
    for buf in (to_server, to_client):
        if not buf:
            continue
        if midstream:
            found, _keep = find_sync(buf, 0)
            if found is not None:
                return Match.YES
            undecided = undecided or len(buf) < sync_window
            continue
        verdict = first(buf)
        if verdict is not Match.MAYBE:
            return verdict
        undecided = True
    return Match.MAYBE if undecided else Match.NO
