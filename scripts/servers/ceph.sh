#!/usr/bin/env bash
# scripts/servers/ceph.sh start|stop — a real S3 server for the tests: Ceph's RADOS Gateway on a
# single-node cluster (one mon, one in-memory OSD), listening on 127.0.0.1 only. It checks request
# signatures and Content-MD5 like AWS does. start installs the Debian packages if missing (root),
# makes the cluster, starts mon, osd and radosgw (each waited for, bounded), creates an S3 user and
# the STS roles it may assume (STS is served on the S3 endpoint), and writes the connection details
# to .tmp/servers/ceph/env.json. stop kills the daemons by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/ceph"
rgw_port=${S3_TEST_PORT:-8799}
mon_port=${CEPH_MON_PORT:-6799}
mon_v2_port=${CEPH_MON_V2_PORT:-3399}
access_key=DSXTESTACCESSKEY0001
secret_key=dsx-test-secret-key-0000000000000000000000
# STS: session tokens are encrypted with this key (radosgw wants exactly 16 characters)
sts_key=dsxtestststkey01
role=dsx-export
role_external_id=dsx-export-external-id
external_id=dsx-test-external-id-0001
# buckets whose names start with this refuse PutObject to the role (not to the user): the tests
# use it to see that requests really run as the role
role_denied_prefix=no-role-writes-

stop() {
	# the OSD can ignore TERM while it starts up: stop_pid forces it after a bounded wait
	for name in rgw osd mon; do stop_pid "$dir/$name.pid"; done
}

wait_for() { # label, command...
	local label=$1; shift
	for _ in $(seq 1 120); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	echo "ceph: $label did not come up" >&2
	tail -n 30 "$dir"/log/*.log >&2 || true
	exit 1
}

start() {
	if ! command -v radosgw >/dev/null 2>&1; then
		echo "installing ceph-mon ceph-osd radosgw (apt-get)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >&2
	fi
	stop
	rm -rf "$dir" && mkdir -p "$dir/run" "$dir/log" "$dir/mon.a" "$dir/osd.0"
	fsid=$(cat /proc/sys/kernel/random/uuid)
	conf="$dir/ceph.conf"
	cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_v2_port,v1:127.0.0.1:$mon_port]
mon initial members = a
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/\$name.pidfile
keyring = $dir/keyring
[mon.a]
mon data = $dir/mon.a
[osd.0]
osd data = $dir/osd.0
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 256
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw sts key = $sts_key
rgw s3 auth use sts = true
CONF
	ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	monmaptool --create --addv a "[v2:127.0.0.1:$mon_v2_port,v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
	ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
	ceph-mon -c "$conf" -i a -f >>"$dir/log/mon-stdout.log" 2>&1 &
	echo $! > "$dir/mon.pid"
	wait_for "the monitor" timeout 5 ceph -c "$conf" mon stat
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	ceph -c "$conf" osd new "$osd_uuid" 0 >/dev/null
	ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/osd-mkfs.log" 2>&1
	ceph-osd -c "$conf" -i 0 -f >>"$dir/log/osd-stdout.log" 2>&1 &
	echo $! > "$dir/osd.pid"
	wait_for "the OSD" sh -c "timeout 5 ceph -c '$conf' osd stat | grep -q '1 up'"
	radosgw -c "$conf" -n client.rgw.a -f >>"$dir/log/rgw-stdout.log" 2>&1 &
	echo $! > "$dir/rgw.pid"
	wait_port "$rgw_port" radosgw "$dir"/log/*.log
	radosgw-admin -c "$conf" user create --uid=dsx --display-name="dataset export tests" --access-key="$access_key" --secret-key="$secret_key" >/dev/null
	# roles the user may assume: one trusts the user outright, one only with an External ID
	local trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/dsx"]},"Action":["sts:AssumeRole"]}]}'
	local trust_external='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/dsx"]},"Action":["sts:AssumeRole"],"Condition":{"StringEquals":{"sts:ExternalId":"'"$external_id"'"}}}]}'
	local policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]},{"Effect":"Deny","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::'"$role_denied_prefix"'*/*"]}]}'
	radosgw-admin -c "$conf" role create --role-name="$role" --assume-role-policy-doc="$trust" >/dev/null
	radosgw-admin -c "$conf" role create --role-name="$role_external_id" --assume-role-policy-doc="$trust_external" >/dev/null
	for name in "$role" "$role_external_id"; do
		radosgw-admin -c "$conf" role-policy put --role-name="$name" --policy-name=exports --policy-doc="$policy" >/dev/null
	done
	cat > "$dir/env.json" <<JSON
{"endpoint":"http://127.0.0.1:$rgw_port","region":"us-east-1","accessKeyId":"$access_key","secretAccessKey":"$secret_key","roleArn":"arn:aws:iam:::role/$role","externalIdRoleArn":"arn:aws:iam:::role/$role_external_id","externalId":"$external_id","roleDeniedBucketPrefix":"$role_denied_prefix"}
JSON
	echo "ceph radosgw on 127.0.0.1:$rgw_port (pids mon $(cat "$dir/mon.pid"), osd $(cat "$dir/osd.pid"), rgw $(cat "$dir/rgw.pid"))" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
