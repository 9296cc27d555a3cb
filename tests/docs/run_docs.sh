#!/usr/bin/env bash
# The docs test: every ```sh block of README.md and docs/*.md runs, in order, one
# bash script per document (set -euo pipefail), as a reader would type them, in a
# fresh directory with its own HOME and XDG_RUNTIME_DIR and no SIGNET_* settings.
#   usage: run_docs.sh BUILD_DIR SOURCE_DIR [DOC...]   (default: every document)
#
# What the test changes in the text, and only this:
#   127.0.0.1:12345 / :12346     two free ports (the docs' example connectors); an
#                                emulator is started on each one that the document
#                                does not start itself
#   /usr/local/lib/libsignet-pkcs11.so, /usr/local/bin/   the build's files
# A document whose recipes need the state another one builds names it on a line
#   <!-- docs-test: after signing.md -->
# Blocks the test must not run are tagged ```sh-norun (tests/docs/doc_blocks.py).
set -uo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
shift 2
TOOL="$SRC/tests/docs/doc_blocks.py"
cd "$SRC"
docs=("$@")
[ ${#docs[@]} -gt 0 ] || docs=(README.md docs/*.md)

if ! python3 "$TOOL" lint README.md docs/*.md; then
  echo "docs: untagged command blocks (see above)"
  echo "0 passed, 1 failed"
  exit 1
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The document's script with the test's substitutions, preceded by those of the
# documents it runs after (each once).
compose() { # doc seen-list-var
  local doc=$1 dep
  for dep in $(python3 "$TOOL" after "$doc"); do
    compose "docs/$dep"
  done
  case " $composed " in *" $doc "*) return ;; esac
  composed="$composed $doc"
  python3 "$TOOL" script "$doc"
}

run_doc() { # doc -> 0 passed, 1 failed, 2 nothing to run
  local doc=$1 work p1 p2 body pids=() rc
  composed=""
  body=$(compose "$doc")
  [ -n "$body" ] || return 2
  work=$(mktemp -d "${TMPDIR:-/tmp}/signet-docs-XXXXXX")
  mkdir -p "$work/home" "$work/run" "$work/srv"
  chmod 700 "$work/run"
  p1=$(free_port)
  p2=$(free_port)
  while [ "$p2" = "$p1" ]; do p2=$(free_port); done
  body=$(printf '%s\n' "$body" | sed -e "s/127\.0\.0\.1:12345/127.0.0.1:$p1/g" \
      -e "s/127\.0\.0\.1:12346/127.0.0.1:$p2/g" \
      -e "s#/usr/local/lib/libsignet-pkcs11\.so#$BUILD/lib/libsignet-pkcs11.so#g" \
      -e "s#/usr/local/bin/#$BUILD/bin/#g")
  # Emulators for the example connectors the document uses but does not start.
  for port in "$p1" "$p2"; do
    if grep -q "127\.0\.0\.1:$port" <<<"$body" && ! grep -q "signet-hsm .*--listen 127\.0\.0\.1:$port" <<<"$body"; then
      "$BUILD/bin/signet-hsm" --listen "127.0.0.1:$port" --state "$work/srv/hsm-$port.state" \
          >"$work/srv/hsm-$port.out" 2>"$work/srv/hsm-$port.log" &
      pids+=($!)
      for _ in $(seq 200); do grep -q '^listening on ' "$work/srv/hsm-$port.out" && break; sleep 0.05; done
    fi
  done
  {
    printf 'set -euo pipefail\n'
    # What the document starts in the background (an emulator) stops with it.
    printf 'trap '"'"'kill $(jobs -p) 2>/dev/null; wait'"'"' EXIT\n'
    printf 'docs_block() { printf "\\n== %%s (at %%d s)\\n" "$1" "$SECONDS" >&2; }\n'
    printf 'trap '"'"'echo "docs: this command failed (exit $?): $BASH_COMMAND" >&2'"'"' ERR\n'
    printf '%s\n' "$body"
  } >"$work/srv/script.sh"
  (cd "$work" && env -i PATH="$BUILD/bin:/usr/local/bin:/usr/bin:/bin" HOME="$work/home" \
      XDG_RUNTIME_DIR="$work/run" TMPDIR="$work/srv" LANG=C.UTF-8 \
      bash "$work/srv/script.sh" </dev/null >"$work/srv/out.log" 2>&1)
  rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ $rc -ne 0 ]; then
    echo "---- $doc failed (exit $rc); its output:"
    tail -n 60 "$work/srv/out.log"
    echo "---- (the last '== FILE:LINE' above is the block that failed)"
    rm -rf "$work"
    return 1
  fi
  [ -n "${SIGNET_DOCS_KEEP:-}" ] && echo "docs: kept $work" || rm -rf "$work"
  return 0
}

# A document that others run after is run as their first part, not again alone.
included=" "
for doc in "${docs[@]}"; do
  for dep in $(python3 "$TOOL" after "$doc"); do included="$included docs/$dep "; done
done
passed=0 failed=0
for doc in "${docs[@]}"; do
  case $included in *" $doc "*) continue ;; esac
  run_doc "$doc"
  case $? in
    0) passed=$((passed + 1)); echo "docs: $doc: every block ran" ;;
    1) failed=$((failed + 1)); echo "docs: $doc: FAILED" ;;
  esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
