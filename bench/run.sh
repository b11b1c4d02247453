#!/usr/bin/env bash
# Grouper's reference benchmark. Usage: bench/run.sh [SPEC ...]   (default: 100)
# SPEC is MB[:FORMAT[:GROUPS]]: FORMAT csv (default), jsonl, parquet (text columns), typed.parquet (the types
# DuckDB detects: a timestamp, a double), zstd.parquet (the same, Zstd-compressed), int96.parquet (the same, its
# timestamps INT96 as Spark writes them, by Arrow's writer), nested.parquet (the typed file with a list column
# of two strings) or maps.parquet (the typed file with a map and a list of structs); GROUPS skewed (default: Zipf sizes
# plus one group larger than the budget) or tiny (millions of two-record groups). Examples: 1000,
# 1000:jsonl, 1000:parquet, 1000:csv:tiny.
# For each: generates the input, then measures in the same run Grouper's build, DuckDB's equivalent
# COPY ... ORDER BY, the disk (cat + cp of the same bytes), and the read side: streaming all groups of
# Grouper's output against DuckDB scanning the same shards, and fetch-by-key latency (cold and warm).
# Env: BUDGET_MB (default 256), THREADS (DuckDB threads, default 2), KEEP=1 keeps the generated data,
# READY_TO_RUN=0 runs Grouper as plain IL (the module ships ReadyToRun code for the platform it is built on),
# REPEAT (default 3): copies in a row, then rounds of one Grouper build and one DuckDB build (and of the
# three scans), interleaved so that the machine's drift falls on both tools alike; the table shows the
# median wall time and the largest peak RSS (a shared virtual machine varies by 10-40% over minutes).
# PWSH=0 leaves out the build through the cmdlet (New-GroupedDataset in a PowerShell engine, the module assembled
# as a user installs it: bench/Grouper.Bench.Host), measured in the same rounds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(100)
budget=${BUDGET_MB:-256}
threads=${THREADS:-2}
repeat=${REPEAT:-3}
data="$here/data"; results="$here/results"
mkdir -p "$data" "$results"

# Published with ReadyToRun code, as the module is assembled (see src/Grouper.PowerShell); READY_TO_RUN=0: plain IL.
rid=$(dotnet --info | awk '/RID:/ {print $2; exit}')
rm -rf "$here/data/bin"
dotnet publish "$here/Grouper.Bench/Grouper.Bench.csproj" -c Release -r "$rid" --self-contained false \
  -p:PublishReadyToRun=$([ "${READY_TO_RUN:-1}" = 1 ] && echo true || echo false) -o "$here/data/bin" -v quiet -nologo >/dev/null
bench() { dotnet "$here/data/bin/Grouper.Bench.dll" "$@"; }
# The module assembled in Release, as build.ps1 assembles it (ReadyToRun), into its own folder, and the engine's host.
pwsh_on=${PWSH:-1}
if [ "$pwsh_on" = 1 ]; then
  rm -rf "$here/data/module" "$here/data/host"
  dotnet build "$here/../src/Grouper.PowerShell/Grouper.PowerShell.csproj" -c Release -p:ModuleOut="$here/data/module/Grouper/" -v quiet -nologo >/dev/null
  dotnet publish "$here/Grouper.Bench.Host/Grouper.Bench.Host.csproj" -c Release -r "$rid" --self-contained false \
    -p:PublishReadyToRun=true -o "$here/data/host" -v quiet -nologo >/dev/null
fi
cmdlet() { dotnet "$here/data/host/Grouper.Bench.Host.dll" --module "$here/data/module/Grouper/Grouper.psd1" "$@" 2>>"$data/bench.err" | grep '^RESULT'; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# Reduces RESULT lines (stdin) of repeated runs to one: wall_s, every rate (..._per_s) and latency
# (..._ms) by the median, rss_peak_mb by the largest, other fields as the last run gave them.
reduce() {
  awk '
    { for (f = 2; f <= NF; f++) { split($f, kv, "="); k = kv[1]; cnt[k]++; val[k, cnt[k]] = kv[2]; if (NR == 1) order[f] = k } nf = NF }
    function median(k,   m, a, i, j, t) {
      m = cnt[k]; for (i = 1; i <= m; i++) a[i] = val[k, i] + 0
      for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
      out = "RESULT"
      for (f = 2; f <= nf; f++) {
        k = order[f]
        if (k == "wall_s" || k ~ /_per_s$/ || k ~ /_ms$/) v = median(k)
        else if (k == "rss_peak_mb") { v = 0; for (i = 1; i <= cnt[k]; i++) if (val[k, i] + 0 > v) v = val[k, i] + 0 }
        else v = val[k, cnt[k]]
        out = out " " k "=" v
      }
      print out
    }'
}
# One run of a bench subcommand: its RESULT line, or failure.
once() {
  local line
  line=$(bench "$@" 2>>"$data/bench.err" | grep '^RESULT') || return 1
  [ -n "$line" ] || return 1
  printf '%s\n' "$line"
}
table="$results/latest.md"
{
  echo "# Grouper benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1). Budget ${budget} MB; DuckDB threads ${threads}."
  # Grouper uses these system libraries where they are installed (managed ones with the same output elsewhere), and is faster with them.
  # grep reads ldconfig's whole list (not -q): under pipefail, ldconfig cut off by an early exit failed the test.
  syslibs=$(for l in liblz4.so.1 libxxhash.so.0 libsnappy.so.1 libzstd.so.1; do ldconfig -p 2>/dev/null | grep "$l " >/dev/null && printf '%s, ' "$l"; done)
  syslibs=${syslibs%, }
  echo "System libraries Grouper uses here: ${syslibs:-none (managed LZ4 and xxHash3)}."
  echo
  echo "| input | tool | wall s | peak RSS MB | MB/s | time vs DuckDB | RSS vs DuckDB | time vs disk |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
} > "$table"

reads="$results/reads.md"
{
  echo
  echo "| input | Grouper records/s (ScanBatches) | groups/s | DuckDB records/s (same shards) | Grouper/DuckDB | Grouper records/s (ReadBatches per group) | groups | fetch p50 cold ms | p99 cold | p50 warm | p99 warm | records/s in pwsh (Get-Group \\| Get-GroupRecord, first 1 M) | records/s in pwsh (Get-GroupRecord DATASET, first 1 M) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$reads"

libs="$results/parquetlib.md"
{
  echo
  echo "| rows (6 text columns) | rows per row group | Parquet.Net write s | ParquetSharp write s | Parquet.Net read text s | ParquetSharp read text s | file MB (Parquet.Net / ParquetSharp) |"
  echo "|---:|---:|---:|---:|---:|---:|---|"
} > "$libs"

for spec in "${sizes[@]}"; do
  IFS=: read -r mb fmt groups <<<"$spec"; fmt=${fmt:-csv}; groups=${groups:-skewed}
  label="${mb} MB ${fmt} ${groups}"
  csv="$data/input-${mb}MB-${groups}.${fmt}"
  [ -f "$csv" ] || bench gen --mb "$mb" --out "$csv" --budget-mb "$budget" --format "$fmt" --groups "$groups" >/dev/null
  bytes=$(stat -c %s "$csv"); real_mb=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}'); label="${real_mb} MB ${fmt} ${groups}"
  # The disk's limit: read the input once and write the same bytes once, REPEAT copies in a row. The first
  # copy reads the input from the disk when the page cache no longer holds it (up to 3x as long): it is shown
  # beside the median, which is measured like the tools, on a cached input. The copies after the first also
  # write into the page-cache pages the copy before gave back, which a new file's pages cost on this kind of
  # virtual machine: the strictest baseline (interleaved with the builds, the copies lost that and the builds
  # gained it).
  copies=()
  for ((i = 0; i < repeat; i++)); do
    sync
    t0=$(date +%s.%N); cat "$csv" > /dev/null; cp "$csv" "$data/copy.tmp"; sync; t1=$(date +%s.%N)
    rm -f "$data/copy.tmp"
    copies+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')")
  done
  # Grouper and DuckDB in REPEAT rounds of one build each: this machine's speed drifts over minutes, and
  # interleaving puts the drift on both tools alike. Each tool's previous output goes just before its build.
  glines=() dlines=() plines=(); duck_ok=1
  rm -f "$data/bench.err"
  for ((i = 0; i < repeat; i++)); do
    if [ "$pwsh_on" = 1 ]; then
      rm -rf "$data/out-pwsh"
      plines+=("$(cmdlet --in "$csv" --out "$data/out-pwsh" --budget-mb "$budget")") || { echo "New-GroupedDataset failed on $csv (see $data/bench.err)" >&2; exit 1; }
      rm -rf "$data/out-pwsh"
    fi
    rm -rf "$data/out-grouper"
    glines+=("$(once grouper --in "$csv" --out "$data/out-grouper" --budget-mb "$budget")") || { echo "Grouper failed on $csv (see $data/bench.err)" >&2; exit 1; }
    if [ "$duck_ok" = 1 ]; then
      rm -rf "$data/out-duck.parquet"
      if line=$(once duckdb --in "$csv" --out "$data/out-duck.parquet" --budget-mb "$budget" --threads "$threads"); then dlines+=("$line")
      else duck_ok=0; fi
      rm -rf "$data/out-duck.parquet.tmp"
    fi
  done
  disk=$(printf '%s\n' "${copies[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  g=$(printf '%s\n' "${glines[@]}" | reduce)
  gw=$(field wall_s "$g"); gr=$(field rss_peak_mb "$g"); gn=$(field records "$g")
  # The cmdlet's build: its wall time and peak, and what the engine held before it (its largest).
  pw="" pr="" pe=""
  if [ "$pwsh_on" = 1 ]; then
    p=$(printf '%s\n' "${plines[@]}" | reduce)
    pw=$(field wall_s "$p"); pr=$(field rss_peak_mb "$p"); pn=$(field records "$p")
    pe=$(printf '%s\n' "${plines[@]}" | sed -n 's/.*engine_rss_mb=\([0-9]*\).*/\1/p' | sort -n | tail -1)
    if [ "$gn" != "$pn" ]; then echo "record counts differ: grouper $gn, New-GroupedDataset $pn" >&2; exit 1; fi
  fi
  export label pw pr pe
  awk -v mb="$real_mb" -v gw="$gw" -v gr="$gr" -v disk="$disk" -v first="${copies[0]}" 'BEGIN{
    printf "| %s | cat+cp (first copy %.2f s) | %.2f | | %.1f | | | 1.00x |\n", ENVIRON["label"], first, disk, mb/disk }' >> "$table"
  # DuckDB may fail where Grouper does not (out of memory under the same budget): that is a result too.
  if [ "$duck_ok" = 1 ]; then
    d=$(printf '%s\n' "${dlines[@]}" | reduce)
    dw=$(field wall_s "$d"); dr=$(field rss_peak_mb "$d"); dn=$(field records "$d")
    if [ "$gn" != "$dn" ]; then echo "record counts differ: grouper $gn, duckdb $dn" >&2; exit 1; fi
    awk -v mb="$real_mb" -v gw="$gw" -v gr="$gr" -v dw="$dw" -v dr="$dr" -v disk="$disk" 'BEGIN{
      printf "| %s | grouper | %.2f | %.0f | %.1f | %.2fx | %.2fx | %.2fx |\n", ENVIRON["label"], gw, gr, mb/gw, gw/dw, gr/dr, gw/disk;
      if (ENVIRON["pw"] != "") { pw = ENVIRON["pw"]; pr = ENVIRON["pr"]
        printf "| %s | grouper in pwsh (engine %s MB) | %.2f | %.0f | %.1f | %.2fx | %.2fx | %.2fx |\n", ENVIRON["label"], ENVIRON["pe"], pw, pr, mb/pw, pw/dw, pr/dr, pw/disk }
      printf "| %s | duckdb | %.2f | %.0f | %.1f | 1.00x | 1.00x | %.2fx |\n", ENVIRON["label"], dw, dr, mb/dw, dw/disk }' >> "$table"
  else
    why=$(grep -m1 -oE '[A-Za-z ]*Error: [^(]*' "$data/bench.err" | head -c 120)
    awk -v mb="$real_mb" -v gw="$gw" -v gr="$gr" -v disk="$disk" 'BEGIN{
      printf "| %s | grouper | %.2f | %.0f | %.1f | n/a | n/a | %.2fx |\n", ENVIRON["label"], gw, gr, mb/gw, gw/disk
      if (ENVIRON["pw"] != "") printf "| %s | grouper in pwsh (engine %s MB) | %.2f | %.0f | %.1f | n/a | n/a | %.2fx |\n", ENVIRON["label"], ENVIRON["pe"], ENVIRON["pw"], ENVIRON["pr"], mb/ENVIRON["pw"], ENVIRON["pw"]/disk }' >> "$table"
    echo "| $label | duckdb | failed: ${why:-see bench.err} | | | | | |" >> "$table"
  fi

  # The read side, on Grouper's output.
  # In rounds too: Grouper's scan, its group-by-group scan, DuckDB's scan of the same shards.
  scl=() spl=() dsl=()
  for ((i = 0; i < repeat; i++)); do
    scl+=("$(once scan --in "$data/out-grouper")") || { echo "scan failed (see $data/bench.err)" >&2; exit 1; }
    spl+=("$(once scan --in "$data/out-grouper" --api per-group)") || { echo "scan failed (see $data/bench.err)" >&2; exit 1; }
    dsl+=("$(once duckscan --in "$data/out-grouper" --threads "$threads")") || { echo "duckscan failed (see $data/bench.err)" >&2; exit 1; }
  done
  sc=$(printf '%s\n' "${scl[@]}" | reduce); sp=$(printf '%s\n' "${spl[@]}" | reduce); ds=$(printf '%s\n' "${dsl[@]}" | reduce)
  fe=$(bench fetch --in "$data/out-grouper" --n 1000 | grep '^RESULT')
  # What a pwsh script reading the dataset gets: every record an object through the pipeline, group by group
  # from Get-Group and in one scan (once each: it is slow).
  pr_rate=""; pw_rate=""
  if [ "$pwsh_on" = 1 ]; then
    pl=$(dotnet "$here/data/host/Grouper.Bench.Host.dll" --module "$here/data/module/Grouper/Grouper.psd1" --read "$data/out-grouper" --limit 1000000 2>>"$data/bench.err" | grep '^RESULT') || { echo "Get-GroupRecord failed (see $data/bench.err)" >&2; exit 1; }
    pr_rate=$(field records_per_s "$pl")
    pl=$(dotnet "$here/data/host/Grouper.Bench.Host.dll" --module "$here/data/module/Grouper/Grouper.psd1" --read "$data/out-grouper" --limit 1000000 --whole 2>>"$data/bench.err" | grep '^RESULT') || { echo "Get-GroupRecord DATASET failed (see $data/bench.err)" >&2; exit 1; }
    pw_rate=$(field records_per_s "$pl")
  fi
  awk -v a="$(field records_per_s "$sc")" -v g="$(field groups_per_s "$sc")" -v d="$(field records_per_s "$ds")" -v n="$(field groups "$fe")" \
      -v c50="$(field cold_p50_ms "$fe")" -v c99="$(field cold_p99_ms "$fe")" -v w50="$(field warm_p50_ms "$fe")" -v w99="$(field warm_p99_ms "$fe")" \
      -v p="$(field records_per_s "$sp")" -v ps="${pr_rate:-n/a}" -v pw="${pw_rate:-n/a}" \
      'BEGIN{ printf "| %s | %.0f | %.0f | %.0f | %.2fx | %.0f | %d | %s | %s | %s | %s | %s | %s |\n", ENVIRON["label"], a, g, d, a/d, p, n, c50, c99, w50, w99, ps, pw }' >> "$reads"
  # The Parquet library, once, on the first output of 1 GB or more of text columns (a CSV's, JSON Lines' or the
  # text Parquet file's): Parquet.Net against ParquetSharp on Grouper's own rows (write all columns, read the
  # text column), at Grouper's row-group size and a large one.
  if [ -z "${libs_done:-}" ] && [ "$mb" -ge 1000 ] && [[ "$fmt" =~ ^(csv|jsonl|parquet)$ ]]; then
    libs_done=1
    for rgr in 4096 65536; do
      pl=$(bench parquetlib --in "$data/out-grouper" --rows 2000000 --row-group-rows "$rgr" | grep '^RESULT')
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(field records "$pl")" "$rgr" \
        "$(field parquetnet_write_s "$pl")" "$(field parquetsharp_write_s "$pl")" \
        "$(field parquetnet_read_text_s "$pl")" "$(field parquetsharp_read_text_s "$pl")" "$(field parquetnet_mb "$pl") / $(field parquetsharp_mb "$pl")" >> "$libs"
    done
  fi
  rm -rf "$data/out-grouper" "$data/out-duck.parquet"
  [ "${KEEP:-0}" = 1 ] || rm -f "$csv"
done
cat "$reads" >> "$table"
[ -n "${libs_done:-}" ] && cat "$libs" >> "$table"
cat "$table"
