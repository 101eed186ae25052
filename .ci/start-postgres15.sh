#!/usr/bin/env bash
# Start Debian's PostgreSQL 15 on 127.0.0.1 (a free port, password auth) for the second CI test pass.
# Prints exactly one line on stdout: the DATABASE_URL; everything else goes to stderr.
# Runs as root on a fresh Debian machine; installs postgresql-15 if missing. Re-running replaces the
# cluster it made before.
set -euo pipefail
exec 3>&1 1>&2

VERSION=15
CLUSTER=dsi_ci
BIN="/usr/lib/postgresql/$VERSION/bin"

if [[ ! -x "$BIN/postgres" ]] || ! command -v pg_createcluster >/dev/null; then
    echo "installing postgresql-$VERSION"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "postgresql-$VERSION" postgresql-common >/dev/null
fi

if pg_lsclusters -h 2>/dev/null | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
    pg_dropcluster --stop "$VERSION" "$CLUSTER"
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" \
    -- --auth-host=scram-sha-256 --auth-local=peer --encoding=UTF8 --locale=C.UTF-8 >/dev/null
cat > "/etc/postgresql/$VERSION/$CLUSTER/conf.d/zz-dsi-ci.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
pg_ctlcluster "$VERSION" "$CLUSTER" start 3>&-  # the server must not hold our stdout open

for _ in $(seq 1 100); do
    if runuser -u postgres -- "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.1
done
runuser -u postgres -- psql -q -p "$PORT" -d postgres -v ON_ERROR_STOP=1 \
    -c "ALTER ROLE postgres PASSWORD '$PASSWORD'" >/dev/null

echo "PostgreSQL $VERSION cluster $CLUSTER listening on 127.0.0.1:$PORT"
echo "postgresql://postgres:$PASSWORD@127.0.0.1:$PORT/postgres" >&3
