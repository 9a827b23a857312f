"""schemad.connection.driver: asyncmy without importlib.metadata, reporting the version asyncmy would."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys


def test_driver_reports_installed_version_without_importlib_metadata() -> None:
    code = (
        "import sys; import schemad.connection.driver as d; "
        "print(sys.modules['asyncmy.version'].__VERSION__); "
        "print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [importlib.metadata.version("asyncmy"), "False"]


def test_driver_loads_cryptography_only_for_rsa_password_exchange() -> None:
    # Importing the driver leaves cryptography unloaded; asyncmy's RSA password exchange (MySQL 8
    # sha256/caching_sha2 without TLS) loads it on first use and still encrypts what the server decrypts.
    code = """
import sys
import schemad.connection.driver
print('cryptography' in sys.modules)
import asyncmy.auth as auth
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
fmt = serialization.PublicFormat.SubjectPublicKeyInfo
pem = key.public_key().public_bytes(serialization.Encoding.PEM, fmt)
salt = b'0123456789abcdefghij'
sealed = auth.sha2_rsa_encrypt(b'secret', salt, pem)
oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
print(key.decrypt(sealed, oaep) == auth._xor_password(b'secret\\0', salt))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
