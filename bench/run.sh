#!/usr/bin/env bash
# npm run bench [-- --records N] [-- --sizes 1000000,5000000] [-- --dataset ID]
# Each case runs in its own process, so the peak RSS it reports is that case's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
records=1000000 sizes="" dataset=ajo_message_feedback_event_dataset seed=bench
while [ $# -gt 0 ]; do
	case "$1" in
		--records) records=$2; shift 2 ;;
		--sizes) sizes=$2; shift 2 ;;
		--dataset) dataset=$2; shift 2 ;;
		--seed) seed=$2; shift 2 ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
sizes=${sizes:-$records}
root=.tmp/bench
mkdir -p "$root"
results="$root/results-$$.jsonl"
: > "$results"
tsx() { node --import tsx "$@"; }
for n in ${sizes//,/ }; do
	lake=$(tsx bench/bench.ts prepare "$n" "$dataset" "$seed" | tail -n 1)
	out="$root/out-$$"
	tsx bench/case.ts floor "$n" "$seed" - - "$dataset" | sed "s/^{/{\"size\":$n,\"name\":\"floor: NDJSON + node:zlib gzip\",/" >> "$results"
	for format in json/gzip parquet/snappy; do
		ft=${format%/*} codec=${format#*/}
		tsx bench/case.ts encode-only "$lake" - "$ft" "$codec" "$dataset" | sed "s|^{|{\"size\":$n,\"name\":\"encoder only: $format\",|" >> "$results"
		tsx bench/case.ts export "$lake" "$out" "$ft" "$codec" "$dataset" | sed "s|^{|{\"size\":$n,\"name\":\"export → local folder: $format\",|" >> "$results"
		rm -rf "$out"
	done
done
tsx bench/bench.ts report "$results" "$dataset"
