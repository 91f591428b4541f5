#!/usr/bin/env bash
# npm run bench [-- --records N] [-- --sizes 1000000,5000000] [-- --dataset ID] [-- --s3] [-- --no-postgres]
# --s3 also exports to S3 on a loopback Ceph RADOS Gateway (scripts/servers/ceph.sh), and reads the
# same lake from a bucket there (the lake copied once) into a local folder.
# PostgreSQL (scripts/servers/postgres.sh): a table of N rows exported as Parquet and NDJSON.gz,
# beside the floor COPY … TO STDOUT through gzip; --no-postgres leaves it out.
# Each case runs in its own process, so the peak RSS it reports is that case's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
records=1000000 sizes="" dataset=ajo_message_feedback_event_dataset seed=bench s3= postgres=1
while [ $# -gt 0 ]; do
	case "$1" in
		--records) records=$2; shift 2 ;;
		--sizes) sizes=$2; shift 2 ;;
		--dataset) dataset=$2; shift 2 ;;
		--seed) seed=$2; shift 2 ;;
		--s3) s3=1; shift ;;
		--no-postgres) postgres=; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
sizes=${sizes:-$records}
root=.tmp/bench
mkdir -p "$root"
results="$root/results-$$.jsonl"
: > "$results"
tsx() { node --import tsx "$@"; }
stops=()
if [ -n "$s3" ]; then
	bash scripts/servers/ceph.sh start
	stops+=("bash scripts/servers/ceph.sh stop")
fi
if [ -n "$postgres" ]; then
	bash scripts/servers/postgres.sh start
	stops+=("bash scripts/servers/postgres.sh stop")
fi
trap 'for s in "${stops[@]}"; do $s; done' EXIT
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
			tsx bench/case.ts s3-lake "$lake" .tmp/servers/ceph/env.json "$ft" "$codec" "$dataset" | sed "s|^{|{\"size\":$n,\"name\":\"lake in S3 (Ceph, loopback) → local folder: $format\",|" >> "$results"
		fi
	done
	if [ -n "$postgres" ]; then
		pgenv=.tmp/servers/postgres/env.json
		tsx bench/case.ts pg-prepare "$n" "$pgenv"
		tsx bench/case.ts pg-floor "$n" "$pgenv" | sed "s/^{/{\"size\":$n,\"name\":\"PostgreSQL floor: COPY TO STDOUT + gzip\",/" >> "$results"
		for format in parquet/snappy json/gzip; do
			ft=${format%/*} codec=${format#*/}
			tsx bench/case.ts pg-export "$n" "$pgenv" "$ft" "$codec" "$out" | sed "s|^{|{\"size\":$n,\"name\":\"PostgreSQL → local folder: $format\",|" >> "$results"
			rm -rf "$out"
		done
	fi
done
tsx bench/bench.ts report "$results" "$dataset"
