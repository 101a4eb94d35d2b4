"""HTTPS: a given certificate, and --tls-self-signed naming this machine so that a client trusting that
certificate verifies the server by its address."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp

from noom.signaling.tls import machine_names, write_self_signed

from .services import NoomProcess


async def fetch_healthz(url: str, context: ssl.SSLContext) -> int:
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz", ssl=context) as response:
        return response.status


async def test_self_signed_certificate_names_this_machine(tmp_path: Path) -> None:
    noom = NoomProcess("--tls-self-signed", log=tmp_path / "noom.log", https=True)
    try:
        await noom.start()
        pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", noom.port))
        # Trust exactly this certificate, with hostname checking on: passes only if 127.0.0.1 is in its SANs.
        assert await fetch_healthz(noom.url, ssl.create_default_context(cadata=pem)) == 200
        assert "self-signed certificate SHA-256" in noom.log.read_text()
    finally:
        noom.stop()
    names, addresses = machine_names()
    assert "localhost" in names and any(a.is_loopback for a in addresses)


async def test_given_certificate_and_key(tmp_path: Path) -> None:
    cert, key, _ = write_self_signed(tmp_path)
    noom = NoomProcess("--tls-cert", str(cert), "--tls-key", str(key), log=tmp_path / "noom.log", https=True)
    try:
        await noom.start()
        assert await fetch_healthz(noom.url, ssl.create_default_context(cafile=str(cert))) == 200
        served = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", noom.port))
        assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(cert.read_text())
    finally:
        noom.stop()
