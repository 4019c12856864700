#!/bin/bash
# Install the Debian/Ubuntu packages smbfuse needs to build, test and demo.
#
#   bash contrib/install-deps.sh        # install what is missing
#   . contrib/install-deps.sh; smbfuse_install_deps   # from other scripts
#
# Idempotent: apt-get runs (update + install) only when a package is missing.
# Non-interactive; uses sudo when not root.

SMBFUSE_DEB_PACKAGES=(
	build-essential pkg-config meson ninja-build
	libfuse3-dev fuse3 libssl-dev libkrb5-dev check
	samba smbclient samba-ad-dc samba-ad-provision winbind krb5-user
	python3 python3-docutils inotify-tools attr
	clang
	rsync git make
)

smbfuse_missing_packages() {
	local p status
	for p in "${SMBFUSE_DEB_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		if [[ $status != ii* ]]; then
			printf '%s\n' "$p"
		fi
	done
}

smbfuse_install_deps() {
	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: not a Debian-like system; install these yourself:" \
			"${SMBFUSE_DEB_PACKAGES[*]}" >&2
		return 0
	fi
	local missing
	mapfile -t missing < <(smbfuse_missing_packages)
	if ((${#missing[@]} == 0)); then
		echo "install-deps: all ${#SMBFUSE_DEB_PACKAGES[@]} packages present"
		return 0
	fi
	local sudo=()
	if ((EUID != 0)); then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo -n)
		else
			echo "install-deps: missing packages and not root (no sudo): ${missing[*]}" >&2
			return 1
		fi
	fi
	echo "install-deps: installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" </dev/null
	mapfile -t missing < <(smbfuse_missing_packages)
	if ((${#missing[@]} != 0)); then
		echo "install-deps: still missing after apt-get: ${missing[*]}" >&2
		return 1
	fi
}

# FUSE needs /dev/fuse (and fusermount3 for unprivileged users and unmount).
smbfuse_check_fuse() {
	if [[ ! -c /dev/fuse ]]; then
		if ((EUID == 0)); then
			modprobe fuse 2>/dev/null || true
			[[ -c /dev/fuse ]] || mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || true
		fi
	fi
	if [[ ! -c /dev/fuse ]]; then
		echo "install-deps: /dev/fuse is missing (load the fuse module or run the" \
			"container with --device /dev/fuse --cap-add SYS_ADMIN)" >&2
		return 1
	fi
	if ! command -v fusermount3 >/dev/null 2>&1; then
		echo "install-deps: fusermount3 not found (package fuse3)" >&2
		return 1
	fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	smbfuse_install_deps
	smbfuse_check_fuse
fi
