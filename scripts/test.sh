#!/usr/bin/env bash
# Runs mamori's whole test suite on a Debian machine:
#   1. installs the Debian packages the tests need (when run as root and some are missing),
#   2. starts a throwaway PostgreSQL on 127.0.0.1 in a temp dir (stopped and removed at exit),
#   3. runs every test of the workspace against SQLite and that PostgreSQL.
# Usage: scripts/test.sh            (the whole suite)
#        scripts/test.sh -p CRATE   (cargo test arguments instead of --workspace)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- 1. packages --------------------------------------------------------------------------------------
packages=(postgresql)
for f in crates/*/APT_PACKAGES; do
  [ -f "$f" ] && while read -r p; do [ -n "${p%%#*}" ] && packages+=("${p%%#*}"); done < "$f"
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]} — install them (sudo apt-get install ${missing[*]}) and run again" >&2
    exit 2
  fi
fi

# --- 2. a throwaway PostgreSQL on loopback ----------------------------------------------------------------
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 2; }
pgdir=$(mktemp -d /tmp/mamori-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
port=""
for _ in $(seq 1 20); do
  candidate=$(shuf -i 40000-60000 -n 1)
  if ! (exec 3<>/dev/tcp/127.0.0.1/"$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free loopback port for PostgreSQL" >&2; exit 2; }
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
as_pg "$pgbin/initdb" -D "$pgdir/data" -U mamori -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c max_connections=200" start >/dev/null
echo "== PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
export MAMORI_TEST_PG_URL="postgres://mamori@127.0.0.1:$port/postgres"
export MAMORI_REQUIRE_PG=1
# The script installed every package the tests need, so no test may skip for want of one.
export MAMORI_REQUIRE_BROWSER=1
export MAMORI_REQUIRE_OFFICE=1

# --- 3. the tests ---------------------------------------------------------------------------------------
if [ $# -gt 0 ]; then cargo test --locked "$@"; else cargo test --workspace --locked; fi
