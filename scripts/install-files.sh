#!/bin/sh
# Installs ferry's files under DESTDIR: the one layout that `make install` and the .deb
# (scripts/make-deb.sh) share. Environment (make install's defaults):
#   BINARY      the ferry binary to install (build/ferry)
#   DESTDIR     staging root ("")
#   PREFIX      /usr/local          → $PREFIX/bin/ferry, $PREFIX/share/man/man1/ferry.1.gz,
#                                     $PREFIX/share/doc/ferry/{README.md,configuration.md,
#                                     operations.md,examples/ferry.example.toml}
#   UNITDIR     $PREFIX/lib/systemd/system (both /usr/local/lib/… and /lib/… are in
#               systemd's unit search path)
#   SYSCONFDIR  /etc                → /etc/ferry/ferry.toml, /etc/logrotate.d/ferry
#   CONFIG      always | if-absent: the .deb ships the config as a conffile (dpkg keeps an
#               edited one on upgrade); make install writes it only when there is none, and
#               never overwrites an operator's edits (the example is always refreshed).
# The unit names $PREFIX/bin/ferry and $SYSCONFDIR/ferry/ferry.toml; the installed config is
# ferry.example.toml with the access log in /var/log/ferry/access.log (logrotate's file).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
BINARY=${BINARY:-$here/build/ferry}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSCONFDIR=${SYSCONFDIR:-/etc}
CONFIG=${CONFIG:-if-absent}
root=$DESTDIR

[ -x "$BINARY" ] || { echo "ferry: $BINARY: no such binary (make build first)" >&2; exit 1; }

install -d "$root$PREFIX/bin" "$root$PREFIX/share/man/man1" "$root$UNITDIR" \
	"$root$SYSCONFDIR/ferry" "$root$SYSCONFDIR/logrotate.d" \
	"$root$PREFIX/share/doc/ferry/examples"
install -m 0755 "$BINARY" "$root$PREFIX/bin/ferry"
# Debian compresses man pages with gzip -9n (no name or time stamp: reproducible).
gzip -9n <"$here/packaging/ferry.1" >"$root$PREFIX/share/man/man1/ferry.1.gz"
chmod 0644 "$root$PREFIX/share/man/man1/ferry.1.gz"

unit=$(sed -e "s|/usr/bin/ferry|$PREFIX/bin/ferry|g" \
	-e "s|/etc/ferry/ferry.toml|$SYSCONFDIR/ferry/ferry.toml|g" "$here/packaging/ferry.service")
printf '%s\n' "$unit" >"$root$UNITDIR/ferry.service"
chmod 0644 "$root$UNITDIR/ferry.service"
grep -q "^ExecStart=$PREFIX/bin/ferry " "$root$UNITDIR/ferry.service" ||
	{ echo "ferry: the unit's ExecStart does not name $PREFIX/bin/ferry" >&2; exit 1; }

install -m 0644 "$here/packaging/ferry.logrotate" "$root$SYSCONFDIR/logrotate.d/ferry"
install -m 0644 "$here/ferry.example.toml" "$root$PREFIX/share/doc/ferry/examples/ferry.example.toml"
# What the man page's SEE ALSO points to: the README and the reference of the config file.
for doc in README.md docs/configuration.md docs/operations.md; do
	install -m 0644 "$here/$doc" "$root$PREFIX/share/doc/ferry/$(basename "$doc")"
done

config=$root$SYSCONFDIR/ferry/ferry.toml
if [ "$CONFIG" = always ] || [ ! -e "$config" ]; then
	sed 's|^access_log = "-"|access_log = "/var/log/ferry/access.log"|' \
		"$here/ferry.example.toml" >"$config.new"
	grep -q '^access_log = "/var/log/ferry/access.log"' "$config.new" ||
		{ echo "ferry: ferry.example.toml has no 'access_log = \"-\"' line to adapt" >&2; exit 1; }
	chmod 0640 "$config.new"
	mv "$config.new" "$config"
else
	echo "ferry: keeping $config (the new example is $PREFIX/share/doc/ferry/examples/ferry.example.toml)"
fi
