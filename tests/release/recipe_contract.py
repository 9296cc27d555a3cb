#!/usr/bin/env python3
"""The images/OTA recipe of docs/release.md, run the way AOSP's tools run signet.

Debian has no AOSP otatools, so this script calls signet's helpers exactly as those
tools do (read from their sources: releasetools common.py AppendAVBSigningArgs /
ResolveAVBSigningPathArgs / BuildVBMeta / SignFile, payload_signer.py
PayloadSigner.Sign; avbtool RSAPublicKey and raw_sign) and checks each result as the
device would.  Each subcommand exits non-zero with a message on any difference.

  recipe_contract.py avb SIGNED_ZIP
      META/misc_info.txt of a `release sign` output: for every partition with an AVB
      key, the key path must exist (ResolveAVBSigningPathArgs raises otherwise), avbtool
      must read the key (`openssl rsa -modulus`, then `-pubin`) and find the bits the
      algorithm names, and the signing helper named in the partition's avbtool args
      (--signing_helper_with_files: `HELPER ALGORITHM KEY_PATH FILE`, the signature
      read back from FILE; --signing_helper: block on stdin) must return a signature
      of the key's size that verifies as avbtool's verify_vbmeta_signature does.
  recipe_contract.py payload SIGNED_ZIP SIGNER ARGS
      ota_from_target_files --payload_signer SIGNER --payload_signer_args ARGS: runs
      [SIGNER] + shlex.split(ARGS) + ['-in', HASH, '-out', SIG] on a payload hash
      (SHA-256, as delta_generator --out_hash_file writes it); the signature must fit
      --payload_signer_maximum_signature_size 512 and verify with the certificate in
      the package's otacerts.zip (the key the device checks the payload with).
  recipe_contract.py package SIGNED_ZIP JAVA IN_ZIP OUT_ZIP
      The OTA package's whole-file signature (SignFile with whole_file=True):
      [JAVA, '-Xmx4096m', '-jar', signapk.jar, '-w', KEY.x509.pem, KEY.pk8, IN, OUT]
      with KEY.x509.pem the otacerts.zip certificate and no KEY.pk8 on disk; the
      output's signature block (in the zip comment, as RecoverySystem.verifyPackage
      reads it) must verify over the file minus comment and comment length, signed
      by that certificate.
"""
import hashlib
import os
import shlex
import struct
import subprocess
import sys
import tempfile
import zipfile

SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def fail(msg):
    sys.exit("recipe_contract: " + msg)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, **kw)


def misc_info(zf):
    """common.LoadDictionaryFromLines."""
    d = {}
    for line in zf.read("META/misc_info.txt").decode().split("\n"):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        d[k] = v
    return d


def avbtool_bits(key_path):
    """avbtool RSAPublicKey: openssl rsa -modulus, retried with -pubin."""
    args = ["openssl", "rsa", "-in", key_path, "-modulus", "-noout"]
    p = run(args)
    if p.returncode != 0:
        p = run(args + ["-pubin"])
        if p.returncode != 0:
            fail("avbtool cannot read the key %s: %s" % (key_path, p.stderr.decode()))
    out = p.stdout.decode().strip()
    if not out.lower().startswith("modulus="):
        fail("unexpected openssl modulus output for " + key_path)
    return (len(out) - len("modulus=")) * 4, int(out[8:], 16)


def avb(signed):
    zf = zipfile.ZipFile(signed)
    info = misc_info(zf)
    checked = []
    for k in sorted(info):
        if not (k.startswith("avb_") and k.endswith("_key_path")):
            continue
        part = k[4:-len("_key_path")]
        key_path = info[k]
        alg = info.get("avb_%s_algorithm" % part)
        if not alg:
            continue
        if not os.path.exists(key_path):
            fail("%s: %s does not exist (releasetools raises 'Failed to find')" % (k, key_path))
        bits, modulus = avbtool_bits(key_path)
        if alg != "SHA256_RSA%d" % bits:
            fail("%s: algorithm %s for a %d-bit key" % (part, alg, bits))
        args = None
        for ak in ("avb_%s_args" % part, "avb_%s_add_hashtree_footer_args" % part,
                   "avb_%s_add_hash_footer_args" % part):
            if ak in info:
                args = shlex.split(info[ak])
        if args is None:
            fail("%s: no avbtool args to carry the signing helper" % part)
        mode = helper = None
        for i, a in enumerate(args[:-1]):
            if a in ("--signing_helper", "--signing_helper_with_files"):
                mode, helper = a, args[i + 1]
        if not helper:
            fail("%s: no --signing_helper in %s" % (part, args))
        if mode == "--signing_helper" and not os.path.exists(helper):
            fail("%s: the helper %s does not exist (ResolveBinaryPath)" % (part, helper))
        # raw_sign of a header + aux block's padded digest.
        digest = hashlib.sha256(os.urandom(1000)).digest()
        t = SHA256_PREFIX + digest
        block = b"\x00\x01" + b"\xff" * (bits // 8 - len(t) - 3) + b"\x00" + t
        if mode == "--signing_helper_with_files":
            with tempfile.NamedTemporaryFile() as f:
                f.write(block)
                f.flush()
                if subprocess.call([helper, alg, key_path, f.name]) != 0:
                    fail("%s: the helper failed" % part)
                f.seek(0)
                sig = f.read()
        else:
            p = run([helper, alg, key_path], input=block)
            if p.returncode != 0:
                fail("%s: the helper failed: %s" % (part, p.stderr.decode()))
            sig = p.stdout
        if len(sig) != bits // 8:
            fail("%s: signature of %d bytes, avbtool wants %d" % (part, len(sig), bits // 8))
        # verify_vbmeta_signature: raw RSA with e = 65537 gives back the block.
        if pow(int.from_bytes(sig, "big"), 65537, modulus) != int.from_bytes(block, "big"):
            fail("%s: the signature does not verify with %s" % (part, key_path))
        checked.append(part)
    if not checked:
        fail("no AVB partition in misc_info.txt")
    print("avb: " + " ".join(checked))


def ota_cert(signed, out_path):
    zf = zipfile.ZipFile(signed)
    names = [n for n in zf.namelist() if n.endswith("/otacerts.zip")]
    if not names:
        fail("no otacerts.zip in the package")
    with zipfile.ZipFile(__import__("io").BytesIO(zf.read(names[0]))) as oz:
        certs = oz.namelist()
        if len(certs) != 1:
            fail("otacerts.zip holds %d certificates" % len(certs))
        open(out_path, "wb").write(oz.read(certs[0]))


def payload(signed, signer, args, work):
    cert = os.path.join(work, "ota.x509.pem")
    ota_cert(signed, cert)
    h = os.path.join(work, "payload.hash")
    s = os.path.join(work, "payload.sig")
    open(h, "wb").write(hashlib.sha256(os.urandom(5000)).digest())
    p = run([signer] + shlex.split(args) + ["-in", h, "-out", s])
    if p.returncode != 0:
        fail("the payload signer failed: " + p.stderr.decode())
    if os.path.getsize(s) > 512:
        fail("payload signature larger than --payload_signer_maximum_signature_size 512")
    p = run(["openssl", "pkeyutl", "-verify", "-certin", "-inkey", cert, "-pkeyopt",
             "digest:sha256", "-in", h, "-sigfile", s])
    if p.returncode != 0:
        fail("the payload signature does not verify with otacerts.zip's certificate")
    print("payload: verified with otacerts.zip's certificate")


def package(signed, java, src, dst, work):
    key = os.path.join(work, "keys", "releasekey")
    os.makedirs(os.path.dirname(key), exist_ok=True)
    ota_cert(signed, key + ".x509.pem")
    if os.path.exists(key + ".pk8"):
        os.unlink(key + ".pk8")
    p = run([java, "-Xmx4096m", "-jar", os.path.join(work, "framework", "signapk.jar"), "-w",
             key + ".x509.pem", key + ".pk8", src, dst])
    if p.returncode != 0:
        fail("signapk -w failed: " + p.stderr.decode())
    data = open(dst, "rb").read()
    # RecoverySystem.verifyPackage: footer = signature start, 0xffff, comment size.
    sig_start, magic, comment = struct.unpack("<HHH", data[-6:])
    if magic != 0xffff or data[-comment - 2 - 20:-comment - 2 - 16] != b"PK\x05\x06":
        fail("no whole-file signature footer")
    block = data[len(data) - sig_start:len(data) - 6]
    signed_part = data[:len(data) - comment - 2]
    for name, blob in (("sig.der", block), ("signed.bin", signed_part)):
        open(os.path.join(work, name), "wb").write(blob)
    p = run(["openssl", "cms", "-verify", "-inform", "DER", "-in",
             os.path.join(work, "sig.der"), "-binary", "-content",
             os.path.join(work, "signed.bin"), "-noverify", "-certfile", key + ".x509.pem",
             "-signer", os.path.join(work, "signer.pem"), "-out", "/dev/null"])
    if p.returncode != 0:
        fail("the whole-file signature does not verify: " + p.stderr.decode())
    der = [run(["openssl", "x509", "-in", c, "-outform", "DER"]).stdout
           for c in (os.path.join(work, "signer.pem"), key + ".x509.pem")]
    if der[0] != der[1]:
        fail("the OTA package is signed by another certificate than otacerts.zip's")
    print("package: whole-file signature by otacerts.zip's certificate")


def main():
    a = sys.argv[1:]
    with tempfile.TemporaryDirectory() as work:
        if a[:1] == ["avb"] and len(a) == 2:
            avb(a[1])
        elif a[:1] == ["payload"] and len(a) == 4:
            payload(a[1], a[2], a[3], work)
        elif a[:1] == ["package"] and len(a) == 5:
            package(a[1], a[2], a[3], a[4], work)
        else:
            fail("usage: see the docstring")


if __name__ == "__main__":
    main()
