#!/usr/bin/env bash
# Grouper's reference benchmark. Usage: bench/run.sh [MB ...]   (default: 100)
# For each size: generates a skewed CSV with one group larger than the budget, then measures in the same
# run Grouper's build, DuckDB's equivalent COPY ... ORDER BY, and the disk (cat + cp of the same bytes).
# Env: BUDGET_MB (default 256), THREADS (DuckDB threads, default 2), KEEP=1 keeps the generated data.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(100)
budget=${BUDGET_MB:-256}
threads=${THREADS:-2}
data="$here/data"; results="$here/results"
mkdir -p "$data" "$results"

dotnet build "$here/Grouper.Bench/Grouper.Bench.csproj" -c Release -o "$here/data/bin" -v quiet -nologo >/dev/null
bench() { dotnet "$here/data/bin/Grouper.Bench.dll" "$@"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

table="$results/latest.md"
{
  echo "# Grouper benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1). Budget ${budget} MB; DuckDB threads ${threads}."
  echo
  echo "| input MB | tool | wall s | peak RSS MB | MB/s | time vs DuckDB | RSS vs DuckDB | time vs disk |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
} > "$table"

for mb in "${sizes[@]}"; do
  csv="$data/input-${mb}MB.csv"
  [ -f "$csv" ] || bench gen --mb "$mb" --out "$csv" --budget-mb "$budget" >/dev/null
  bytes=$(stat -c %s "$csv"); real_mb=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}')
  sync
  # The disk's limit: read the input once and write the same bytes once.
  t0=$(date +%s.%N); cat "$csv" > /dev/null; cp "$csv" "$data/copy.tmp"; sync; t1=$(date +%s.%N)
  rm -f "$data/copy.tmp"
  disk=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')

  rm -rf "$data/out-grouper" "$data/out-duck.parquet"
  g=$(bench grouper --in "$csv" --out "$data/out-grouper" --budget-mb "$budget" | grep '^RESULT') || { echo "Grouper failed on $csv" >&2; exit 1; }
  gw=$(field wall_s "$g"); gr=$(field rss_peak_mb "$g"); gn=$(field records "$g")
  awk -v mb="$real_mb" -v gw="$gw" -v gr="$gr" -v disk="$disk" 'BEGIN{
    printf "| %d | cat+cp | %.2f | | %.1f | | | 1.00x |\n", mb, disk, mb/disk }' >> "$table"
  # DuckDB may fail where Grouper does not (out of memory under the same budget): that is a result too.
  if d=$(bench duckdb --in "$csv" --out "$data/out-duck.parquet" --budget-mb "$budget" --threads "$threads" 2>"$data/duck.err" | grep '^RESULT'); then
    dw=$(field wall_s "$d"); dr=$(field rss_peak_mb "$d"); dn=$(field records "$d")
    if [ "$gn" != "$dn" ]; then echo "record counts differ: grouper $gn, duckdb $dn" >&2; exit 1; fi
    awk -v mb="$real_mb" -v gw="$gw" -v gr="$gr" -v dw="$dw" -v dr="$dr" -v disk="$disk" 'BEGIN{
      printf "| %d | grouper | %.2f | %.0f | %.1f | %.2fx | %.2fx | %.2fx |\n", mb, gw, gr, mb/gw, gw/dw, gr/dr, gw/disk;
      printf "| %d | duckdb | %.2f | %.0f | %.1f | 1.00x | 1.00x | %.2fx |\n", mb, dw, dr, mb/dw, dw/disk }' >> "$table"
  else
    why=$(grep -m1 -oE '[A-Za-z ]*Error: [^(]*' "$data/duck.err" | head -c 120)
    awk -v mb="$real_mb" -v gw="$gw" -v gr="$gr" -v disk="$disk" 'BEGIN{
      printf "| %d | grouper | %.2f | %.0f | %.1f | n/a | n/a | %.2fx |\n", mb, gw, gr, mb/gw, gw/disk }' >> "$table"
    echo "| $real_mb | duckdb | failed: ${why:-see duck.err} | | | | | |" >> "$table"
  fi
  rm -rf "$data/out-duck.parquet.tmp" "$data/duck.err"
  rm -rf "$data/out-grouper" "$data/out-duck.parquet"
  [ "${KEEP:-0}" = 1 ] || rm -f "$csv"
done
cat "$table"
