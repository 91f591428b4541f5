#!/usr/bin/env bash
# npm run bench [-- --records N] [-- --sizes 1000000,5000000] [-- --dataset ID] [-- --s3]
# --s3 also exports to S3 on a loopback Ceph RADOS Gateway (scripts/servers/ceph.sh).
# Each case runs in its own process, so the peak RSS it reports is that case's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
records=1000000 sizes="" dataset=ajo_message_feedback_event_dataset seed=bench s3=
while [ $# -gt 0 ]; do
	case "$1" in
		--records) records=$2; shift 2 ;;
		--sizes) sizes=$2; shift 2 ;;
		--dataset) dataset=$2; shift 2 ;;
		--seed) seed=$2; shift 2 ;;
		--s3) s3=1; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
sizes=${sizes:-$records}
root=.tmp/bench
mkdir -p "$root"
results="$root/results-$$.jsonl"
: > "$results"
tsx() { node --import tsx "$@"; }
if [ -n "$s3" ]; then
	bash scripts/servers/ceph.sh start
	trap 'bash scripts/servers/ceph.sh stop' EXIT
fi
for n in ${sizes//,/ }; do
	lake=$(tsx bench/bench.ts prepare "$n" "$dataset" "$seed" | tail -n 1)
	out="$root/out-$$"
	tsx bench/case.ts floor "$n" "$seed" - - "$dataset" | sed "s/^{/{\"size\":$n,\"name\":\"floor: NDJSON + node:zlib gzip\",/" >> "$results"
	for format in json/gzip parquet/snappy; do
		ft=${format%/*} codec=${format#*/}
		tsx bench/case.ts encode-only "$lake" - "$ft" "$codec" "$dataset" | sed "s|^{|{\"size\":$n,\"name\":\"encoder only: $format\",|" >> "$results"
		tsx bench/case.ts export "$lake" "$out" "$ft" "$codec" "$dataset" | sed "s|^{|{\"size\":$n,\"name\":\"export → local folder: $format\",|" >> "$results"
		rm -rf "$out"
		if [ -n "$s3" ]; then
			tsx bench/case.ts export-s3 "$lake" .tmp/servers/ceph/env.json "$ft" "$codec" "$dataset" | sed "s|^{|{\"size\":$n,\"name\":\"export → S3 (Ceph, loopback): $format\",|" >> "$results"
		fi
	done
done
tsx bench/bench.ts report "$results" "$dataset"
