#!/usr/bin/env bash
# A/B of two builds of Grouper, or of one build under two environments, on one input: pairs run in
# alternating order so that this machine's drift over minutes falls on both sides alike.
#
#   bench/ab.sh publish NAME            publish the bench, as run.sh does, into bench/data/NAME
#   bench/ab.sh N INPUT A B             N pairs; A and B are published names (bench/data/A, bench/data/B),
#                                       or ENV=value[,ENV=value] settings for the build in bench/data/bin,
#                                       or NAME+ENV=value[,ENV=value]: a published name under settings
#
# Prints each build's reading phase and its CPU, writing phase and its CPU (from GROUPER_BENCH_TRACE's
# reports), and wall time, then the medians of each side. A difference smaller than the spread of the pairs
# is no difference. BUDGET_MB changes the 256 MB budget.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/data"
mkdir -p "$data"

if [ "${1:-}" = publish ]; then
  name=${2:?usage: bench/ab.sh publish NAME}
  rid=$(dotnet --info | awk '/RID:/ {print $2; exit}')
  rm -rf "${data:?}/$name"
  dotnet publish "$here/Grouper.Bench/Grouper.Bench.csproj" -c Release -r "$rid" --self-contained false \
    -p:PublishReadyToRun=true -o "$data/$name" -v quiet -nologo >/dev/null
  echo "published to $data/$name"
  exit 0
fi

n=${1:?usage: bench/ab.sh N INPUT A B}; input=${2:?input}; a=${3:?A}; b=${4:?B}
budget=${BUDGET_MB:-256}
[ -f "$input" ] || input="$data/$input"
[ -f "$input" ] || { echo "no input $input" >&2; exit 1; }

# A side is a published name when bench/data/NAME holds the bench; otherwise environment settings.
# NAME+ENV=value[,ENV=value]: the published NAME under those settings.
binary() { local n=${1%%+*}; if [ -f "$data/$n/Grouper.Bench.dll" ]; then echo "$data/$n"; else echo "$data/bin"; fi; }
envs() {
  local n=${1%%+*} e=""; [ "$n" != "$1" ] && e=${1#*+}
  if [ -f "$data/$n/Grouper.Bench.dll" ]; then echo "AB_SIDE=$n $(tr ',' ' ' <<<"$e")"; else tr ',' ' ' <<<"$1"; fi
}
for side in "$a" "$b"; do
  [ -f "$(binary "$side")/Grouper.Bench.dll" ] || { echo "no bench in $(binary "$side"): bench/ab.sh publish NAME, or run.sh once" >&2; exit 1; }
done

out="$data/out-ab"
rows=$(mktemp)
trap 'rm -rf "$out" "$rows"' EXIT
for ((i = 0; i < n; i++)); do
  # Alternate which side goes first: the second build of a pair meets a warmer machine.
  if ((i % 2 == 0)); then order=("$a" "$b"); else order=("$b" "$a"); fi
  for side in "${order[@]}"; do
    rm -rf "$out"
    # shellcheck disable=SC2046
    env $(envs "$side") GROUPER_BENCH_TRACE=1 dotnet "$(binary "$side")/Grouper.Bench.dll" grouper \
      --in "$input" --out "$out" --budget-mb "$budget" 2>&1 | awk -v side="$side" '
        / Merging / && !m { m = $1; match($0, /cpu=[0-9.]+/); mc = substr($0, RSTART + 4, RLENGTH - 4) }
        / Writing / && !w { w = $1; match($0, /cpu=[0-9.]+/); wc = substr($0, RSTART + 4, RLENGTH - 5) }
        / Verifying / && !v { v = $1; match($0, /cpu=[0-9.]+/); vc = substr($0, RSTART + 4, RLENGTH - 5) }
        /^RESULT/ { match($0, /wall_s=[0-9.]+/); wall = substr($0, RSTART + 7, RLENGTH - 7) }
        END { gsub("s", "", m); gsub("s", "", w); gsub("s", "", v)
              printf "%s %.2f %.2f %.2f %.2f %.2f\n", side, m, mc, v - w, vc - wc, wall }' | tee -a "$rows"
  done
done
echo "--- medians over $n builds each: side reading reading-cpu writing writing-cpu wall"
awk '{ k = $1; c[k]++; for (f = 2; f <= 6; f++) v[k, f, c[k]] = $f }
  function med(k, f,   m, a, i, j, t) { m = c[k]; for (i = 1; i <= m; i++) a[i] = v[k, f, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
  END { for (k in c) printf "%s %.2f %.2f %.2f %.2f %.2f\n", k, med(k, 2), med(k, 3), med(k, 4), med(k, 5), med(k, 6) }' "$rows"
