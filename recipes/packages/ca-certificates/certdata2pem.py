#!/usr/bin/python3
"""Writes a PEM bundle of the CAs that Mozilla's certdata.txt trusts to issue TLS server certificates.

usage: certdata2pem.py CERTDATA OUT

echo-build's own converter (written for the ca-certificates recipe). A certificate is included when its
CKO_NSS_TRUST object, matched by issuer and serial number, has CKA_TRUST_SERVER_AUTH set to
CKT_NSS_TRUSTED_DELEGATOR; the trust object's SHA-1 must match the certificate's DER. Roots with a
CKA_NSS_SERVER_DISTRUST_AFTER date stay in (they remain valid for certificates issued before it), as in
Debian's and Fedora's bundles. Output order is the order of certdata.txt, so the bundle is reproducible.
"""
import base64
import hashlib
import os
import re
import sys


class CertdataError(Exception):
    pass


def parse_objects(path):
    """Returns the objects after BEGINDATA as dicts: attribute name -> (type, value)."""
    objects, current = [], None
    with open(path, encoding="utf-8") as f:
        lines = iter(enumerate(f, 1))
        for _, line in lines:
            if line.startswith("BEGINDATA"):
                break
        else:
            raise CertdataError(f"{path}: no BEGINDATA line")
        for lineno, line in lines:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 2:
                raise CertdataError(f"{path}:{lineno}: cannot parse '{line}'")
            name, kind = parts[0], parts[1]
            if kind == "MULTILINE_OCTAL":
                data = bytearray()
                for lineno2, l2 in lines:
                    l2 = l2.strip()
                    if l2 == "END":
                        break
                    for octal in re.findall(r"\\([0-7]{3})", l2):
                        data.append(int(octal, 8))
                else:
                    raise CertdataError(f"{path}:{lineno}: MULTILINE_OCTAL without END")
                value = bytes(data)
            else:
                value = parts[2] if len(parts) > 2 else ""
                if kind == "UTF8":
                    value = value.strip().strip('"')
            if name == "CKA_CLASS":
                current = {}
                objects.append(current)
            if current is None:
                raise CertdataError(f"{path}:{lineno}: attribute before the first CKA_CLASS")
            current[name] = (kind, value)
    return objects


def server_auth_roots(objects):
    trusted = {}
    for o in objects:
        if o["CKA_CLASS"][1] != "CKO_NSS_TRUST":
            continue
        key = (o["CKA_ISSUER"][1], o["CKA_SERIAL_NUMBER"][1])
        if o.get("CKA_TRUST_SERVER_AUTH", ("", ""))[1] == "CKT_NSS_TRUSTED_DELEGATOR":
            trusted[key] = o["CKA_CERT_SHA1_HASH"][1]
    roots = []
    for o in objects:
        if o["CKA_CLASS"][1] != "CKO_CERTIFICATE":
            continue
        key = (o["CKA_ISSUER"][1], o["CKA_SERIAL_NUMBER"][1])
        if key not in trusted:
            continue
        der, label = o["CKA_VALUE"][1], o["CKA_LABEL"][1]
        if hashlib.sha1(der).digest() != trusted[key]:
            raise CertdataError(f"certificate '{label}': SHA-1 of CKA_VALUE does not match its trust object")
        roots.append((label, der))
    return roots


def pem(label, der):
    b64 = base64.b64encode(der).decode("ascii")
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return f"# {label}\n-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        roots = server_auth_roots(parse_objects(argv[1]))
    except (CertdataError, KeyError, OSError) as e:
        print(f"certdata2pem: {e}", file=sys.stderr)
        return 1
    if not roots:
        print(f"certdata2pem: {argv[1]}: no server-auth roots found", file=sys.stderr)
        return 1
    tmp = argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        out.writelines(pem(label, der) for label, der in roots)
    os.replace(tmp, argv[2])
    print(f"certdata2pem: {len(roots)} certificates")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
