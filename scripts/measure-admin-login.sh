#!/usr/bin/env bash
# Figures of the managed-service path: migrate apply and seed demo --orgs 10 --leads-per-org 1000, as the
# superuser and as a managed-service-like admin login, on the PostgreSQL of $PG_BINDIR.
set -euo pipefail
bin=${CRMDB_BIN:-target/release/crmdb}
ver=$1; bindir=$2
home=/tmp/m$ver
export CRMDB_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
PG_BINDIR=$bindir $bin --home $home down --purge >/dev/null 2>&1 || true
su_url=$(PG_BINDIR=$bindir $bin --home $home up --no-demo | tail -1 | sed 's/^DATABASE_URL=//')
base=${su_url%/crm}
psql -X -q "$su_url" -c "CREATE ROLE mgr LOGIN CREATEDB CREATEROLE PASSWORD 'mgrpw'"
# `up` made the roles as the superuser; on 16+ a CREATEROLE login may grant only roles it
# holds WITH ADMIN OPTION, which it has for roles it created itself, as on a managed service
# where the admin's first `migrate apply` creates them.
psql -X -q "$su_url" -c "GRANT crm_owner, crm_app, crm_worker, crm_readonly TO mgr WITH ADMIN OPTION"
admin_base=$(echo "$base" | sed -E 's#//[^@]*@#//mgr:mgrpw@#')
psql -X -q "$su_url" -c "SELECT version()" -tA
for run in 1 2; do
  for who in superuser admin; do
    if [ $who = superuser ]; then b=$base; else b=$admin_base; fi
    db="m_${who}_$run"
    t1=$( { /usr/bin/time -f %e $bin --database-url "$b/$db" migrate apply >/dev/null; } 2>&1 | tail -1)
    t2=$( { /usr/bin/time -f %e $bin --database-url "$b/$db" seed demo --orgs 10 --leads-per-org 1000 >/dev/null; } 2>&1 | tail -1)
    echo "PG$ver run $run $who: migrate apply ${t1}s, seed demo 10x1000 ${t2}s"
  done
done
PG_BINDIR=$bindir $bin --home $home down --purge >/dev/null
