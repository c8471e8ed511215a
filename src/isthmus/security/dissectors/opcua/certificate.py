"""What an OPC UA application certificate (DER) says about its owner: subject common
name, organisation and the application URI from the subject alternative name."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["certificate_identity"]


def certificate_identity(der: bytes) -> dict[str, str]:
    """Identity fields from a DER certificate; {"certificate_error": …} when it does not
    parse (the monitor reports, it does not validate)."""
    try:
        cert = x509.load_der_x509_certificate(der)
        out: dict[str, str] = {}
        for oid, key in ((NameOID.COMMON_NAME, "product"),
                         (NameOID.ORGANIZATION_NAME, "vendor")):
            found = cert.subject.get_attributes_for_oid(oid)
            if found:
                out[key] = str(found[0].value)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
            if uris:
                out["application_uri"] = uris[0]
        except x509.ExtensionNotFound:
            pass
        out["serial"] = format(cert.serial_number, "x")
        return out
    except ValueError as exc:
        return {"certificate_error": str(exc)[:120]}
