#!/usr/bin/env bash
# Figures of the data layer on the wire: `crmdb bench` on the database crm_bench of the
# embedded cluster (load it once with `crmdb bench --orgs 1000 --leads-per-org 1000`), at
# concurrency 1 and 2, directly and through a PgBouncer in transaction mode that this script
# starts on 127.0.0.1 (Debian's pgbouncer; it refuses to run as root, so it runs as nobody).
# Usage: scripts/measure-wire.sh [OUT_DIR]   (CRMDB_BIN, DURATION override the binary and
# the seconds per query and path)
set -euo pipefail
bin=${CRMDB_BIN:-target/release/crmdb}
duration=${DURATION:-5}
out=${1:-/tmp/measure-wire}
mkdir -p "$out"
su_url=$($bin up --no-demo | tail -1 | sed 's/^DATABASE_URL=//')
bench_url=${su_url%/crm}/crm_bench
# postgres://user:password@127.0.0.1:port/crm
creds=${su_url#postgres://}; creds=${creds%%@*}
user=${creds%%:*}; password=${creds#*:}
port=${su_url##*:}; port=${port%%/*}

pgb=$(mktemp -d /tmp/measure-wire-pgbouncer.XXXXXX)
pgb_port=6543
cat > "$pgb/pgbouncer.ini" <<INI
[databases]
crm_bench = host=127.0.0.1 port=$port dbname=crm_bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
auth_type = trust
auth_file = $pgb/users.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
ignore_startup_parameters = extra_float_digits,options
logfile = $pgb/pgbouncer.log
pidfile = $pgb/pgbouncer.pid
INI
printf '"%s" "%s"\n' "$user" "$password" > "$pgb/users.txt"
chown -R nobody "$pgb"
chmod 700 "$pgb"
runuser -u nobody -- /usr/sbin/pgbouncer -d "$pgb/pgbouncer.ini"
trap 'kill "$(cat "$pgb/pgbouncer.pid")" 2>/dev/null || true; rm -rf "$pgb"' EXIT
sleep 1
pooled_url="postgres://$user:$password@127.0.0.1:$pgb_port/crm_bench"

for concurrency in 1 2; do
  echo "--- direct, concurrency $concurrency"
  { $bin --database-url "$bench_url" bench --duration "$duration" --concurrency "$concurrency" 2>&1 \
      || echo "FAILED (exit $?)"; } | tee "$out/direct-c$concurrency.txt"
  echo "--- through PgBouncer (transaction mode), concurrency $concurrency"
  { $bin --database-url "$pooled_url" bench --duration "$duration" --concurrency "$concurrency" 2>&1 \
      || echo "FAILED (exit $?)"; } | tee "$out/pgbouncer-c$concurrency.txt"
done
