#!/usr/bin/env python3
"""Synthetic AOSP target-files package for tests and the demo.

  mktf.py OUTDIR [--apks N] [--apexes N] [--apex-with-apk] [--erofs] [--capex]
                [--extra MEMBER]...

--apex-with-apk: the first APEX's ext4 payload holds app/Inner/Inner.apk (signed with
the platform development key, listed in apkcerts.txt by file name, as AOSP lists
APKs inside APEXes); --erofs: the second APEX's payload is EROFS and holds
app/Inner2/Inner2.apk; --capex: the last APEX is compressed (.capex: original_apex and
meta files, as apex_compression_tool makes it).

Writes OUTDIR/dev/ (development keys and certificates under AOSP's
build/make/target/product/security, as the AOSP tree has them) and
OUTDIR/target_files.zip with: APKs signed by the development keys (platform,
testkey; one .apk.gz), one PRESIGNED APK, APEXes whose payload is an ext4 image
with a dm-verity hash tree and vbmeta (tests/release/mkavb.py), build.prop with
test-keys, mac_permissions.xml holding the development certificates, otacerts.zip,
and META/apkcerts.txt, apexkeys.txt, misc_info.txt.
"""
import argparse
import gzip
import os
import struct
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEC = "build/make/target/product/security"


def run(*cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def manifest(min_sdk):
    """A binary AndroidManifest.xml: <manifest><uses-sdk android:minSdkVersion=N/>."""
    strings = [b"minSdkVersion", b"manifest", b"uses-sdk", b"package",
               b"http://schemas.android.com/apk/res/android"]
    data = b""
    offs = []
    for s in strings:
        offs.append(len(data))
        data += bytes([len(s), len(s)]) + s + b"\0"
    pool = struct.pack("<IIIII", len(strings), 0, 0x100, 28 + 4 * len(strings), 0)
    pool += b"".join(struct.pack("<I", o) for o in offs) + data
    pool += b"\0" * (-len(pool) % 4)
    pool = struct.pack("<HHI", 1, 28, 8 + len(pool)) + pool
    rmap = struct.pack("<HHII", 0x180, 8, 12, 0x0101020c)

    def element(kind, name, sdk=None):
        body = struct.pack("<IIII", 1, 0xffffffff, 0xffffffff, name)
        if kind == 0x102:
            n = 1 if sdk else 0
            body += struct.pack("<HHH", 20, 20, n) + b"\0" * 6
            if sdk:
                body += struct.pack("<IIIHBBI", 4, 0, 0xffffffff, 8, 0, 0x10, sdk)
        return struct.pack("<HHI", kind, 16, 8 + len(body)) + body

    body = pool + rmap + element(0x102, 1) + element(0x102, 2, min_sdk) + element(0x103, 2) + \
        element(0x103, 1)
    return struct.pack("<HHI", 3, 8, 8 + len(body)) + body


def key(d, name, bits=2048):
    base = os.path.join(d, name)
    os.makedirs(os.path.dirname(base), exist_ok=True)
    run("openssl", "genrsa", "-out", base + ".pem", str(bits), stderr=subprocess.DEVNULL)
    run("openssl", "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", base + ".pem",
        "-out", base + ".pk8")
    run("openssl", "req", "-new", "-x509", "-key", base + ".pem", "-out", base + ".x509.pem",
        "-days", "3650", "-subj", "/CN=" + os.path.basename(name))
    return base


def apk(path, dev, sdk, payload=b""):
    tmp = path + ".unsigned"
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr("AndroidManifest.xml", manifest(sdk), zipfile.ZIP_DEFLATED)
        z.writestr("classes.dex", b"dex\n035\0" + os.urandom(2000) + payload,
                   zipfile.ZIP_DEFLATED)
    run("apksigner", "sign", "--key", dev + ".pk8", "--cert", dev + ".x509.pem",
        "--min-sdk-version", str(sdk), "--in", tmp, "--out", path)
    os.unlink(tmp)
    idsig = path + ".idsig"
    if os.path.exists(idsig):
        os.unlink(idsig)


def der_hex(cert):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return out.hex()


def apex(work, name, dev_payload, dev_container, inner=None, erofs=False, capex=False):
    """inner: (apk name, development key) of an APK inside the payload."""
    d = os.path.join(work, name + ".root")
    os.makedirs(os.path.join(d, "etc"), exist_ok=True)
    open(os.path.join(d, "apex_manifest.pb"), "wb").write(b"\x0a" + bytes([len(name)]) +
                                                          name.encode())
    open(os.path.join(d, "etc", "data.bin"), "wb").write(os.urandom(30000))
    if inner:
        apk_name, key_base = inner
        stem = apk_name[:-4]
        os.makedirs(os.path.join(d, "app", stem), exist_ok=True)
        apk(os.path.join(d, "app", stem, apk_name), key_base, 29)
    img = os.path.join(work, name + ".fs")
    if erofs:
        run("mkfs.erofs", "--quiet", "-T1230768000", "-U00000000-0000-0000-0000-000000000002",
            "--all-root", img, d)
    else:
        run("mkfs.ext4", "-q", "-F", "-b", "4096", "-O", "^has_journal", "-E",
            "root_owner=0:0,hash_seed=00000000-0000-0000-0000-000000000000", "-U",
            "00000000-0000-0000-0000-000000000001", "-d", d, img, "256k")
    payload = os.path.join(work, name + ".payload")
    run(sys.executable, os.path.join(HERE, "mkavb.py"), "image", dev_payload + ".pem",
        "SHA256_RSA2048", "aabbccdd" * 8, img, payload, "apex.key=" + name)
    pub = os.path.join(work, name + ".avbpubkey")
    run(sys.executable, os.path.join(HERE, "mkavb.py"), "pubkey", dev_payload + ".pem", pub)
    unsigned = os.path.join(work, name + ".apex.unsigned")
    with zipfile.ZipFile(unsigned, "w") as z:
        z.writestr("AndroidManifest.xml", manifest(29), zipfile.ZIP_DEFLATED)
        z.writestr("apex_manifest.pb", open(os.path.join(d, "apex_manifest.pb"), "rb").read())
        z.write(payload, "apex_payload.img", zipfile.ZIP_STORED)
        z.write(pub, "apex_pubkey", zipfile.ZIP_STORED)
    out = os.path.join(work, name + ".apex")
    sign_container(unsigned, out, dev_container)
    if capex:
        with zipfile.ZipFile(out) as a, zipfile.ZipFile(unsigned, "w") as z:
            z.write(out, "original_apex", zipfile.ZIP_DEFLATED)
            for m in ("apex_manifest.pb", "apex_pubkey", "AndroidManifest.xml"):
                z.writestr(m, a.read(m), zipfile.ZIP_DEFLATED)
        out = os.path.join(work, name + ".capex")
        sign_container(unsigned, out, dev_container)
    return out


def sign_container(unsigned, out, dev_container):
    run("apksigner", "sign", "--key", dev_container + ".pk8", "--cert",
        dev_container + ".x509.pem", "--min-sdk-version", "29", "--in", unsigned, "--out", out)
    for p in (out + ".idsig", unsigned):
        if os.path.exists(p):
            os.unlink(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--apks", type=int, default=4)
    ap.add_argument("--apexes", type=int, default=1)
    ap.add_argument("--apex-with-apk", action="store_true")
    ap.add_argument("--erofs", action="store_true")
    ap.add_argument("--capex", action="store_true")
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()
    dev = os.path.join(a.out, "dev")
    work = os.path.join(a.out, "work")
    os.makedirs(work, exist_ok=True)
    testkey = key(dev, SEC + "/testkey")
    platform = key(dev, SEC + "/platform")
    vendor = key(dev, "vendor/acme/presigned")
    members = {}
    apkcerts = []
    for i in range(a.apks):
        dk, dn = (platform, "platform") if i % 2 == 0 else (testkey, "testkey")
        name = "App%d.apk" % i
        part = "SYSTEM" if i % 3 else "PRODUCT"
        path = os.path.join(work, name)
        apk(path, dk, 24 + (i % 2) * 4)
        data = open(path, "rb").read()
        if i == 1:
            members["%s/app/App%d/%s.gz" % (part, i, name)] = gzip.compress(data, mtime=0)
            apkcerts.append('name="%s" certificate="%s/%s.x509.pem" private_key="%s/%s.pk8" '
                            'compressed="gz" partition="%s"' % (name, SEC, dn, SEC, dn, part.lower()))
        else:
            members["%s/app/App%d/%s" % (part, i, name)] = data
            apkcerts.append('name="%s" certificate="%s/%s.x509.pem" private_key="%s/%s.pk8" '
                            'partition="%s"' % (name, SEC, dn, SEC, dn, part.lower()))
    path = os.path.join(work, "Vendor.apk")
    apk(path, vendor, 28)
    members["VENDOR/app/Vendor/Vendor.apk"] = open(path, "rb").read()
    apkcerts.append('name="Vendor.apk" certificate="PRESIGNED" private_key="" partition="vendor"')
    apexkeys = []
    for i in range(a.apexes):
        name = "com.android.synth%d" % i
        dp = key(dev, "packages/modules/synth/%s" % name)
        inner = None
        if (i == 0 and a.apex_with_apk) or (i == 1 and a.erofs):
            apk_name = "Inner.apk" if i == 0 else "Inner2.apk"
            inner = (apk_name, platform)
            apkcerts.append('name="%s" certificate="%s/platform.x509.pem" private_key="%s/'
                            'platform.pk8" partition="system"' % (apk_name, SEC, SEC))
        capex = a.capex and i == a.apexes - 1
        path = apex(work, name, dp, dp, inner, erofs=a.erofs and i == 1, capex=capex)
        members["SYSTEM/apex/%s.%s" % (name, "capex" if capex else "apex")] = \
            open(path, "rb").read()
        apexkeys.append('name="%s.apex" public_key="%s.avbpubkey" private_key="%s.pem" '
                        'container_certificate="%s.x509.pem" container_private_key="%s.pk8" '
                        'partition="system"' % (name, dp[len(dev) + 1:], dp[len(dev) + 1:],
                                                dp[len(dev) + 1:], dp[len(dev) + 1:]))
    members["SYSTEM/build.prop"] = (
        "# begin build properties\nro.build.version.sdk=34\nro.build.tags=test-keys\n"
        "ro.build.fingerprint=acme/synth/synth:14/UP1A/1:user/test-keys\n"
        "ro.build.description=synth-user 14 UP1A 1 test-keys\nro.build.display.id=UP1A test-keys\n"
        "ro.system.build.fingerprint=acme/synth/synth:14/UP1A/1:user/release-keys,test-keys\n").encode()
    mac = ('<?xml version="1.0" encoding="utf-8"?>\n<policy>\n'
           '  <signer signature="%s"><seinfo value="platform"/></signer>\n'
           '  <signer signature="%s"><seinfo value="media"/></signer>\n</policy>\n'
           % (der_hex(platform + ".x509.pem"), der_hex(testkey + ".x509.pem")))
    members["SYSTEM/etc/selinux/plat_mac_permissions.xml"] = mac.encode()
    ota = os.path.join(work, "otacerts.zip")
    with zipfile.ZipFile(ota, "w") as z:
        z.write(testkey + ".x509.pem", "testkey.x509.pem")
    members["SYSTEM/etc/security/otacerts.zip"] = open(ota, "rb").read()
    members["IMAGES/system.img"] = b"\0" * 4096
    for e in a.extra:
        members[e] = b"extra\n"
    members["META/apkcerts.txt"] = ("\n".join(apkcerts) + "\n").encode()
    members["META/apexkeys.txt"] = ("\n".join(apexkeys) + "\n").encode()
    members["META/misc_info.txt"] = (
        "default_system_dev_certificate=%s/testkey\navb_enable=true\n"
        "avb_vbmeta_key_path=external/avb/test/data/testkey_rsa4096.pem\n"
        "avb_vbmeta_algorithm=SHA256_RSA4096\navb_vbmeta_args=--padding_size 4096\n"
        "avb_system_add_hashtree_footer_args=--prop com.android.build.system.fingerprint:"
        "acme/synth/synth:14/UP1A/1:user/test-keys\n" % SEC).encode()
    with zipfile.ZipFile(os.path.join(a.out, "target_files.zip"), "w") as z:
        for m in sorted(members):
            info = zipfile.ZipInfo(m, (2009, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if m.endswith((".apk", ".apex", ".capex", ".gz")) \
                else zipfile.ZIP_DEFLATED
            z.writestr(info, members[m])


if __name__ == "__main__":
    main()
