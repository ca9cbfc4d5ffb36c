#!/bin/sh
# Builds ferry_VERSION_ARCH.deb with dpkg-deb (Debian's own tool, no network):
#   scripts/make-deb.sh [BINARY [OUTDIR [VERSION]]]     (build/ferry, build, CMake's version)
# The layout is scripts/install-files.sh's with PREFIX=/usr and the unit in
# /lib/systemd/system (where bookworm's packages put units). Maintainer scripts are
# packaging/debian/'s: postinst creates the ferry user (packaging/ferry-user.sh) and enables
# the unit without starting it, as dh_installsystemd --no-start does; postrm purges the logs.
# Depends comes from dpkg-shlibdeps, or else from the binary's NEEDED libraries (dpkg -S).
# Compression: dpkg-deb's default (xz), or DPKG_DEB_COMPRESSOR_TYPE / _LEVEL (the test uses
# gzip for speed). Prints the path of the .deb.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-$here/build/ferry}
outdir=${2:-$here/build}
version=${3:-$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")}
arch=$(dpkg --print-architecture)
[ -x "$binary" ] || { echo "ferry: $binary: no such binary (make build first)" >&2; exit 1; }
[ -n "$version" ] || { echo "ferry: no version in CMakeLists.txt's project()" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
mkdir -p "$stage/DEBIAN"

BINARY=$binary DESTDIR=$stage PREFIX=/usr UNITDIR=/lib/systemd/system SYSCONFDIR=/etc \
	CONFIG=always "$here/scripts/install-files.sh" >/dev/null
# Debian strips its binaries (dh_strip); the debug symbols stay in the build.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/ferry"

# Depends: what the binary links, as dpkg-shlibdeps computes it (it wants a debian/control).
depends=
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
	mkdir -p "$work/src/debian"
	printf 'Source: ferry\n\nPackage: ferry\nArchitecture: any\n' >"$work/src/debian/control"
	depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$stage/usr/bin/ferry" 2>/dev/null |
		sed -n 's/^shlibs:Depends=//p') || depends=
fi
if [ -z "$depends" ]; then
	for lib in $(objdump -p "$stage/usr/bin/ferry" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
		[ -n "$path" ] || continue
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1) ||
			pkg=$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1) || true
		[ -n "$pkg" ] && depends="$depends${depends:+, }$pkg"
	done
	depends=$(printf '%s\n' "$depends" | tr ',' '\n' | sed 's/^ *//' | sort -u | paste -sd, - |
		sed 's/,/, /g')
fi
[ -n "$depends" ] || { echo "ferry: cannot compute the package's Depends" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
	-e "s|@DEPENDS@|$depends|" "$here/packaging/debian/control.in" >"$stage/DEBIAN/control"
install -m 0644 "$here/packaging/debian/conffiles" "$stage/DEBIAN/conffiles"
for script in prerm postrm; do
	install -m 0755 "$here/packaging/debian/$script" "$stage/DEBIAN/$script"
done
# postinst: packaging/ferry-user.sh's commands in place of the #FERRY_USER# line.
awk -v user="$here/packaging/ferry-user.sh" '
	/^#FERRY_USER#$/ {
		while ((getline line < user) > 0)
			if (line == "") print ""
			else if (line !~ /^#/ && line !~ /^set -e$/) print "\t" line
		next
	}
	{ print }' "$here/packaging/debian/postinst" >"$stage/DEBIAN/postinst"
chmod 0755 "$stage/DEBIAN/postinst"
sh -n "$stage/DEBIAN/postinst"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
	xargs md5sum) >"$stage/DEBIAN/md5sums"

mkdir -p "$outdir"
deb=$outdir/ferry_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
