#!/bin/sh
# check-deb-version.sh - debian/changelog's newest version is configure.ac's
# version (AC_INIT), and its source package is the tarball's name, so that
# a release cannot ship a .deb that names another version than the
# programs' --version. Exit 0 when they agree, 1 when not.
set -u
src=${top_srcdir:-.}
changelog=$src/debian/changelog
configure_ac=$src/configure.ac

# AC_INIT([tlspolicy], [0.1.0], ...): the first two bracketed arguments.
ac=$(sed -n 's/^AC_INIT(\[\([^]]*\)\], *\[\([^]]*\)\].*/\1 \2/p' "$configure_ac")
# "tlspolicy (0.1.0) unstable; urgency=medium": the first entry.
deb=$(sed -n '1s/^\([a-z0-9.+-]*\) (\([^)]*\)).*/\1 \2/p' "$changelog")
if [ -z "$ac" ] || [ -z "$deb" ]; then
	echo "FAIL - cannot read the versions: configure.ac gave [$ac], debian/changelog [$deb]"
	echo "check-deb-version: 0 passed, 1 failed"
	exit 1
fi
if command -v dpkg-parsechangelog >/dev/null; then
	parsed="$(dpkg-parsechangelog -l "$changelog" -S Source) $(dpkg-parsechangelog -l "$changelog" -S Version)"
	if [ "$parsed" != "$deb" ]; then
		echo "FAIL - this script reads debian/changelog as [$deb], dpkg-parsechangelog as [$parsed]"
		echo "check-deb-version: 0 passed, 1 failed"
		exit 1
	fi
fi
if [ "$ac" != "$deb" ]; then
	echo "FAIL - debian/changelog is [$deb], configure.ac [$ac]:" \
		"add a changelog entry (dch -v ${ac#* }) or fix AC_INIT"
	echo "check-deb-version: 0 passed, 1 failed"
	exit 1
fi
echo "ok   - debian/changelog and configure.ac both say $ac"
echo "check-deb-version: 1 passed, 0 failed"
