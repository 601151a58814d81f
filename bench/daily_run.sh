#!/usr/bin/env bash
# What a day costs: seed a CRM database at a scale, run the full pipeline from it, then play one day of
# business (`crm-db advance --days 1`) and run again, twice (the second daily run is the steady state), and
# read the same tables bare (PostgreSQL \copy to CSV, MariaDB `mysql --quick -B`) to compare with dlt.
# Wall time and peak memory per step from /usr/bin/time. Needs the servers of DESIGN.md (PostgreSQL
# 127.0.0.1:5432 user postgres, MariaDB 127.0.0.1:3306 root) and `make install`.
#   bench/daily_run.sh postgresql|mysql [scale, default 10]
set -euo pipefail
dialect=${1:?usage: bench/daily_run.sh postgresql|mysql [scale]}
scale=${2:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.venv/bin
out=${BENCH_OUT:-/tmp/salescope-daily-bench-$dialect}
db=crm_daily_bench
rm -rf "$out" && mkdir -p "$out"
case $dialect in
  postgresql)
    url=postgresql://postgres@127.0.0.1:5432/$db
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" ;;
  mysql)
    url=mysql+pymysql://root@127.0.0.1:3306/$db
    mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db" ;;
  *) echo "dialect must be postgresql or mysql" >&2; exit 2 ;;
esac
step() {  # step NAME command...: runs it, keeps its output in $out/NAME.log, prints wall and peak
  local name=$1; shift
  /usr/bin/time -f "$name: %e s wall, %M KB peak" -o "$out/$name.time" "$@" > "$out/$name.log" 2>&1
  cat "$out/$name.time"
}
step seed "$bin/salescope" crm-db seed --url "$url" --scale "$scale" --seed 42 --as-of 2026-06-30
step full "$bin/salescope" run --home "$out/salescope-home" --source "$url" --as-of 2026-06-30
for day in 1 2; do
  step "advance$day" "$bin/salescope" crm-db advance --url "$url" --days 1
  step "daily$day" "$bin/salescope" run --home "$out/salescope-home" --source "$url"
done
grep -h "extracted in" "$out"/salescope-home/logs/run-*.log | sed 's/.*crm_raw - /dlt: /'
tables=$("$bin/python" -c "from contract import ENTITIES; print(' '.join(e.name for e in ENTITIES))")
start=$(date +%s.%N)
for t in $tables; do
  if [ "$dialect" = postgresql ]; then
    psql -q -h 127.0.0.1 -U postgres -d $db -c "\\copy (SELECT * FROM $t) TO '/dev/null' WITH CSV"
  else
    mysql -h 127.0.0.1 -u root $db --quick -B -e "SELECT * FROM \`$t\`" > /dev/null
  fi
done
echo "bare read of the same tables: $(echo "$(date +%s.%N) - $start" | bc) s"
