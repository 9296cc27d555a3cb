#!/usr/bin/env python3
"""Test fixture: builds an image with a dm-verity hash tree, a vbmeta and an AVB
footer laid out as avbtool's add_hashtree_footer writes it (no partition size,
no FEC), written from the avbtool / libavb sources independently of signet's C
code, so the two check each other.  Signing uses the openssl command.

  mkavb.py image KEY.pem ALGORITHM SALT_HEX DATA_FILE OUT [PROP=VALUE ...]
  (KEY.avbpubkey instead: the public key only, a zero signature, for comparing
  everything but the signature with an image signed by a key held in an HSM)
  mkavb.py pubkey KEY.pem OUT          (avbtool extract_public_key format)
"""
import hashlib
import struct
import subprocess
import sys

ALGS = {  # name: (type, hash, hash bytes, signature bytes)
    "SHA256_RSA2048": (1, "sha256", 32, 256),
    "SHA256_RSA4096": (2, "sha256", 32, 512),
    "SHA512_RSA2048": (4, "sha512", 64, 256),
    "SHA512_RSA4096": (5, "sha512", 64, 512),
}
BLOCK = 4096


def rup(v, m):
    return (v + m - 1) // m * m


def modulus(key):
    out = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip().split("=", 1)[1], 16)


def avb_pubkey(key):
    n = modulus(key)
    bits = n.bit_length()
    n0inv = 2**32 - pow(n, -1, 2**32)
    rr = pow(2**bits, 2, n)
    return struct.pack(">II", bits, n0inv) + n.to_bytes(bits // 8, "big") + rr.to_bytes(bits // 8, "big")


def hash_tree(data, salt, alg):
    dlen = hashlib.new(alg).digest_size
    dpad = 1
    while dpad < dlen:
        dpad <<= 1
    sizes = []
    size = len(data)
    while size > BLOCK:
        size = rup((size + BLOCK - 1) // BLOCK * dpad, BLOCK)
        sizes.append(size)
    levels = []
    src = data
    for s in sizes:
        out = bytearray()
        for o in range(0, len(src), BLOCK):
            blk = src[o:o + BLOCK]
            out += hashlib.new(alg, salt + blk + b"\0" * (BLOCK - len(blk))).digest()
            out += b"\0" * (dpad - dlen)
        out += b"\0" * (s - len(out))
        levels.append(bytes(out))
        src = bytes(out)
    root = hashlib.new(alg, salt + src).digest()
    return root, b"".join(reversed(levels))  # top level first


def descriptor(tag, body):
    body += b"\0" * (rup(len(body), 8) - len(body))
    return struct.pack(">QQ", tag, len(body)) + body


def sign(key, alg_hash, data):
    return subprocess.run(["openssl", "dgst", "-" + alg_hash, "-sign", key], input=data,
                          check=True, capture_output=True).stdout


def image(key, alg_name, salt_hex, data_file, out, props):
    atype, halg, hlen, slen = ALGS[alg_name]
    data = open(data_file, "rb").read()
    original = len(data)
    data += b"\0" * (rup(len(data), BLOCK) - len(data))
    salt = bytes.fromhex(salt_hex)
    root, tree = hash_tree(data, salt, "sha256")
    tree += b"\0" * (rup(len(tree), BLOCK) - len(tree))
    name = b"apex"
    ht = struct.pack(">IQQQIIIQQ32sIIII60s", 1, len(data), len(data), len(tree), BLOCK, BLOCK,
                     0, 0, 0, b"sha256", len(name), len(salt), len(root), 0, b"")
    descs = descriptor(1, ht + name + salt + root)
    for p in props:
        k, v = p.split("=", 1)
        descs += descriptor(0, struct.pack(">QQ", len(k), len(v)) + k.encode() + b"\0" +
                            v.encode() + b"\0")
    unsigned = key.endswith(".avbpubkey")
    pub = open(key, "rb").read() if unsigned else avb_pubkey(key)
    aux = descs + pub
    aux += b"\0" * (rup(len(aux), 64) - len(aux))
    auth_size = rup(hlen + slen, 64)
    rel = b"avbtool 1.3.0"
    hdr = struct.pack(">4sIIQQIQQQQQQQQQQQII48s80s", b"AVB0", 1, 0, auth_size, len(aux), atype,
                      0, hlen, hlen, slen, len(descs), len(pub), len(descs) + len(pub), 0, 0,
                      len(descs), 0, 0, 0, rel, b"")
    assert len(hdr) == 256
    h = hashlib.new(halg, hdr + aux).digest()
    sig = b"\0" * slen if unsigned else sign(key, halg, hdr + aux)
    assert len(sig) == slen
    auth = h + sig + b"\0" * (auth_size - hlen - slen)
    vbmeta = hdr + auth + aux
    vb_off = len(data) + len(tree)
    footer = struct.pack(">4sIIQQQ28s", b"AVBf", 1, 0, original, vb_off, len(vbmeta), b"")
    img = data + tree + vbmeta + b"\0" * (rup(len(vbmeta), BLOCK) - len(vbmeta))
    img += b"\0" * (BLOCK - 64) + footer
    open(out, "wb").write(img)


if __name__ == "__main__":
    if sys.argv[1] == "pubkey":
        open(sys.argv[3], "wb").write(avb_pubkey(sys.argv[2]))
    else:
        image(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:])
