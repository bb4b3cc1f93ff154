#!/usr/bin/env bash
# Make sure the servers the tests talk to are up: PostgreSQL, Redis, Mosquitto. Starts any that is down;
# with --install, first installs the missing ones from Debian's packages (CI on a fresh machine).
set -euo pipefail

install=false
[ "${1:-}" = "--install" ] && install=true

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto mosquitto-clients)
[ -x /usr/bin/chromium ] || missing+=(chromium)      # the web app's browser tests (Playwright drives it)
command -v npm >/dev/null 2>&1 || missing+=(npm)      # make assets: bpmn-js from the npm registry
# A Chinese font, so the browser tests' screenshots show the officers' pages as they read them (1.6 MB).
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  if $install; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]} (install them, or run: bash scripts/ensure-services.sh --install)" >&2
    exit 1
  fi
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "$2 did not come up on port $1" >&2; exit 1
}

if ! port_open 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
fi
wait_port 5432 PostgreSQL

if ! port_open 6379; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_port 6379 Redis

if ! port_open 1883; then
  echo "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
wait_port 1883 Mosquitto

# The tests connect as postgres over TCP to the database "test". A fresh Debian cluster asks for a password
# there: give postgres one and tell the tests (only when the trust-auth connection fails).
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1" >/dev/null 2>&1; then
  su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  export PGPASSWORD=postgres
  echo "export JINGZHI_TEST_PG_URL=postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test" > .services.env
fi
psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
echo "services up: PostgreSQL, Redis, Mosquitto"
