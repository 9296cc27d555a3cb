# Converts the man pages kept as Markdown in docs/ (signet.1.md, signet-hsm.1.md)
# to roff for `man`: headings, paragraphs, indented code blocks, "term / :  text"
# definition lists, tables (kept as preformatted text) and `code` spans.  Only the
# subset those pages use; run by the build (src/cli/CMakeLists.txt).
function esc(s) {
    gsub(/\\/, "\\e", s)
    if (s ~ /^[.']/) s = "\\&" s
    return s
}
function inline(s) {
    s = esc(s)
    while (match(s, /`[^`]*`/)) s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
    while (match(s, /\*\*[^*]*\*\*/)) s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 2, RLENGTH - 4) "\\fR" substr(s, RSTART + RLENGTH)
    return s
}
function endcode() { if (code) { print ".fi"; print ".RE"; code = 0 } }
BEGIN { code = 0; table = 0 }
NR == 1 && /^# / {
    t = $2; sub(/\(.*/, "", t); sec = $2; gsub(/.*\(|\).*/, "", sec)
    printf ".TH %s %s\n", toupper(t), sec
    next
}
/^## / { endcode(); print ".SH " toupper(substr($0, 4)); next }
/^### / { endcode(); print ".SS " inline(substr($0, 5)); next }
/^\|/ {
    endcode()
    if ($0 ~ /^\| *---/) next
    if (!table) { print ".PP"; print ".nf"; table = 1 }
    line = $0; gsub(/^\| */, "", line); gsub(/ *\| *$/, "", line); gsub(/ *\| */, "\t", line)
    print inline(line); next
}
table && !/^\|/ { print ".fi"; table = 0 }
/^    / && prev_def && !prev_blank && !code { sub(/^ +/, ""); print inline($0); next }
/^    / && (code || prev_blank) {
    if (!code) { print ".RS"; print ".nf"; code = 1 }
    print esc(substr($0, 5)); prev_blank = 0; next
}
/^$/ { if (code) { pending_blank = 1; prev_blank = 1; next } print ".PP"; prev_blank = 1; prev_def = 0; next }
{
    if (code && pending_blank) { endcode(); print ".PP" }
    pending_blank = 0
    endcode()
    if ($0 ~ /^:   /) { print ".TP"; print inline(held); print inline(substr($0, 5)); held = ""; prev_def = 1; prev_blank = 0; next }
    if (held != "") print inline(held)
    held = ""
    if ($0 ~ /^`/ ) { held = $0; prev_blank = 0; next }
    print inline($0); prev_blank = 0
}
END { if (held != "") print inline(held); endcode(); if (table) print ".fi" }
