"""What identifies an OPC UA server's configuration: its BuildInfo and the certificate its
endpoints present, as the protocol-neutral `DeviceFingerprint` (named text fields)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509

from isthmus.connectors.fingerprint import DeviceFingerprint

__all__ = ["BUILD_INFO_FIELDS", "ServerIdentity", "certificate_fields", "fingerprint_of",
           "techniques_of"]

#: ServerStatus.BuildInfo (OPC UA Part 5, 12.4) members, in our snake_case names
BUILD_INFO_FIELDS = ("product_uri", "manufacturer_name", "product_name", "software_version",
                     "build_number", "build_date")
_SOFTWARE = frozenset({"software_version", "build_number", "build_date"})
#: MITRE ATT&CK for ICS: Module Firmware; Adversary-in-the-Middle (a server presenting
#: another certificate may be another server)
_FIRMWARE, _IN_THE_MIDDLE = "T0839", "T0830"


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """One reading: BuildInfo as text (build_date in ISO 8601) and the DER certificates
    of the server's endpoints, in the order GetEndpoints returned them."""

    build_info: Mapping[str, str]
    certificates: tuple[bytes, ...] = ()


def certificate_fields(der: bytes, prefix: str = "certificate") -> dict[str, str]:
    """SHA-256 thumbprint, subject (RFC 4514) and not-after (ISO 8601 UTC) of one DER
    certificate; a certificate that does not parse keeps its thumbprint."""
    fields = {f"{prefix}_sha256": hashlib.sha256(der).hexdigest()}
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        fields[f"{prefix}_subject"] = f"(unparseable: {exc})"
        return fields
    fields[f"{prefix}_subject"] = cert.subject.rfc4514_string()
    fields[f"{prefix}_not_after"] = cert.not_valid_after_utc.isoformat()
    return fields


def fingerprint_of(identity: ServerIdentity) -> DeviceFingerprint:
    """BuildInfo fields plus, per distinct certificate (sorted by thumbprint), its fields
    prefixed `certificate`, `certificate_2`, …; no certificate, no certificate fields."""
    objects = {name: identity.build_info.get(name, "") for name in BUILD_INFO_FIELDS}
    distinct = sorted({der for der in identity.certificates if der},
                      key=lambda der: hashlib.sha256(der).digest())
    for i, der in enumerate(distinct, start=1):
        objects.update(certificate_fields(der, "certificate" if i == 1 else f"certificate_{i}"))
    return DeviceFingerprint(objects)


def techniques_of(changed: Mapping[str, list[object]]) -> tuple[str, ...]:
    """The ATT&CK for ICS techniques a change of these fields suggests."""
    software = any(name in _SOFTWARE for name in changed)
    certificate = any(name.startswith("certificate") for name in changed)
    return tuple(t for t, hit in ((_FIRMWARE, software), (_IN_THE_MIDDLE, certificate)) if hit)
