#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install every build, test and benchmark dependency of sluice on Debian 12 (idempotent).
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev
	linux-libc-dev libmicrohttpd-dev
	# tests
	libcriterion-dev iputils-ping iproute2 ethtool procps util-linux python3 tzdata
	# install test: the man page is rendered with groff
	groff-base
	# HTTP-layer integration tests: a real server and real clients
	nginx curl wrk
	# metrics test: a real Prometheus text-format parser
	python3-prometheus-client
	# benchmarks and comparisons
	nftables iptables netsniff-ng jq
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it): sudo $0" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
