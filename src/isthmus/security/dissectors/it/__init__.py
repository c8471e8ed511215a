"""Dissectors for the IT protocols seen at the IT/OT boundary, each recognised by its first
bytes on any port: TLS, HTTP/1.x, SSH, RDP, SMB, DNS (TCP and UDP) and VNC."""

from __future__ import annotations

from isthmus.security.dissectors.it.dns import DnsDatagramDissector, DnsDissector
from isthmus.security.dissectors.it.http import HttpDissector
from isthmus.security.dissectors.it.rdp import RdpDissector
from isthmus.security.dissectors.it.smb import SmbDissector
from isthmus.security.dissectors.it.ssh import SshDissector
from isthmus.security.dissectors.it.tls import TlsDissector
from isthmus.security.dissectors.it.vnc import VncDissector

__all__ = ["DnsDatagramDissector", "DnsDissector", "HttpDissector", "RdpDissector",
           "SmbDissector", "SshDissector", "TlsDissector", "VncDissector"]
