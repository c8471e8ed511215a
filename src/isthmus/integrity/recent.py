"""The batch signatures a gateway made moments ago, for its own historian sink.

`BatchSigner.sign` puts every batch in ledger order, signs it and remembers the signed message
(the version-2 preamble and the leaf hash of the batch's canonical bytes) with the signature.
The gateway's own sink, holding the same `GatewayIdentity`, re-derives the message from the
samples it is about to store and recalls it: found with the same signature, the batch is
exactly what the signer ordered and signed (SHA-256 binds the message to every byte), so
neither a signature check nor an order check is needed again. A batch not found (signed in
another process, before a restart, or crowded out) is checked in full.
"""

from __future__ import annotations

import hmac

__all__ = ["RecentBatches"]


class RecentBatches:
    """Signed message → signature, for batches the gateway's `BatchSigner` put in ledger
    order and signed. Each operation is one dict call (atomic under the GIL), so the signer
    and the sink's thread need no lock; a sink that does not keep up empties it."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._signed: dict[bytes, bytes] = {}

    def __len__(self) -> int:
        return len(self._signed)

    def remember(self, message: bytes, signature: bytes) -> None:
        if len(self._signed) >= self.LIMIT:  # batches signed but never stored: start over
            self._signed.clear()
        self._signed[message] = signature

    def recall(self, message: bytes, signature: bytes | None) -> bool:
        """True if `signature` is the one remembered for `message` (which is forgotten
        either way: a batch is recalled once)."""
        remembered = self._signed.pop(message, None)
        return remembered is not None and signature is not None and \
            hmac.compare_digest(remembered, signature)
