#!/usr/bin/env bash
# relkpi benchmark (issue "Scale"): for each size, times in one run
#   generate   the synthetic ServiceNow export set (relkpi generate)
#   floor      DuckDB's own read_csv of the same files into plain tables
#   import     relkpi import of the same files (the ratio to the floor is printed)
#   kpi-1m     all KPIs for one month
#   kpi-24m    all KPIs for 24 months (one period of 24 months)
#   report     the full monthly report (12 months of trend, charts, review cards)
#   verify     the KPIs of kpi-1m and kpi-24m again, through the attribution
#              macros with the derived tables bypassed (attribution.materialize
#              = false): the benchmark fails unless they are identical, so a
#              time is never reported for wrong numbers
#   refresh    a monthly refresh: relkpi import of a later export (generate
#              --delta: 45,500 new changes and 4,550 closed again, about 50,000
#              change records, with their releases, incidents and answers) into
#              the warehouse, derived tables refreshed (not rebuilt); then
#   verify2    the 24-month KPIs from the refreshed derived tables against the
#              macros', as verify (not timed against a target)
# with wall time and peak memory from GNU time (/usr/bin/time -v).
#
# Usage: scripts/bench.sh [SIZES...]        (default: 100000 1000000 10000000 changes)
#   RELKPI=path/to/relkpi  use this binary (default: a release build, built here)
#   BENCH_DIR=folder       where the data and warehouses go (default: /tmp/relkpi-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("${@:-100000 1000000 10000000}")
[ $# -eq 0 ] && SIZES=(100000 1000000 10000000)
if [ -z "${RELKPI:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/relkpi-target}"
  cargo build --release --locked >&2
  RELKPI="$CARGO_TARGET_DIR/release/relkpi"
fi
BENCH_DIR="${BENCH_DIR:-/tmp/relkpi-bench}"
mkdir -p "$BENCH_DIR"
RESULTS="$BENCH_DIR/results.tsv"
printf 'changes\tstep\twall_s\tpeak_mb\n' > "$RESULTS"

# run SIZE STEP CMD...: time one step, append to the results
run() {
  local size=$1 step=$2; shift 2
  local log="$BENCH_DIR/$size-$step.time"
  if ! /usr/bin/time -v -o "$log" "$@" > "$BENCH_DIR/$size-$step.out" 2> "$BENCH_DIR/$size-$step.err"; then
    echo "step $step at $size failed; see $BENCH_DIR/$size-$step.err" >&2
    tail -5 "$BENCH_DIR/$size-$step.err" >&2
    exit 1
  fi
  local wall peak
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  peak=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  printf '%s\t%s\t%s\t%s\n' "$size" "$step" "$wall" "$peak" >> "$RESULTS"
  printf '%10s  %-9s %9.2f s %7s MB\n' "$size" "$step" "$wall" "$peak" >&2
}

# same A B: the two KPI outputs agree, numbers to 9 decimals (a mean summed in
# parallel by DuckDB can differ in its 16th digit from one run to the next).
same() {
  local norm='s/(-?\d+\.\d{10,})/sprintf("%.9f", $1)/ge'
  cmp -s <(perl -pe "$norm" "$1") <(perl -pe "$norm" "$2")
}

for n in "${SIZES[@]}"; do
  data="$BENCH_DIR/data-$n"; db="$BENCH_DIR/w-$n.duckdb"; floor="$BENCH_DIR/floor-$n.duckdb"
  rm -rf "$data" "$db" "$db.wal" "$floor" "$floor.wal" "$BENCH_DIR/report-$n"
  delta="${BENCH_DELTA:-45500}"; [ "$delta" -gt $((n / 10)) ] && delta=$((n / 20))
  run "$n" generate "$RELKPI" -q generate --changes "$n" --delta "$delta" --out "$data"
  files=("$data/change_request.csv" "$data/incident.csv" "$data/rm_release.csv" "$data/satisfaction.csv")
  # The floor: DuckDB reading the same CSV files into plain tables, nothing else.
  floor_cmd="set -e"
  for t in 0 1 2 3; do
    floor_cmd="$floor_cmd; \"$RELKPI\" -q --db \"$floor\" sql --write \"create table t$t as select * from read_csv('${files[$t]}')\""
  done
  run "$n" floor sh -c "$floor_cmd"
  run "$n" import "$RELKPI" -q --db "$db" import "${files[@]}"
  run "$n" kpi-1m "$RELKPI" -q --db "$db" kpi --period 2025-06 --format csv
  run "$n" kpi-24m "$RELKPI" -q --db "$db" kpi --from 2024-01-01 --to 2026-01-01 --format csv
  run "$n" report "$RELKPI" -q --db "$db" report --period 2025-06 --out "$BENCH_DIR/report-$n"
  printf '[attribution]\nmaterialize = false\n' > "$BENCH_DIR/macros.toml"
  verify_cmd="set -e; \"$RELKPI\" -q --db \"$db\" --config \"$BENCH_DIR/macros.toml\" kpi --period 2025-06 --format csv > \"$BENCH_DIR/$n-verify-1m.out\""
  verify_cmd="$verify_cmd; \"$RELKPI\" -q --db \"$db\" --config \"$BENCH_DIR/macros.toml\" kpi --from 2024-01-01 --to 2026-01-01 --format csv > \"$BENCH_DIR/$n-verify-24m.out\""
  run "$n" verify sh -c "$verify_cmd"
  for m in 1m 24m; do
    if ! same "$BENCH_DIR/$n-kpi-$m.out" "$BENCH_DIR/$n-verify-$m.out"; then
      echo "at $n changes the KPIs ($m) from the derived tables differ from the macros':" >&2
      diff "$BENCH_DIR/$n-kpi-$m.out" "$BENCH_DIR/$n-verify-$m.out" >&2 || true
      exit 1
    fi
  done
  echo "$n: the KPIs from the derived tables equal the macros' (1 and 24 months)" >&2
  run "$n" refresh "$RELKPI" -v --db "$db" import "$data/delta/change_request.csv" "$data/delta/incident.csv" \
    "$data/delta/rm_release.csv" "$data/delta/satisfaction.csv"
  if ! grep -q 'derived tables refreshed' "$BENCH_DIR/$n-refresh.err"; then
    echo "at $n changes the refresh rebuilt the derived tables instead of refreshing them:" >&2
    grep 'derived tables' "$BENCH_DIR/$n-refresh.err" >&2 || true
    exit 1
  fi
  verify_cmd="set -e; \"$RELKPI\" -q --db \"$db\" kpi --from 2024-01-01 --to 2026-01-01 --format csv > \"$BENCH_DIR/$n-refreshed-24m.out\""
  verify_cmd="$verify_cmd; \"$RELKPI\" -q --db \"$db\" --config \"$BENCH_DIR/macros.toml\" kpi --from 2024-01-01 --to 2026-01-01 --format csv > \"$BENCH_DIR/$n-refreshed-macros-24m.out\""
  run "$n" verify2 sh -c "$verify_cmd"
  if ! same "$BENCH_DIR/$n-refreshed-24m.out" "$BENCH_DIR/$n-refreshed-macros-24m.out"; then
    echo "at $n changes the KPIs from the refreshed derived tables differ from the macros':" >&2
    diff "$BENCH_DIR/$n-refreshed-24m.out" "$BENCH_DIR/$n-refreshed-macros-24m.out" >&2 || true
    exit 1
  fi
  if same "$BENCH_DIR/$n-kpi-24m.out" "$BENCH_DIR/$n-refreshed-24m.out"; then
    echo "at $n changes the refresh changed no KPI: the delta did not reach the warehouse" >&2
    exit 1
  fi
  echo "$n: after the refresh, the KPIs from the derived tables equal the macros' (24 months)" >&2
done

echo
awk -F'\t' 'NR > 1 { w[$1 "," $2] = $3; m[$1 "," $2] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
END {
  printf "| changes | step | wall s | peak MB | vs floor |\n|---:|---|---:|---:|---:|\n"
  for (i = 1; i <= k; i++) {
    n = order[i]
    split("generate floor import kpi-1m kpi-24m report verify refresh verify2", steps, " ")
    for (j = 1; j <= 9; j++) {
      s = steps[j]; if (!((n "," s) in w)) continue
      ratio = (s == "import" && w[n ",floor"] > 0) ? sprintf("%.2fx", w[n ",import"] / w[n ",floor"]) : ""
      if (s == "refresh" && w[n ",import"] > 0) ratio = sprintf("%.1f%% of import", 100 * w[n ",refresh"] / w[n ",import"])
      printf "| %s | %s | %.2f | %s | %s |\n", n, s, w[n "," s], m[n "," s], ratio
    }
  }
}' "$RESULTS"
