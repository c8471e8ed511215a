"""A real asyncua server on a loopback port, with the BuildInfo and self-signed certificate
a test chooses: the peer the OPC UA configuration watch reads over a real socket."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from asyncua import Server, ua
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# asyncua warns that test certificates lack an application URI and host name
logging.getLogger("asyncua").setLevel(logging.ERROR)

BUILD_DATE = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Build:
    product_uri: str = "urn:acme:line-plc"
    manufacturer_name: str = "Acme Automation"
    product_name: str = "Acme PLC 9"
    software_version: str = "2.3.1"
    build_number: str = "481"
    build_date: dt.datetime = BUILD_DATE


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def self_signed(common_name: str, *, days: int = 365) -> bytes:
    """A DER self-signed certificate (EC P-256: fast to make) for `common_name`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def rsa_self_signed(common_name: str) -> tuple[bytes, bytes]:
    """A DER certificate and its PKCS#8 DER RSA key: what asyncua's secure policies need."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.DER),
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


async def set_build(server: Server, build: Build) -> None:
    await server.set_build_info(build.product_uri, build.manufacturer_name,
                                build.product_name, build.software_version,
                                build.build_number, build.build_date)


@asynccontextmanager
async def opcua_server(port: int, *, build: Build = Build(),
                       certificate: bytes | None = None,
                       secure_only_key: bytes | None = None) -> AsyncIterator[Server]:
    """A running server at opc.tcp://127.0.0.1:`port`/ with security mode None only, or,
    given the certificate's private key in `secure_only_key`, Basic256Sha256 only."""
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity] if secure_only_key is None
                               else [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    if secure_only_key is not None:
        await server.load_private_key(secure_only_key, format="der")
    server.disable_clock()  # its 1 s CurrentTime loop would make every stop take 1 s
    if certificate is not None:
        await server.load_certificate(certificate, format="der")
    await set_build(server, build)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
