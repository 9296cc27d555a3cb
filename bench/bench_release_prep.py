#!/usr/bin/env python3
"""The per-artifact way of signing a synthetic target-files package (bench_release).

  bench_release_prep.py TARGET_FILES.zip DIR PKCS11_CFG KEY_BITS > per_artifact.sh

Unpacks the package into DIR (untimed: that favours the per-artifact way) and prints
a shell script that signs it as a build without signet's release command would:

- every APK (except PRESIGNED ones): one `apksigner sign` run through signet's PKCS#11
  module (SunPKCS11 with PKCS11_CFG, the PIN in $PIN), the key chosen by apkcerts.txt
  as `release plan` maps it (platform -> platform, testkey -> releasekey);
- every APEX: the avbtool signing helper (signet-avb-sign) once on the payload's
  PKCS#1 v1.5 block, as avbtool add_hashtree_footer --signing_helper runs it (the
  block is computed here from the payload's vbmeta: avbtool's own Python work, the
  hash tree, is not counted), then one `apksigner sign` of the container through the
  module with the APEX's container key.
"""
import hashlib
import os
import re
import shlex
import struct
import sys
import zipfile

SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
APKSIGNER = ("apksigner -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
             "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN --provider-class "
             "sun.security.pkcs11.SunPKCS11 --provider-arg %s --ks-key-alias %s --out %s %s")


def vbmeta_block(payload, bits):
    """The PKCS#1 v1.5 block avbtool hands its signing helper for this payload."""
    footer = payload[-64:]
    if footer[:4] != b"AVBf":
        sys.exit("payload without an AVB footer")
    vb_off, vb_size = struct.unpack(">QQ", footer[20:36])
    vb = payload[vb_off:vb_off + vb_size]
    auth, aux = struct.unpack(">QQ", vb[12:28])
    digest = hashlib.sha256(vb[:256] + vb[256 + auth:256 + auth + aux]).digest()
    t = SHA256_PREFIX + digest
    return b"\x00\x01" + b"\xff" * (bits // 8 - len(t) - 3) + b"\x00" + t


def main():
    tf, out, cfg, bits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.makedirs(out, exist_ok=True)
    z = zipfile.ZipFile(tf)
    certs = {}
    for line in z.read("META/apkcerts.txt").decode().splitlines():
        m = re.match(r'name="([^"]+)" certificate="([^"]*)"', line)
        certs[m.group(1)] = os.path.basename(m.group(2)).split(".")[0]
    lines = ["set -e"]
    n = 0
    for name in z.namelist():
        base = os.path.basename(name)
        if name.endswith((".apk", ".apk.gz")):
            key = certs[base[:-3] if base.endswith(".gz") else base]
            if key == "PRESIGNED":
                continue
            key = "releasekey" if key == "testkey" else key
            data = z.read(name)
            if name.endswith(".gz"):
                import gzip
                data = gzip.decompress(data)
            src = os.path.join(out, "in%d.apk" % n)
            open(src, "wb").write(data)
            lines.append(APKSIGNER % (cfg, key, os.path.join(out, "out%d.apk" % n), src))
            n += 1
        elif name.endswith(".apex"):
            apex = base[:-5]
            src = os.path.join(out, "in%d.apex" % n)
            data = z.read(name)
            open(src, "wb").write(data)
            with zipfile.ZipFile(src) as a:
                block = vbmeta_block(a.read("apex_payload.img"), bits)
            blk = os.path.join(out, "in%d.block" % n)
            open(blk, "wb").write(block)
            lines.append("signet-avb-sign SHA256_RSA%d %s < %s > %s.sig" % (
                bits, shlex.quote(apex + ".payload"), blk, blk))
            lines.append(APKSIGNER % (cfg, apex + ".container",
                                      os.path.join(out, "out%d.apex" % n), src))
            n += 1
    print("\n".join(lines))


if __name__ == "__main__":
    main()
