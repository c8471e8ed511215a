"""A host's role guessed from its behaviour on the wire, with the reasons kept so that an
analyst can see why: which protocols it serves, what it asks controllers to do, how many
controllers it polls. First matching rule wins, most specific first."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

__all__ = ["INDUSTRIAL", "IT", "MEDICAL", "Role", "infer_role"]

#: Protocols controllers and field devices serve (dissector names).
INDUSTRIAL: frozenset[str] = frozenset({
    "modbus", "dnp3", "s7comm", "s7comm_plus", "s7", "enip", "cip", "opcua", "bacnet",
    "iec104", "profinet", "ethercat", "fins", "melsec"})
#: Telecontrol protocols a remote terminal unit answers.
TELECONTROL: frozenset[str] = frozenset({"dnp3", "iec104"})
MEDICAL: frozenset[str] = frozenset({"hl7", "dicom"})
IT: frozenset[str] = frozenset({"dns", "http", "tls", "ssh", "rdp", "smb", "ftp", "telnet",
                                "ldap", "kerberos", "ntp", "snmp", "sql", "postgresql",
                                "mysql", "tds"})
#: Operations only engineering tools send.
ENGINEERING: frozenset[str] = frozenset({"program", "download", "upload", "cpu_stop",
                                         "cpu_start", "file"})
#: Reads (as a client) above which a host that also speaks IT protocols is a historian.
HISTORIAN_READS = 1000


@dataclass(frozen=True, slots=True)
class Role:
    name: str                     # plc, rtu, hmi, ews, historian, medical-device, it-host, …
    reasons: tuple[str, ...]


def _names(protocols: Set[str]) -> str:
    return ", ".join(sorted(protocols))


def infer_role(*, client_of: Set[str], server_of: Set[str], operations: Mapping[str, int],
               servers: int) -> Role:
    """The role of a host that speaks `client_of` as client and `server_of` as server,
    sent requests of `operations` (operation → count) to `servers` distinct servers."""
    spoken = client_of | server_of
    if medical := spoken & MEDICAL:
        return Role("medical-device", (f"speaks {_names(medical)}",))
    if telecontrol := server_of & TELECONTROL:
        return Role("rtu", (f"serves {_names(telecontrol)}",))
    if served := server_of & INDUSTRIAL:
        return Role("plc", (f"serves {_names(served)}",))
    engineering = {op: n for op, n in operations.items() if op in ENGINEERING and n}
    if engineering:
        ops = ", ".join(f"{op} ×{n}" for op, n in sorted(engineering.items()))
        return Role("ews", (f"sends engineering operations: {ops}",))
    industrial = client_of & INDUSTRIAL
    reads = operations.get("read", 0)
    it = spoken & IT
    if industrial and it and reads >= HISTORIAN_READS:
        return Role("historian", (f"{reads:,} reads over {_names(industrial)}",
                                  f"also speaks {_names(it)}"))
    if industrial and reads:
        reasons = [f"polls {servers} controller{'s' if servers != 1 else ''} with "
                   f"{reads:,} reads over {_names(industrial)}"]
        writes = operations.get("write", 0) + operations.get("read_write", 0)
        if writes:
            reasons.append(f"writes {writes:,} times")
        return Role("hmi", tuple(reasons))
    if industrial:
        ops = ", ".join(f"{op} ×{n}" for op, n in sorted(operations.items())) or "no requests"
        return Role("ot-client", (f"client of {_names(industrial)} without polling: {ops}",))
    if it and spoken <= IT:
        return Role("it-host", (f"only IT protocols: {_names(it)}",))
    return Role("unknown", ("no recognised application traffic",))
