#!/bin/sh
# pageviews.sh: the page view demo (examples/pageviews) end to end against
# `samsa broker`. Real HTTP requests (python3's urllib) visit pages of
# `web`; `store` keeps the records in SQLite and `counts` writes views per
# page to pageview-counts. Checked: every view becomes exactly one row with
# the right user, page and times, also after store is killed (SIGKILL)
# while visits go on and restarted, and a store in a new group that replays
# the whole topic into the same database (a deterministic stand-in for a
# crash between the SQLite commit and the offset commit) adds no row;
# counts, stopped and restarted mid-way, ends with the exact number of
# views of each page (read back with examples/consumer). Each program exits
# 0 on SIGTERM.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
P="$B/examples/pageviews"
for f in "$BIN" "$P/web" "$P/store" "$P/counts" "$B/examples/consumer"; do
    [ -x "$f" ] || { echo "missing $f (make examples)"; exit 1; }
done
command -v python3 >/dev/null || { echo "python3 is missing"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc
web_pid=""
store_pid=""
counts_pid=""
reader_pid=""
# Each program runs under timeout, which passes SIGTERM on (and SIGKILLs
# what is still there 5 s later).
stop_all() {
    for p in $web_pid $store_pid $counts_pid $reader_pid; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    cleanup
}
trap stop_all EXIT INT TERM
start_broker
db="$dir/views.db"

# stop NAME PID: SIGTERM, and the program must exit 0
stop() {
    kill -TERM "$2"
    status=0
    wait "$2" || status=$?
    [ $status -eq 0 ] || { echo "$1 exited $status on SIGTERM:"; cat "$dir/$1.err"; exit 1; }
}
start_store() { # GROUP; $dir/store.pid gets the pid of store itself
    rm -f "$dir/store.pid"
    timeout -k 5 300 sh -c 'echo $$ > "$0"; exec "$@"' "$dir/store.pid" \
        "$P/store" "$bootstrap" "$db" "$1" > "$dir/store-$1.out" 2> "$dir/store.err" &
    store_pid=$!
}
start_counts() {
    timeout -k 5 300 "$P/counts" "$bootstrap" >> "$dir/counts.out" 2> "$dir/counts.err" &
    counts_pid=$!
}

# drive.py URL EXPECTED PHASE: visits pages, checks each answer, and appends
# the views that must be recorded to EXPECTED as "user page closed|open".
cat > "$dir/drive.py" <<'EOF'
import sys, urllib.request, urllib.error
url, expected, phase = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
views = []

def get(path, user=None, method="GET", want=200):
    req = urllib.request.Request(url + path, method=method, data=b"x=1" if method == "POST" else None)
    if user:
        req.add_header("Cookie", "theme=dark; user=" + user)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, cookie, body = r.status, r.headers.get("Set-Cookie"), r.read()
    except urllib.error.HTTPError as e:
        status, cookie, body = e.code, e.headers.get("Set-Cookie"), e.read()
    assert status == want, (path, status, want)
    return cookie, body

if phase == "1":
    cookie, body = get("/?user=alice")
    assert cookie == "user=alice; Path=/; SameSite=Lax", cookie
    assert b"Hello alice" in body and b"sendBeacon" in body, body
    cookie, _ = get("/products", "alice")
    assert cookie is None, cookie
    get("/leave?page=/products", "alice", "POST", 204)
    views += [("alice", "/", "closed"), ("alice", "/products", "closed")]
    get("/about?user=bob")
    get("/leave?page=/", "bob", want=204)  # not the page bob is on: no effect
    get("/leave?page=/about", "bob", want=204)
    get("/leave?page=/about", "bob", want=204)  # already left: no effect
    views += [("bob", "/about", "closed")]
    cookie, _ = get("/")
    anon = cookie.split(";")[0].split("=")[1]
    assert anon.startswith("u"), cookie
    get("/products", anon)
    views += [(anon, "/", "closed"), (anon, "/products", "open")]  # open until web stops
    get("/nope", "alice", want=404)
    get("/", "alice", "POST", 405)
elif phase == "2":
    for i in range(40):
        get("/?user=v%d" % i)
        get("/about", "v%d" % i)
        get("/leave?page=/about", "v%d" % i, want=204)
        views += [("v%d" % i, "/", "closed"), ("v%d" % i, "/about", "closed")]
else:
    for i in range(12):
        get("/products?user=w%d" % i)
        get("/leave?page=/products", "w%d" % i, "POST", 204)
        views += [("w%d" % i, "/products", "closed")]
    get("/about", "alice")
    get("/leave?page=/about", "alice", "POST", 204)
    views += [("alice", "/about", "closed")]
with open(expected, "a") as f:
    for v in views:
        f.write(" ".join(v) + "\n")
EOF

# check.py DB EXPECTED T0 T1: the records table holds exactly the expected
# views, one row each, at offsets 0..N-1, with consistent times in [T0, T1].
cat > "$dir/check.py" <<'EOF'
import sys, json, sqlite3, collections
db, expected, t0, t1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = collections.Counter(tuple(l.split()) for l in open(expected))
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
rows = con.execute("SELECT topic, partition, offset, key, value FROM records "
                   "ORDER BY partition, offset").fetchall()
n = sum(want.values())
assert len(rows) == n, "%d rows, %d views" % (len(rows), n)
assert [(r[0], r[1], r[2]) for r in rows] == [("pageviews", 0, i) for i in range(n)], "offsets"
got = collections.Counter()
for topic, partition, offset, key, value in rows:
    v = json.loads(value)
    assert v["user"] == key, value
    assert t0 <= v["visit_ms"] <= t1, value
    if v["left_ms"] is None:
        assert v["spent_ms"] is None, value
    else:
        assert v["visit_ms"] <= v["left_ms"] <= t1, value
        assert v["spent_ms"] == v["left_ms"] - v["visit_ms"], value
    got[(key, v["page"], "open" if v["left_ms"] is None else "closed")] += 1
assert got == want, "rows differ from the views: missing %s, extra %s" % (want - got, got - want)
view = con.execute("SELECT user, page, spent_ms FROM pageviews WHERE user = 'bob'").fetchall()
assert len(view) == 1 and view[0][:2] == ("bob", "/about") and view[0][2] >= 0, view
print("%d rows, one per view" % n)
EOF

# wait_for WHAT COMMAND...: runs COMMAND until it succeeds (bounded).
wait_for() {
    what=$1
    shift
    i=0
    until "$@" > "$dir/wait.out" 2>&1; do
        i=$((i + 1))
        [ $i -lt 600 ] || { echo "timed out waiting for $what:"; cat "$dir/wait.out"; exit 1; }
        sleep 0.1
    done
}
rows_at_least() { # N
    python3 -c 'import sqlite3, sys
n = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM records").fetchone()[0]
sys.exit(0 if n >= int(sys.argv[2]) else 1)' "$db" "$1"
}
now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }

t0=$(now_ms)
timeout -k 5 300 "$P/web" "$bootstrap" > "$dir/web.out" 2> "$dir/web.err" &
web_pid=$!
wait_for "the web server" grep -q '^http://127\.0\.0\.1:[0-9]*/$' "$dir/web.out"
url=$(cat "$dir/web.out")
echo "web at $url"
start_store pageviews-store
start_counts

: > "$dir/expected"
timeout 120 python3 "$dir/drive.py" "$url" "$dir/expected" 1
n1=$(grep -c closed "$dir/expected")
wait_for "$n1 rows" rows_at_least "$n1"
# store dies without a word while visits go on; counts stops cleanly
# afterwards; both come back later
timeout 120 python3 "$dir/drive.py" "$url" "$dir/expected" 2 &
drive_pid=$!
wait_for "$((n1 + 10)) rows" rows_at_least $((n1 + 10))
store=$(cat "$dir/store.pid")
kill -KILL "$store"
status=0
wait "$store_pid" || status=$?
store_pid=""
[ $status -eq 137 ] && ! kill -0 "$store" 2>/dev/null || { echo "store not killed ($status)"; exit 1; }
wait "$drive_pid" || { echo "phase 2 visits failed"; exit 1; }
stop counts "$counts_pid"
counts_pid=""
echo "phases 1 and 2: $(wc -l < "$dir/expected") views; store killed after $(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM records").fetchone()[0])' "$db") rows"

timeout 120 python3 "$dir/drive.py" "$url" "$dir/expected" 3
start_store pageviews-store
start_counts
stop web "$web_pid" # records the view still open
web_pid=""
t1=$(now_ms)
n=$(wc -l < "$dir/expected")
wait_for "$n rows" rows_at_least "$n"
stop store "$store_pid"
store_pid=""
python3 "$dir/check.py" "$db" "$dir/expected" "$t0" "$t1"

# a new group reads the topic from the start into the same database: every
# record is stored again, and not one row is added
start_store replay
stored_all() {
    awk -v n="$n" '{ s += $2 } END { exit !(s >= n) }' "$dir/store-replay.out"
}
wait_for "the replay" stored_all
stop store "$store_pid"
store_pid=""
awk '{ r += $2; a += $4 } END { if (a != 0) exit 1; print "replay: " r " records stored again, " a " new rows" }' \
    "$dir/store-replay.out" || { echo "the replay added rows:"; cat "$dir/store-replay.out"; exit 1; }
python3 "$dir/check.py" "$db" "$dir/expected" "$t0" "$t1"

# counts: the latest count of each page is its number of views
awk '{ c[$2]++ } END { for (p in c) print p, c[p] }' "$dir/expected" | sort > "$dir/counts.want"
timeout -k 5 300 "$B/examples/consumer" "$bootstrap" pageview-counts > "$dir/counts.topic" 2> "$dir/consumer.err" &
reader_pid=$!
latest_counts() {
    awk -F '\t' '{ c[$4] = $5 } END { for (p in c) print p, c[p] }' "$dir/counts.topic" | sort > "$dir/counts.got"
    diff "$dir/counts.want" "$dir/counts.got"
}
wait_for "the counts of every page" latest_counts
stop counts "$counts_pid"
counts_pid=""
stop consumer "$reader_pid"
reader_pid=""
echo "counts: $(tr '\n' ' ' < "$dir/counts.got")"
