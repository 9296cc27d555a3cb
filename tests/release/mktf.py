#!/usr/bin/env python3
"""Synthetic AOSP target-files package for tests and the demo.

  mktf.py OUTDIR [--apks N] [--apexes N] [--apex-with-apk] [--erofs] [--capex]
                [--extra MEMBER]... [--size-mb MB] [--partitions 5] [--device NAME]
                [--seed S [--device-apks K] [--keys-from DIR [--reuse]]] [--batch-sign]

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

A release-sized package (bench/bench_release.c): --size-mb spreads that many MB over
the APKs, each then a mix of a deflated classes.dex, a stored native library
(lib/arm64-v8a) and a stored raw resource; --partitions 5 puts the APKs round-robin
in SYSTEM, PRODUCT, SYSTEM_EXT, VENDOR and ODM; --device names the device in the
build properties.  --seed makes every byte a function of the seed (file contents,
file system timestamps, zip times), so packages of several devices made with the same
seed and --keys-from (the development keys of the first one, OUTDIR/dev) are
identical except for the first --device-apks APKs, whose contents depend on the
device; --reuse takes everything else from the --keys-from package as it is (the
same bytes the seed would make again, without the time).  --batch-sign signs with
tests/release/DevSign.java in one JVM instead of one apksigner run per APK.
"""
import argparse
import gzip
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEC = "build/make/target/product/security"
ZIP_TIME = (2009, 1, 1, 0, 0, 0)
FAKE_TIME = 1230768000  # 2009-01-01, the file system timestamps with --seed
SEED = None             # --seed
BATCH = None            # --batch-sign: [(in, out, key, cert, min sdk)], signed in sign_all()
CLASSES = None          # DevSign.class compiled by the --keys-from run, if any
PARTITIONS = ("SYSTEM", "PRODUCT", "SYSTEM_EXT", "VENDOR", "ODM")


def rnd(label, n):
    """n bytes: random, or a function of --seed and label."""
    if SEED is None:
        return os.urandom(n)
    return random.Random("%s:%s" % (SEED, label)).randbytes(n)


def compressible(label, n):
    """n bytes that deflate to about half (16 symbols per byte), like code and text."""
    return rnd(label, n).translate(bytes(0x61 + (b & 15) for b in range(256)))


def zput(z, name, data, compress=zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    z.writestr(info, data)


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
    if os.path.exists(base + ".pk8"):  # --keys-from
        return base
    os.makedirs(os.path.dirname(base), exist_ok=True)
    run("openssl", "genrsa", "-out", base + ".pem", str(bits), stderr=subprocess.DEVNULL)
    run("openssl", "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", base + ".pem",
        "-out", base + ".pk8")
    run("openssl", "req", "-new", "-x509", "-key", base + ".pem", "-out", base + ".x509.pem",
        "-days", "3650", "-subj", "/CN=" + os.path.basename(name))
    return base


def apk(path, dev, sdk, payload=b"", size=0, label=None):
    """size > 0: about size bytes: half a deflated classes.dex (size bytes before
    deflating), 30% a stored native library, 20% a stored raw resource (contents from
    label with --seed)."""
    label = label or os.path.basename(path)
    tmp = path + ".unsigned"
    with zipfile.ZipFile(tmp, "w") as z:
        zput(z, "AndroidManifest.xml", manifest(sdk))
        dex = compressible(label + "/dex", size) if size else rnd(label + "/dex", 2000)
        zput(z, "classes.dex", b"dex\n035\0" + dex + payload)
        if size:
            zput(z, "lib/arm64-v8a/lib%s.so" % label.split(".")[0],
                 b"\x7fELF" + rnd(label + "/so", size * 3 // 10), zipfile.ZIP_STORED)
            zput(z, "res/raw/blob.bin", rnd(label + "/raw", size // 5), zipfile.ZIP_STORED)
    dev_sign(tmp, path, dev, sdk)


def dev_sign(tmp, path, dev, sdk):
    if BATCH is not None:
        BATCH.append((tmp, path, dev + ".pk8", dev + ".x509.pem", sdk))
        return
    run("apksigner", "sign", "--key", dev + ".pk8", "--cert", dev + ".x509.pem",
        "--min-sdk-version", str(sdk), "--in", tmp, "--out", path)
    os.unlink(tmp)
    idsig = path + ".idsig"
    if os.path.exists(idsig):
        os.unlink(idsig)


def sign_all(work):
    """--batch-sign: every APK and container queued so far, in one JVM."""
    if not BATCH:
        return
    cls = os.path.join(work, "devsign")
    if CLASSES and os.path.exists(os.path.join(CLASSES, "DevSign.class")):
        cls = CLASSES
    elif not os.path.exists(os.path.join(cls, "DevSign.class")):
        os.makedirs(cls, exist_ok=True)
        run("javac", "-nowarn", "-cp", "/usr/share/java/apksig.jar", "-d", cls,
            os.path.join(HERE, "DevSign.java"))
    jobs = os.path.join(work, "devsign.jobs")
    with open(jobs, "w") as f:
        for j in BATCH:
            f.write("\t".join(str(x) for x in j) + "\n")
    run("java", "-cp", "/usr/share/java/apksig.jar:" + cls, "DevSign", jobs)
    for j in BATCH:
        os.unlink(j[0])
    BATCH.clear()


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
    open(os.path.join(d, "etc", "data.bin"), "wb").write(rnd(name + "/data", 30000))
    if inner:
        apk_name, key_base = inner
        stem = apk_name[:-4]
        os.makedirs(os.path.join(d, "app", stem), exist_ok=True)
        apk(os.path.join(d, "app", stem, apk_name), key_base, 29)
        sign_all(work)
    if SEED is not None:
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                os.utime(os.path.join(root, n), (FAKE_TIME, FAKE_TIME))
        os.utime(d, (FAKE_TIME, FAKE_TIME))
    img = os.path.join(work, name + ".fs")
    if erofs:
        run("mkfs.erofs", "--quiet", "-T1230768000", "-U00000000-0000-0000-0000-000000000002",
            "--all-root", img, d)
    else:
        # mke2fs draws a random hash seed for the null UUID: a fixed one with --seed.
        seed = "00000000-0000-0000-0000-00000000000%d" % (0 if SEED is None else 1)
        run("mkfs.ext4", "-q", "-F", "-b", "4096", "-O", "^has_journal", "-E",
            "root_owner=0:0,hash_seed=" + seed, "-U",
            "00000000-0000-0000-0000-000000000001", "-d", d, img, "256k",
            env=dict(os.environ, E2FSPROGS_FAKE_TIME=str(FAKE_TIME)))
        if SEED is not None:
            fix_times(d, img)
    payload = os.path.join(work, name + ".payload")
    run(sys.executable, os.path.join(HERE, "mkavb.py"), "image", dev_payload + ".pem",
        "SHA256_RSA2048", "aabbccdd" * 8, img, payload, "apex.key=" + name)
    pub = os.path.join(work, name + ".avbpubkey")
    run(sys.executable, os.path.join(HERE, "mkavb.py"), "pubkey", dev_payload + ".pem", pub)
    unsigned = os.path.join(work, name + ".apex.unsigned")
    with zipfile.ZipFile(unsigned, "w") as z:
        zput(z, "AndroidManifest.xml", manifest(29))
        zput(z, "apex_manifest.pb", open(os.path.join(d, "apex_manifest.pb"), "rb").read(),
             zipfile.ZIP_STORED)
        zput(z, "apex_payload.img", open(payload, "rb").read(), zipfile.ZIP_STORED)
        zput(z, "apex_pubkey", open(pub, "rb").read(), zipfile.ZIP_STORED)
    out = os.path.join(work, name + ".apex")
    sign_container(unsigned, out, dev_container, now=capex)
    if capex:
        with zipfile.ZipFile(out) as a, zipfile.ZipFile(unsigned, "w") as z:
            zput(z, "original_apex", open(out, "rb").read())
            for m in ("apex_manifest.pb", "apex_pubkey", "AndroidManifest.xml"):
                zput(z, m, a.read(m))
        out = os.path.join(work, name + ".capex")
        sign_container(unsigned, out, dev_container, now=True)
    return out


def fix_times(root, img):
    """mke2fs -d copies the host's ctimes: every inode's times to FAKE_TIME instead."""
    paths = ["lost+found"]
    for top, dirs, files in os.walk(root):
        paths += [os.path.relpath(os.path.join(top, n), root) for n in dirs + files]
    script = img + ".times"
    with open(script, "w") as f:
        for p in [""] + paths:
            for field in ("atime", "ctime", "mtime", "crtime"):
                f.write('sif "/%s" %s @%d\nsif "/%s" %s_extra 0\n' % (p, field, FAKE_TIME, p,
                                                                        field))
    run("debugfs", "-w", "-f", script, img, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.unlink(script)


def sign_container(unsigned, out, dev_container, now):
    """now=False with --batch-sign: queued for the next sign_all()."""
    if BATCH is not None:
        dev_sign(unsigned, out, dev_container, 29)
        if now:
            sign_all(os.path.dirname(out))
        return
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
    ap.add_argument("--size-mb", type=float, default=0)
    ap.add_argument("--partitions", type=int, choices=(2, 5), default=2)
    ap.add_argument("--device", default="synth")
    ap.add_argument("--seed")
    ap.add_argument("--device-apks", type=int, default=0)
    ap.add_argument("--keys-from")
    ap.add_argument("--batch-sign", action="store_true")
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    if a.reuse and not (a.keys_from and a.seed):
        ap.error("--reuse needs --keys-from and --seed")
    global SEED, BATCH, CLASSES
    SEED = a.seed
    if a.keys_from:
        CLASSES = os.path.join(a.keys_from, "..", "work", "devsign")
    BATCH = [] if a.batch_sign else None
    dev = os.path.join(a.out, "dev")
    work = os.path.join(a.out, "work")
    os.makedirs(work, exist_ok=True)
    if a.keys_from:
        shutil.copytree(a.keys_from, dev, dirs_exist_ok=True)
    per_apk = int(a.size_mb * 1048576 / a.apks) if a.apks and a.size_mb else 0
    testkey = key(dev, SEC + "/testkey")
    platform = key(dev, SEC + "/platform")
    vendor = key(dev, "vendor/acme/presigned")
    members = {}
    apkcerts = []
    # --reuse: what is not the device's own comes from the --keys-from package.
    reuse = zipfile.ZipFile(os.path.join(a.keys_from, "..", "target_files.zip")) \
        if a.reuse else None
    for i in range(a.apks):
        dk = platform if i % 2 == 0 else testkey
        label = "App%d.apk@%s" % (i, a.device) if i < a.device_apks else None
        if reuse and i >= a.device_apks:
            continue
        apk(os.path.join(work, "App%d.apk" % i), dk, 24 + (i % 2) * 4, size=per_apk,
            label=label)
    files = {}  # member -> (signed file, gzip it): read once everything is signed
    for i in range(a.apks):
        dn = "platform" if i % 2 == 0 else "testkey"
        name = "App%d.apk" % i
        if a.partitions == 2:
            part = "SYSTEM" if i % 3 else "PRODUCT"
        else:
            part = PARTITIONS[i % len(PARTITIONS)]
        path = os.path.join(work, name)
        m = "%s/app/App%d/%s%s" % (part, i, name, ".gz" if i == 1 else "")
        if reuse and i >= a.device_apks:
            members[m] = reuse.read(m)
        else:
            files[m] = (path, i == 1)
        if i == 1:
            apkcerts.append('name="%s" certificate="%s/%s.x509.pem" private_key="%s/%s.pk8" '
                            'compressed="gz" partition="%s"' % (name, SEC, dn, SEC, dn, part.lower()))
        else:
            apkcerts.append('name="%s" certificate="%s/%s.x509.pem" private_key="%s/%s.pk8" '
                            'partition="%s"' % (name, SEC, dn, SEC, dn, part.lower()))
    path = os.path.join(work, "Vendor.apk")
    if reuse:
        members["VENDOR/app/Vendor/Vendor.apk"] = reuse.read("VENDOR/app/Vendor/Vendor.apk")
    else:
        apk(path, vendor, 28)
        files["VENDOR/app/Vendor/Vendor.apk"] = (path, False)
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
        m = "SYSTEM/apex/%s.%s" % (name, "capex" if capex else "apex")
        if reuse:
            members[m] = reuse.read(m)
        else:
            files[m] = (apex(work, name, dp, dp, inner, erofs=a.erofs and i == 1, capex=capex),
                        False)
        apexkeys.append('name="%s.apex" public_key="%s.avbpubkey" private_key="%s.pem" '
                        'container_certificate="%s.x509.pem" container_private_key="%s.pk8" '
                        'partition="system"' % (name, dp[len(dev) + 1:], dp[len(dev) + 1:],
                                                dp[len(dev) + 1:], dp[len(dev) + 1:]))
    sign_all(work)
    for m, (path, gz) in files.items():
        data = open(path, "rb").read()
        members[m] = gzip.compress(data, mtime=0) if gz else data
    members["SYSTEM/build.prop"] = (
        "# begin build properties\nro.build.version.sdk=34\nro.build.tags=test-keys\n"
        "ro.build.fingerprint=acme/{d}/{d}:14/UP1A/1:user/test-keys\n"
        "ro.build.description={d}-user 14 UP1A 1 test-keys\nro.build.display.id=UP1A test-keys\n"
        "ro.system.build.fingerprint=acme/{d}/{d}:14/UP1A/1:user/release-keys,test-keys\n"
        ).format(d=a.device).encode()
    mac = ('<?xml version="1.0" encoding="utf-8"?>\n<policy>\n'
           '  <signer signature="%s"><seinfo value="platform"/></signer>\n'
           '  <signer signature="%s"><seinfo value="media"/></signer>\n</policy>\n'
           % (der_hex(platform + ".x509.pem"), der_hex(testkey + ".x509.pem")))
    members["SYSTEM/etc/selinux/plat_mac_permissions.xml"] = mac.encode()
    ota = os.path.join(work, "otacerts.zip")
    with zipfile.ZipFile(ota, "w") as z:
        zput(z, "testkey.x509.pem", open(testkey + ".x509.pem", "rb").read())
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
        "acme/%s/%s:14/UP1A/1:user/test-keys\n" % (SEC, a.device, a.device)).encode()
    with zipfile.ZipFile(os.path.join(a.out, "target_files.zip"), "w") as z:
        for m in sorted(members):
            info = zipfile.ZipInfo(m, (2009, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if m.endswith((".apk", ".apex", ".capex", ".gz")) \
                else zipfile.ZIP_DEFLATED
            z.writestr(info, members[m])


if __name__ == "__main__":
    main()
