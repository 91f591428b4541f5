#!/usr/bin/env bash
# scripts/servers/sftp.sh start|stop — a real OpenSSH SFTP server for the tests, on 127.0.0.1 only.
# start: installs openssh-server if missing (apt-get, needs root), creates the test user
# "dsxsftp" (password + an ed25519 key + a passphrase-protected RSA key), starts a second sshd with
# its own host key and config, waits (bounded) until it answers, and writes the connection
# details to .tmp/servers/sftp/env.json. stop: stops that sshd by its PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/sftp"
port=${SFTP_TEST_PORT:-2299}
user=dsxsftp
password=dsx-sftp-test-password

stop() {
	stop_pid "$dir/sshd.pid"
}

start() {
	if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
		echo "installing openssh-server (apt-get)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client >&2
	fi
	stop
	mkdir -p "$dir" /run/sshd
	id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
	echo "$user:$password" | chpasswd
	[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
	[ -f "$dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C dsx-test -f "$dir/client_ed25519"
	[ -f "$dir/client_rsa" ] || ssh-keygen -q -t rsa -b 2048 -N 'dsx key passphrase' -C dsx-test-rsa -f "$dir/client_rsa"
	cat "$dir/client_ed25519.pub" "$dir/client_rsa.pub" > "$dir/authorized_keys"
	cat > "$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
AllowUsers $user
Subsystem sftp internal-sftp
ForceCommand internal-sftp
CONF
	/usr/sbin/sshd -e -f "$dir/sshd_config" 2>>"$dir/sshd.log"
	wait_port "$port" sshd "$dir/sshd.log"
	fingerprint=$(ssh-keygen -lf "$dir/host_ed25519.pub" | awk '{print $2}')
	home=$(getent passwd "$user" | cut -d: -f6)
	cat > "$dir/env.json" <<JSON
{"host":"127.0.0.1","port":$port,"username":"$user","password":"$password","privateKeyPath":"$dir/client_ed25519","rsaKeyPath":"$dir/client_rsa","rsaPassphrase":"dsx key passphrase","hostFingerprint":"$fingerprint","home":"$home","uid":$(id -u "$user"),"gid":$(id -g "$user")}
JSON
	echo "sftp server on 127.0.0.1:$port (pid $(cat "$dir/sshd.pid")), host key $fingerprint" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
