#!/usr/bin/env bash
# Start the services the integration tests use: PostgreSQL 15 on 127.0.0.1:5432 (with the
# labdesk role and the labdesk_test database) and the CUPS scheduler. Idempotent; run as root.
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"

# pg_ctl starts the server with stdin from /dev/null as the postgres user: a /dev/null that
# is not a world-writable character device (left so by some earlier run as root) stops it.
if [ ! -c /dev/null ] || [ "$(stat -c %a /dev/null)" != "666" ]; then
    echo "/dev/null: was $(stat -c '%F %a' /dev/null 2>&1); restoring it"
    rm -f /dev/null
    mknod -m 666 /dev/null c 1 3
fi

echo "postgresql: starting cluster ${PG_VERSION}/${PG_CLUSTER}"
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" \
        '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >/dev/null
fi
# pg_ctlcluster may report "failed" when the cluster is already up: judge by pg_isready.
pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start 2>&1 || true

ready=0
for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1; then
        ready=1
        break
    fi
    sleep 0.5
done
if [ "$ready" -ne 1 ]; then
    echo "postgresql: server did not become ready on 127.0.0.1:5432" >&2
    pg_lsclusters >&2 || true
    tail -n 30 "/var/log/postgresql/postgresql-${PG_VERSION}-${PG_CLUSTER}.log" >&2 || true
    exit 1
fi
echo "postgresql: ready"

psql_admin() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tA "$@"
}
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'labdesk'")" != "1" ]; then
    psql_admin -c "CREATE ROLE labdesk LOGIN PASSWORD 'labdesk' SUPERUSER"
    echo "postgresql: created role labdesk"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'labdesk_test'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE labdesk_test OWNER labdesk"
    echo "postgresql: created database labdesk_test"
fi

echo "cups: starting scheduler"
mkdir -p /run/cups
if pgrep -x cupsd >/dev/null 2>&1; then
    echo "cups: already running"
else
    /usr/sbin/cupsd
    for _ in $(seq 1 20); do
        if lpstat -r 2>/dev/null | grep -q 'scheduler is running'; then
            break
        fi
        sleep 0.25
    done
fi
lpstat -r || true
