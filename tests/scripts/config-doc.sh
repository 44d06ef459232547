#!/bin/sh
# config-doc.sh: every property the broker and the clients accept (their
# tables in lib/broker/config.c and lib/client/config.c) is described in
# doc/configuration.md, and the document names no property they lack.
set -e
doc=doc/configuration.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -n 's/^ *{"\([a-z][a-z0-9.]*\)", \(K\|PROP\)_.*/\1/p' lib/broker/config.c lib/client/config.c |
    sort -u > "$tmp/code"
{
    sed -n 's/^| `\([a-z][a-z0-9.]*\)`.*/\1/p' "$doc"
    sed -n 's/^| `[a-z0-9.]*` (`\([a-z][a-z0-9.]*\)`).*/\1/p' "$doc"
} | sort -u > "$tmp/doc"
[ "$(wc -l < "$tmp/code")" -gt 100 ] || { echo "config-doc: property tables not found"; exit 1; }
if ! cmp -s "$tmp/code" "$tmp/doc"; then
    echo "config-doc: $doc and the property tables differ (< code only, > document only):"
    diff "$tmp/code" "$tmp/doc" | grep '^[<>]'
    exit 1
fi
echo "config-doc: $(wc -l < "$tmp/code") properties documented"
