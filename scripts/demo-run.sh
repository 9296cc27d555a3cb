#!/usr/bin/env bash
# The end-to-end demo on emulated HSMs (run by scripts/demo.sh after the build).
#   usage: demo-run.sh BUILD_DIR OUT_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
RELEASE_TOOLS=$(cd "$(dirname "$0")/../tests/release" && pwd)
OUT=$2
BIN=$BUILD/bin
MODULE=$BUILD/lib/libsignet-pkcs11.so
SIGNET=$BIN/signet
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts one emulator on a free port; its URL lands in $URL.
start_hsm() { # name serial
  local log=$OUT/hsm-$1.log
  "$BIN/signet-hsm" --listen 127.0.0.1:0 --state "$OUT/hsm-$1.state" --serial "$2" >"$log.out" 2>"$log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '^listening on ' "$log.out" 2>/dev/null && break
    sleep 0.05
  done
  URL=$(sed -n 's/^listening on //p' "$log.out")
  [ -n "$URL" ] || { cat "$log" >&2; echo "signet-hsm did not start" >&2; exit 1; }
}

step "1. two emulated YubiHSM 2 devices (operation and backup)"
start_hsm primary 10000001; PRIMARY=$URL
start_hsm backup 10000002; BACKUP=$URL
echo "primary $PRIMARY  backup $BACKUP"
"$SIGNET" --connector "$PRIMARY" hsm info | head -3

step "2. the people: five custodians, an admin, an operator, an auditor"
mkdir -p people && chmod 700 people
for p in alice chen dana emil frank gita hugo; do
  "$SIGNET" age keygen -o "people/$p.key" 2>/dev/null
done
ssh-keygen -q -t ed25519 -N '' -C bob@example -f people/bob >/dev/null   # bob uses his SSH key
recipient() { sed -n 's/^# public key: //p' "people/$1.key"; }
cat > plan.txt <<PLAN
project      signet demo release signing
primary      $PRIMARY
backup       $BACKUP
threshold    3
log-name     demo.example/signet-audit
custodian    alice   $(recipient alice)
custodian    bob     $(cat people/bob.pub)
custodian    chen    $(recipient chen)
custodian    dana    $(recipient dana)
custodian    emil    $(recipient emil)
admin        frank   $(recipient frank)
operator     gita    $(recipient gita)
auditor      hugo    $(recipient hugo)
PLAN
cat plan.txt

step "3. the key ceremony: provision both HSMs"
"$SIGNET" ceremony provision --plan plan.txt --out ceremony
ls ceremony ceremony/shares ceremony/credentials

step "4. the operator opens her credential"
umask 077
"$SIGNET" age decrypt -i people/gita.key -o operator.password ceremony/credentials/operator-gita.age
umask 022
cat > signet.conf <<CONF
connector = $PRIMARY
keystore = $OUT/keys
audit = $OUT/ceremony/audit
log_name = demo.example/signet-audit
auth_key = 3
password_file = $OUT/operator.password
CONF
# Every command, the module and the helpers log in with the credential named here.
export SIGNET_CONF=$OUT/signet.conf

step "5. generate the Android release keys inside the HSM; keep them wrapped on disk"
"$SIGNET" keys init --device demo --algorithm "${SIGNET_DEMO_ALGORITHM:-rsa4096}"
"$SIGNET" keys generate
"$SIGNET" keys list

step "6. sign an APK with stock apksigner through libsignet-pkcs11.so"
mkdir -p apk && (cd apk && printf 'demo manifest' > AndroidManifest.xml && head -c 4096 /dev/urandom > classes.dex \
  && zip -q -X ../demo-unaligned.apk AndroidManifest.xml classes.dex)
zipalign -f 4 demo-unaligned.apk demo-unsigned.apk
printf 'name = signet\nlibrary = %s\nslotListIndex = 0\n' "$MODULE" > p11.cfg
export SIGNET_PIN="0003$(cat operator.password)"
SIGNET_ARTIFACT=$OUT/demo.apk apksigner \
  -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED sign \
  --provider-class sun.security.pkcs11.SunPKCS11 --provider-arg p11.cfg \
  --ks NONE --ks-type PKCS11 --ks-pass env:SIGNET_PIN --ks-key-alias platform \
  --min-sdk-version 24 --v1-signing-enabled false --v2-signing-enabled true --v3-signing-enabled true \
  --in demo-unsigned.apk --out demo.apk
unset SIGNET_PIN
apksigner verify --min-sdk-version 24 -v demo.apk | head -4
openssl x509 -in keys/platform.x509.pem -noout -subject

step "6b. the same APK signed natively: signet apk sign (no JVM, one session, same layout)"
"$SIGNET" apk sign --key platform --min-sdk-version 24 --in demo-unsigned.apk --out demo-native.apk
"$SIGNET" apk verify --min-sdk-version 24 demo-native.apk
apksigner verify --min-sdk-version 24 -v demo-native.apk | head -4

step "7. sign a vbmeta-style block with the avbtool signing helper"
head -c 8192 /dev/urandom > vbmeta-body.img
KEYBYTES=$(( $(openssl rsa -pubin -in keys/avb_demo.pub.pem -noout -text 2>/dev/null | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p') / 8 ))
ALG=SHA256_RSA$((KEYBYTES * 8))
python3 - "$KEYBYTES" vbmeta-body.img > vbmeta.block <<'PY'
import hashlib, sys
n = int(sys.argv[1]); digest = hashlib.sha256(open(sys.argv[2], 'rb').read()).digest()
di = bytes.fromhex('3031300d060960864801650304020105000420') + digest
sys.stdout.buffer.write(b'\x00\x01' + b'\xff' * (n - 3 - len(di)) + b'\x00' + di)
PY
# avbtool --signing_helper "$BUILD/bin/signet-avb-sign" runs exactly this: one program path.
SIGNET_ARTIFACT=$OUT/vbmeta-body.img "$BUILD/bin/signet-avb-sign" "$ALG" keys/avb_demo.pem < vbmeta.block > vbmeta.sig
openssl pkeyutl -verifyrecover -pubin -inkey keys/avb_demo.pub.pem -pkeyopt rsa_padding_mode:none \
  -in vbmeta.sig -out vbmeta.recovered
cmp vbmeta.block vbmeta.recovered && echo "the avb helper's signature is a raw RSA signature of the block: OK"

step "7a. sign an OTA payload hash as ota_from_target_files runs its --payload_signer"
head -c 65536 /dev/urandom > payload.bin
openssl dgst -sha256 -binary payload.bin > payload.hash
# --payload_signer "$BUILD/bin/signet-payload-sign" --payload_signer_args "--key releasekey"
SIGNET_ARTIFACT=$OUT/payload.bin "$BUILD/bin/signet-payload-sign" --key releasekey -in payload.hash -out payload.sig
openssl pkeyutl -verify -pubin -inkey keys/releasekey.pub.pem -pkeyopt digest:sha256 \
  -in payload.hash -sigfile payload.sig

step "7b. a whole release: plan, sign and verify a small synthetic AOSP target-files package"
python3 "$RELEASE_TOOLS/mktf.py" tf --apks 3 --apexes 1 >/dev/null
"$SIGNET" keys init --apex com.android.synth0 --algorithm "${SIGNET_DEMO_ALGORITHM:-rsa4096}" >/dev/null
"$SIGNET" -q keys generate >/dev/null
"$SIGNET" release plan tf/target_files.zip --device demo -o release.plan
"$SIGNET" release sign tf/target_files.zip --device demo --plan release.plan \
  --dev-cert-dir tf/dev --avb-helper "$BUILD/bin/signet-avb-sign" -o signed-target_files.zip
"$SIGNET" release verify signed-target_files.zip --device demo

step "8. verify the audit trail: every signature recorded, device logs chained, checkpoints signed"
"$SIGNET" audit checkpoint ceremony/audit
"$SIGNET" audit verify ceremony/audit --device "$PRIMARY"
"$SIGNET" audit prove "$OUT/demo.apk" --dir ceremony/audit --out demo.apk.receipt
"$SIGNET" audit verify-receipt demo.apk.receipt --vkey ceremony/audit/log.vkey demo.apk

step "done: everything is in $OUT"
