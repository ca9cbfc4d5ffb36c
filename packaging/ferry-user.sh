#!/bin/sh
# Creates the `ferry` system user and gives it what the unit (packaging/ferry.service) needs:
# the log directory ferry:adm 2750 and the configuration directory root:ferry 0750 (its
# files 0640), so that the service reads its configuration and htpasswd file and writes its
# logs as that user, at start and on SIGHUP / SIGUSR1 alike. Idempotent. A path the admin
# listed with dpkg-statoverride keeps the owner and mode given there (the Debian way).
# The .deb's postinst runs this text; `make install` runs it when installing as root.
# Environment: FERRY_SYSCONFDIR (/etc), FERRY_LOGDIR (/var/log/ferry).
set -e
sysconfdir=${FERRY_SYSCONFDIR:-/etc}
logdir=${FERRY_LOGDIR:-/var/log/ferry}

if ! getent passwd ferry >/dev/null; then
	if command -v adduser >/dev/null 2>&1; then
		adduser --system --group --quiet --home /nonexistent --no-create-home \
			--gecos "ferry forward proxy" ferry
	else
		useradd --system --user-group --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin --comment "ferry forward proxy" ferry
	fi
fi

# owner group mode path: unless dpkg-statoverride has an entry for it.
own() {
	if command -v dpkg-statoverride >/dev/null 2>&1 &&
		dpkg-statoverride --list "$4" >/dev/null 2>&1; then
		return 0
	fi
	chown "$1:$2" "$4"
	chmod "$3" "$4"
}

loggroup=adm
getent group adm >/dev/null || loggroup=ferry
mkdir -p "$logdir"
own ferry "$loggroup" 2750 "$logdir"
if [ -d "$sysconfdir/ferry" ]; then
	own root ferry 0750 "$sysconfdir/ferry"
	[ ! -f "$sysconfdir/ferry/ferry.toml" ] || own root ferry 0640 "$sysconfdir/ferry/ferry.toml"
fi
