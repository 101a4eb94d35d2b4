"""HTTPS for ``noom serve``: a given certificate, or a self-signed one made for this machine (LAN testing).

Browsers open the camera only on a secure origin; a phone on the same network can use the self-signed
certificate after accepting the warning (compare the SHA-256 fingerprint that ``noom serve`` prints).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import tempfile
from pathlib import Path

import ifaddr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def machine_names() -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """Every host name and interface address this machine answers to."""
    names = {"localhost", socket.gethostname(), socket.getfqdn()}
    addresses: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = {ipaddress.ip_address("127.0.0.1")}
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if not address.is_link_local:
                addresses.add(address)
    return sorted(n for n in names if n), sorted(addresses, key=lambda a: (a.version, int(a)))


def self_signed(days: int = 30) -> tuple[bytes, bytes]:
    """A fresh P-256 key and a certificate naming this machine; returns (cert PEM, key PEM)."""
    names, addresses = machine_names()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "noom")])
    now = datetime.datetime.now(datetime.UTC)
    alternative: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alternative += [x509.IPAddress(a) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def fingerprint(cert_pem: bytes) -> str:
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def write_self_signed(directory: Path) -> tuple[Path, Path, str]:
    """Make a self-signed certificate into ``directory``; returns (cert file, key file, fingerprint)."""
    cert_pem, key_pem = self_signed()
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert_pem)
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    return cert_path, key_path, fingerprint(cert_pem)


def server_context(
    cert_file: str | None, key_file: str | None, self_signed_cert: bool
) -> tuple[ssl.SSLContext | None, str | None]:
    """The TLS context for the configured certificate (None for plain HTTP), and the fingerprint of a
    self-signed one."""
    if not (cert_file or self_signed_cert):
        return None, None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
        return context, None
    # load_cert_chain reads files only; the private key lives on disk just long enough to be loaded.
    with tempfile.TemporaryDirectory(prefix="noom-tls-") as tmp:
        cert_path, key_path, print_ = write_self_signed(Path(tmp))
        context.load_cert_chain(cert_path, key_path)
    return context, print_
