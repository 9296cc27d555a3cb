#!/usr/bin/env bash
# The whole story on emulated HSMs, end to end:
#   1. start two signet-hsm emulators (operation and backup)
#   2. provision both in a key ceremony (wrap key, roles, shares to five custodians)
#   3. generate the Android release keys inside the HSM, keep them wrapped on disk
#   4. sign an APK with stock apksigner through libsignet-pkcs11.so
#   5. sign a vbmeta-style block with the avbtool signing helper
#   5b. plan, sign and verify a small synthetic target-files package (signet release)
#   6. verify both with standard tools, and verify the audit trail
# Everything lands in ./demo-out (removed at the start of each run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec bash scripts/demo-run.sh "$ROOT/build" "$ROOT/demo-out"
