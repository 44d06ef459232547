#!/bin/sh
# Every manual page renders without a warning (groff -ww, and mandoc's
# linter when it is installed).
set -e
pages=$(ls man/man*/*.[0-9])
[ -n "$pages" ] || { echo "no manual pages"; exit 1; }
for p in $pages; do
    out=$(groff -man -ww -z "$p" 2>&1)
    [ -z "$out" ] || { echo "$p: $out"; exit 1; }
    if command -v mandoc >/dev/null; then
        mandoc -T lint -W warning "$p"
    fi
done
echo "$(echo "$pages" | wc -w) pages render cleanly"
