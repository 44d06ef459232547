#!/bin/sh
# users-cli.sh: `samsa users add|delete|list` on a broker's credentials
# file: salted entries only (mode 0600, no password in it), the password
# from standard input, errors with the right exit status, parallel adds
# that all land, and a running broker that follows every change (a new
# user logs in, a changed password replaces the old one, a deleted user is
# refused).
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/secure-broker.inc
need_kcat

# expect STATUS PATTERN -- command...: the exit status, and an extended
# regular expression that stdout or stderr matches.
expect() {
    want_status=$1
    pattern=$2
    shift 3
    status=0
    "$@" > "$dir/out" 2>&1 < /dev/null || status=$?
    [ "$status" = "$want_status" ] || { echo "$*: exit $status, expected $want_status"; cat "$dir/out"; exit 1; }
    grep -Eq -- "$pattern" "$dir/out" || { echo "$*: no '$pattern' in:"; cat "$dir/out"; exit 1; }
}

make_certs
write_properties
conf="$dir/broker.properties"
creds="$dir/credentials"

# ---- the file ----------------------------------------------------------------
expect 0 'SCRAM-SHA-512 set for alice' -- "$BIN" users add --config "$conf" --user alice \
    --mechanism SCRAM-SHA-512 --password 'alice pass'
echo 'bob-secret' | "$BIN" users add -c "$conf" -u bob 2>/dev/null
[ "$(stat -c %a "$creds")" = 600 ] || { echo "credentials mode $(stat -c %a "$creds")"; exit 1; }
! grep -q 'alice pass\|bob-secret' "$creds" || { echo "a password in the file"; exit 1; }
grep -q '^alice SCRAM-SHA-512 salt=[A-Za-z0-9+/=]*,stored_key=.*,server_key=.*,iterations=4096$' \
    "$creds" || { cat "$creds"; exit 1; }
"$BIN" users list --config "$conf" > "$dir/list"
printf 'alice SCRAM-SHA-512 iterations=4096\nbob SCRAM-SHA-256 iterations=4096\nbob SCRAM-SHA-512 iterations=4096\n' |
    cmp -s - "$dir/list" || { echo "list:"; cat "$dir/list"; exit 1; }
expect 0 'set for carol' -- "$BIN" users add --config "$conf" --user carol --password x \
    --mechanism SCRAM-SHA-256 --iterations 8192
expect 0 '^carol SCRAM-SHA-256 iterations=8192$' -- "$BIN" users list --config "$conf"
expect 0 "deleted bob's SCRAM-SHA-256 credential" -- "$BIN" users delete --config "$conf" \
    --user bob --mechanism SCRAM-SHA-256
expect 0 '^bob SCRAM-SHA-512' -- "$BIN" users list --config "$conf"
expect 0 "deleted carol's SCRAM credentials" -- "$BIN" users delete --config "$conf" --user carol
! grep -q '^carol ' "$creds" || { echo "carol still there"; exit 1; }
expect 1 'user carol has no SCRAM credential' -- "$BIN" users delete --config "$conf" --user carol
echo "ok: add, list, delete"

# ---- errors --------------------------------------------------------------------
expect 2 'which action' -- "$BIN" users --config "$conf"
expect 2 'unknown action' -- "$BIN" users rename --config "$conf"
expect 2 '--config BROKER.properties is required' -- "$BIN" users list
expect 2 '--user is required' -- "$BIN" users add --config "$conf" --password x
expect 2 'SCRAM-SHA-256' -- "$BIN" users add --config "$conf" --user x --password x --mechanism MD5
expect 2 'iterations' -- "$BIN" users add --config "$conf" --user x --password x --iterations 10
expect 1 'non-ASCII' -- "$BIN" users add --config "$conf" --user x --password "caf$(printf '\303\251')"
expect 1 'space' -- "$BIN" users add --config "$conf" --user 'two words' --password x
expect 1 'no password on standard input' -- "$BIN" users add --config "$conf" --user x
echo 'log.dirs=/nowhere' > "$dir/bare.properties"
expect 1 'sasl.credentials.file is not set' -- "$BIN" users list --config "$dir/bare.properties"
expect 1 'nope.properties' -- "$BIN" users list --config "$dir/nope.properties"
echo "ok: errors"

# ---- parallel adds all land (a lock file serialises the rewrites) ---------------
i=0
while [ $i -lt 8 ]; do
    "$BIN" users add --config "$conf" --user "user$i" --password "pw$i" \
        --mechanism SCRAM-SHA-256 2>/dev/null &
    i=$((i + 1))
done
wait
[ "$("$BIN" users list --config "$conf" | grep -c '^user[0-7] ')" = 8 ] ||
    { "$BIN" users list --config "$conf"; echo "parallel adds lost some"; exit 1; }
echo "ok: parallel adds"

# ---- a running broker follows the file ------------------------------------------
start_broker
login() { # USER PASSWORD: 0 when a SCRAM-SHA-512 login on SASL_SSL works
    kcat_sasl SASL_SSL SCRAM-SHA-512 "$1" "$2" -- -L -m 5 > /dev/null 2>&1
}
login alice 'alice pass' || { echo "alice cannot log in"; exit 1; }
! login dave dave-1 || { echo "dave logged in before being added"; exit 1; }
"$BIN" users add --config "$conf" --user dave --password dave-1 --mechanism SCRAM-SHA-512 2>/dev/null
login dave dave-1 || { echo "dave cannot log in after add"; exit 1; }
"$BIN" users add --config "$conf" --user dave --password dave-2 --mechanism SCRAM-SHA-512 2>/dev/null
! login dave dave-1 || { echo "dave's old password still works"; exit 1; }
login dave dave-2 || { echo "dave's new password does not work"; exit 1; }
"$BIN" users delete --config "$conf" --user dave 2>/dev/null
! login dave dave-2 || { echo "dave logged in after delete"; exit 1; }
expect_log 'for user dave: unknown user'
stop_broker
echo "users-cli: ok"
