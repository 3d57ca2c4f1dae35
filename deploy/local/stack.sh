#!/usr/bin/env bash
# No-Docker local service stack for ecm: Apache Kafka (KRaft, single node),
# PostgreSQL 15 and Prometheus, all bound to 127.0.0.1.
#
#   deploy/local/stack.sh up     [kafka|postgres|prometheus ...]   start (idempotent)
#   deploy/local/stack.sh down   [services...]                     stop what we started
#   deploy/local/stack.sh status [services...]                     exit 0 only if all ready
#   deploy/local/stack.sh logs   [service] [-f]                    show service logs
#
# Non-interactive by design (CI=true, no stdin): missing Debian packages are installed
# with apt-get, Kafka jars are fetched once with Maven into a cache outside the repo.
# See deploy/local/README.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

STATE_DIR="${ECM_STATE_DIR:-$HOME/.local/state/ecm}"
CACHE_DIR="${ECM_CACHE_DIR:-$HOME/.cache/ecm}"
LOG_DIR="$STATE_DIR/logs"

KAFKA_VERSION="${ECM_KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${ECM_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${ECM_KAFKA_CONTROLLER_PORT:-9093}"
# A second listener that only SCRAM-authenticated clients may use (loopback too), so the
# worker, API and tests can be run against a secured broker.
KAFKA_SASL_PORT="${ECM_KAFKA_SASL_PORT:-9094}"
KAFKA_SASL_USER="${ECM_KAFKA_SASL_USER:-ecm}"
KAFKA_SASL_PASSWORD="${ECM_KAFKA_SASL_PASSWORD:-ecm-local-secret}"
KAFKA_HEAP="${ECM_KAFKA_HEAP:--Xms256m -Xmx768m}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_STATE="$STATE_DIR/kafka"

PG_PORT="${ECM_PG_PORT:-5433}"
PG_BIN="${ECM_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_STATE="$STATE_DIR/postgres"
PG_DATA="$PG_STATE/data"
PG_SOCKET_DIR="$PG_STATE/run"
PG_OS_USER="${ECM_PG_OS_USER:-postgres}"
PG_DSN="postgresql://ecm:ecm@127.0.0.1:$PG_PORT/ecm"

PROM_PORT="${ECM_PROMETHEUS_PORT:-9090}"
PROM_BIN="${ECM_PROMETHEUS_BIN:-/usr/bin/prometheus}"
PROM_STATE="$STATE_DIR/prometheus"

READY_TIMEOUT="${ECM_READY_TIMEOUT:-90}"
ALL_SERVICES=(kafka postgres prometheus browser)

export DEBIAN_FRONTEND=noninteractive

# --------------------------------------------------------------------------- helpers

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

python_bin() { command -v python3 || die "python3 is required"; }

# Is $1 a live process whose command line contains $2? (guards against stale pid files)
pid_alive() {
  local pid="$1" needle="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"
}

read_pid() { [[ -f "$1" ]] && head -n1 "$1" || true; }

# Is something (anything) listening on 127.0.0.1:$1?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start "$@" detached in its own session; its pid goes to $pidfile, output to $logfile.
spawn() {
  local pidfile="$1" logfile="$2"; shift 2
  # bash -c writes its own pid, then execs the real program under that same pid.
  # 9>&- : the service must not inherit (and so keep holding) the state-dir lock.
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
  die "could not start $*"
}

# Send SIGTERM to $pid and wait up to $timeout s for it to exit, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" timeout="${3:-60}" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq $((timeout * 5))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  die "$name (pid $pid) survived SIGKILL"
}

# Poll "$@" until it succeeds or READY_TIMEOUT passes; show the log tail on failure.
wait_ready() {
  local name="$1" logfile="$2"; shift 2
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${READY_TIMEOUT}s; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      return 1
    fi
    sleep 1
  done
}

# Install Debian packages without letting their maintainer scripts start services.
apt_install() {
  local guard=/usr/sbin/policy-rc.d created_guard=0
  if [[ ! -e "$guard" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard" && created_guard=1
  fi
  log "apt-get install $*"
  if ! apt-get install -y -q "$@" >>"$LOG_DIR/apt.log" 2>&1; then
    log "apt-get install failed; refreshing package lists and retrying"
    apt-get update -q >>"$LOG_DIR/apt.log" 2>&1
    apt-get install -y -q "$@" >>"$LOG_DIR/apt.log" 2>&1 \
      || { ((created_guard)) && rm -f "$guard"; die "apt-get install $* failed (see $LOG_DIR/apt.log)"; }
  fi
  ((created_guard)) && rm -f "$guard"
  return 0
}

ensure_dirs() {
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$KAFKA_STATE" "$PG_STATE" "$PROM_STATE"
}

# Take an exclusive lock so two concurrent up/down runs do not race.
lock_state() {
  exec 9>"$STATE_DIR/.stack.lock"
  flock -w 300 9 || die "another stack.sh holds $STATE_DIR/.stack.lock"
}

# --------------------------------------------------------------------------- kafka

kafka_pidfile() { echo "$KAFKA_STATE/kafka.pid"; }
kafka_running() { pid_alive "$(read_pid "$(kafka_pidfile)")" "$KAFKA_STATE/server.properties"; }
kafka_ready() { "$(python_bin)" "$SCRIPT_DIR/kafka_ready.py" "127.0.0.1:$KAFKA_PORT" "$@"; }

kafka_fetch() {
  local marker="$KAFKA_HOME/.complete"
  [[ -f "$marker" && -d "$KAFKA_LIBS" ]] && return 0
  command -v java >/dev/null || die "java is required for Kafka"
  command -v mvn >/dev/null || die "mvn is required to fetch the Kafka jars"
  log "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS (one-off)"
  local tmp="$KAFKA_HOME/libs.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  mvn -q -B -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    >"$LOG_DIR/maven.log" 2>&1 || { cat "$LOG_DIR/maven.log" >&2; rm -rf "$tmp"; die "Maven fetch failed"; }
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "Maven fetch did not produce kafka_2.13-$KAFKA_VERSION.jar"
  rm -rf "$KAFKA_LIBS" && mv "$tmp" "$KAFKA_LIBS"
  date -u +%FT%TZ >"$marker"
}

kafka_write_config() {
  cat >"$KAFKA_STATE/server.properties" <<EOF
# Generated by deploy/local/stack.sh: single-node KRaft broker+controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$KAFKA_STATE/data
num.partitions=8
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  # Broker log: everything to stdout, which spawn() sends to logs/kafka.log.
  cat >"$KAFKA_STATE/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.kafka.log.LogCleaner=WARN
EOF
  # One-shot tools (StorageTool): warnings only, to stderr.
  cat >"$KAFKA_STATE/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

kafka_tool() {
  java -Dlog4j.configuration="file:$KAFKA_STATE/tools-log4j.properties" \
    -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool "$@"
}

# Format the KRaft log dir once; an existing meta.properties is never touched.
kafka_format() {
  [[ -f "$KAFKA_STATE/data/meta.properties" ]] && return 0
  local idfile="$KAFKA_STATE/cluster.id"
  [[ -s "$idfile" ]] || kafka_tool random-uuid | tail -n1 >"$idfile"
  log "formatting Kafka storage (cluster id $(cat "$idfile"))"
  kafka_tool format -t "$(cat "$idfile")" -c "$KAFKA_STATE/server.properties" \
    >>"$LOG_DIR/kafka.log" 2>&1 || die "kafka storage format failed (see $LOG_DIR/kafka.log)"
}

kafka_up() {
  if kafka_running; then
    log "kafka already running (pid $(read_pid "$(kafka_pidfile)"))"
  else
    port_open "$KAFKA_PORT" && die "127.0.0.1:$KAFKA_PORT is in use by a process this script did not start"
    kafka_fetch
    kafka_write_config
    kafka_format
    log "starting kafka on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
    # shellcheck disable=SC2086  # KAFKA_HEAP is a list of JVM flags
    spawn "$(kafka_pidfile)" "$LOG_DIR/kafka.log" \
      java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$KAFKA_STATE/log4j.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_STATE/server.properties"
  fi
  wait_ready kafka "$LOG_DIR/kafka.log" kafka_ready --quiet || die "kafka did not become ready"
  kafka_scram_user
  echo "kafka       ready  127.0.0.1:$KAFKA_PORT  (KRaft, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, pid $(read_pid "$(kafka_pidfile)"))"
  echo "            SASL/SCRAM-SHA-512 listener 127.0.0.1:$KAFKA_SASL_PORT for user $KAFKA_SASL_USER"
}

# The SCRAM user of the SASL listener, set through the plaintext listener (idempotent:
# setting the same password again changes nothing a client can see).
kafka_scram_user() {
  java -Dlog4j.configuration="file:$KAFKA_STATE/tools-log4j.properties" \
    -cp "$KAFKA_LIBS/*" kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --alter --entity-type users --entity-name "$KAFKA_SASL_USER" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$KAFKA_SASL_PASSWORD]" \
    >>"$LOG_DIR/kafka.log" 2>&1 || die "could not set the SCRAM user (see $LOG_DIR/kafka.log)"
}

kafka_down() {
  local pid; pid="$(read_pid "$(kafka_pidfile)")"
  if kafka_running; then
    log "stopping kafka (pid $pid)"
    stop_pid kafka "$pid" 90
  fi
  rm -f "$(kafka_pidfile)"
}

kafka_status() {
  if ! kafka_running; then echo "kafka       down"; return 1; fi
  local detail
  if detail="$(kafka_ready 2>&1)"; then
    echo "kafka       ready      127.0.0.1:$KAFKA_PORT  pid $(read_pid "$(kafka_pidfile)")  ${detail#kafka ready: }"
  else
    echo "kafka       NOT READY  pid $(read_pid "$(kafka_pidfile)")  $detail"; return 1
  fi
}

# --------------------------------------------------------------------------- postgres

as_pg() { runuser -u "$PG_OS_USER" -- "$@"; }
pg_running() { [[ -f "$PG_DATA/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
pg_pid() { read_pid "$PG_DATA/postmaster.pid"; }
pg_superuser_psql() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres "$@"
}
pg_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U ecm -d ecm \
    && "$PG_BIN/psql" -X -q -At "$PG_DSN" -c 'select 1' | grep -qx 1
}

pg_install() {
  [[ -x "$PG_BIN/postgres" ]] && return 0
  apt_install postgresql-15 postgresql-contrib
  [[ -x "$PG_BIN/postgres" ]] || die "$PG_BIN/postgres still missing after install"
}

# The server runs as $PG_OS_USER, which must be able to reach the state dir. When the
# state dir lives under a private home (e.g. /root is 0700) grant search-only (o+x)
# permission on the blocking ancestors; set ECM_STATE_DIR elsewhere to avoid this.
pg_ensure_traversable() {
  local dir="$PG_STATE" i
  local -a ancestors=()
  while [[ "$dir" != "/" ]]; do dir="$(dirname "$dir")"; ancestors+=("$dir"); done
  # Top-down, so a blocked parent does not make its children look blocked too.
  for ((i = ${#ancestors[@]} - 1; i >= 0; i--)); do
    dir="${ancestors[i]}"
    as_pg test -x "$dir" 2>/dev/null && continue
    log "granting search-only permission (chmod o+x) on $dir so the '$PG_OS_USER' user can reach $PG_STATE"
    chmod o+x "$dir"
  done
}

pg_init() {
  id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' missing (it comes with the postgresql packages)"
  mkdir -p "$PG_SOCKET_DIR"
  touch "$LOG_DIR/postgres.log"
  chown "$PG_OS_USER:" "$PG_STATE" "$PG_SOCKET_DIR" "$LOG_DIR/postgres.log"
  pg_ensure_traversable
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "initialising PostgreSQL cluster in $PG_DATA"
    # --auth=trust: acceptable ONLY because the server listens on 127.0.0.1 and a socket
    # in the state dir (dev/CI use). Never copy this to a shared host.
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >>"$LOG_DIR/postgres.log" 2>&1 || die "initdb failed (see $LOG_DIR/postgres.log)"
    echo "include_if_exists = 'ecm.conf'" >>"$PG_DATA/postgresql.conf"
  fi
  local preload="''"
  [[ -f /usr/share/postgresql/15/extension/timescaledb.control ]] && preload="'timescaledb'"
  cat >"$PG_DATA/ecm.conf" <<EOF
# Generated by deploy/local/stack.sh on every start.
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCKET_DIR'
shared_preload_libraries = $preload
EOF
  chown "$PG_OS_USER:" "$PG_DATA/ecm.conf"
}

# Role ecm/ecm (owner), the components' roles ecm_api, ecm_sink and ecm_notify, and
# databases ecm + ecm_test; safe to re-run.
pg_bootstrap() {
  pg_superuser_psql -d postgres <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm') THEN
    CREATE ROLE ecm LOGIN CREATEDB PASSWORD 'ecm';
  END IF;
  -- The components' least-privilege roles (granted by migration 0011).
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm_api') THEN
    CREATE ROLE ecm_api LOGIN PASSWORD 'ecm';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm_sink') THEN
    CREATE ROLE ecm_sink LOGIN PASSWORD 'ecm';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm_notify') THEN
    CREATE ROLE ecm_notify LOGIN PASSWORD 'ecm';
  END IF;
END
$$;
SELECT 'CREATE DATABASE ecm OWNER ecm'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'ecm') \gexec
SELECT 'CREATE DATABASE ecm_test OWNER ecm'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'ecm_test') \gexec
SQL
  local has_tsdb
  has_tsdb="$(pg_superuser_psql -d postgres -At \
    -c "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")"
  if [[ "$has_tsdb" == 1 ]]; then
    local db
    for db in ecm ecm_test; do
      pg_superuser_psql -d "$db" -c 'CREATE EXTENSION IF NOT EXISTS timescaledb'
    done
    PG_MODE="TimescaleDB"
  else
    PG_MODE="plain PostgreSQL (timescaledb extension not available)"
  fi
}

postgres_up() {
  pg_install
  pg_init
  if pg_running; then
    log "postgres already running (pid $(pg_pid))"
  else
    port_open "$PG_PORT" && die "127.0.0.1:$PG_PORT is in use by a process this script did not start"
    log "starting postgres on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$LOG_DIR/postgres.log" -w -t "$READY_TIMEOUT" \
      >/dev/null 9>&- || { tail -n 40 "$LOG_DIR/postgres.log" >&2; die "postgres failed to start"; }
  fi
  pg_bootstrap
  wait_ready postgres "$LOG_DIR/postgres.log" pg_ready || die "postgres did not become ready"
  echo "postgres    ready  127.0.0.1:$PG_PORT  ($PG_MODE; dbs ecm, ecm_test; pid $(pg_pid))"
}

postgres_down() {
  if pg_running; then
    log "stopping postgres (pid $(pg_pid))"
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null
  fi
}

postgres_status() {
  if ! pg_running; then echo "postgres    down"; return 1; fi
  if pg_ready 2>/dev/null; then
    echo "postgres    ready      127.0.0.1:$PG_PORT  pid $(pg_pid)  $PG_DSN"
  else
    echo "postgres    NOT READY  pid $(pg_pid)"; return 1
  fi
}

# --------------------------------------------------------------------------- browser
# Debian's chromium, driven headless by Playwright in the portal's browser tests (no
# daemon: installing it is all "up" does).

CHROMIUM_BIN="${ECM_CHROMIUM_BIN:-/usr/bin/chromium}"
browser_up() {
  [[ -x "$CHROMIUM_BIN" ]] || apt_install --no-install-recommends chromium fonts-dejavu-core
  [[ -x "$CHROMIUM_BIN" ]] || die "$CHROMIUM_BIN still missing after install"
  log "browser ready: $CHROMIUM_BIN"
}
browser_down() { :; }
browser_status() {
  if [[ -x "$CHROMIUM_BIN" ]]; then echo "browser     ready      $CHROMIUM_BIN"
  else echo "browser     MISSING    $CHROMIUM_BIN (deploy/local/stack.sh up browser)"; return 1; fi
}

# --------------------------------------------------------------------------- prometheus

prom_pidfile() { echo "$PROM_STATE/prometheus.pid"; }
prom_running() { pid_alive "$(read_pid "$(prom_pidfile)")" "$PROM_STATE/prometheus.yml"; }
prom_ready() {
  local url="http://127.0.0.1:$PROM_PORT/-/ready"
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 3 "$url"
  else
    "$(python_bin)" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=3)' "$url"
  fi
}

prom_install() {
  [[ -x "$PROM_BIN" ]] && return 0
  apt_install --no-install-recommends prometheus
  [[ -x "$PROM_BIN" ]] || die "$PROM_BIN still missing after install"
  # The package ships its own service (0.0.0.0:9090); we never use it.
  if [[ -x /etc/init.d/prometheus ]] && /etc/init.d/prometheus status >/dev/null 2>&1; then
    log "stopping the Debian prometheus service started by the package"
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
}

# Effective config in the state dir: the repo's prometheus.local.yml (with the port
# substituted) plus a copy of deploy/prometheus/rules, or a built-in minimal config.
prom_write_config() {
  local src="$REPO_ROOT/deploy/prometheus/prometheus.local.yml" dst="$PROM_STATE/prometheus.yml"
  rm -rf "$PROM_STATE/rules"
  if [[ -d "$REPO_ROOT/deploy/prometheus/rules" ]]; then
    cp -r "$REPO_ROOT/deploy/prometheus/rules" "$PROM_STATE/rules"
  else
    mkdir -p "$PROM_STATE/rules"
  fi
  if [[ -f "$src" ]]; then
    sed "/^ *#/!s/127\.0\.0\.1:9090/127.0.0.1:$PROM_PORT/g" "$src" >"$dst"
  else
    cat >"$dst" <<EOF
# Generated by deploy/local/stack.sh (deploy/prometheus/prometheus.local.yml not found).
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$PROM_PORT"]}]
  - job_name: ecm-worker
    static_configs: [{targets: ["127.0.0.1:9108"]}]
  - job_name: ecm-api
    metrics_path: /metrics
    static_configs: [{targets: ["127.0.0.1:8000"]}]
EOF
  fi
  if command -v promtool >/dev/null; then
    promtool check config "$dst" >>"$LOG_DIR/prometheus.log" 2>&1 \
      || { tail -n 20 "$LOG_DIR/prometheus.log" >&2; die "invalid prometheus config $dst"; }
  fi
}

prometheus_up() {
  if prom_running; then
    log "prometheus already running (pid $(read_pid "$(prom_pidfile)"))"
  else
    port_open "$PROM_PORT" && die "127.0.0.1:$PROM_PORT is in use by a process this script did not start"
    prom_install
    mkdir -p "$PROM_STATE/data"
    prom_write_config
    log "starting prometheus on 127.0.0.1:$PROM_PORT"
    spawn "$(prom_pidfile)" "$LOG_DIR/prometheus.log" \
      "$PROM_BIN" --config.file="$PROM_STATE/prometheus.yml" \
      --storage.tsdb.path="$PROM_STATE/data" --storage.tsdb.retention.time=7d \
      --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle
  fi
  wait_ready prometheus "$LOG_DIR/prometheus.log" prom_ready || die "prometheus did not become ready"
  echo "prometheus  ready  http://127.0.0.1:$PROM_PORT  (config $PROM_STATE/prometheus.yml, pid $(read_pid "$(prom_pidfile)"))"
}

prometheus_down() {
  local pid; pid="$(read_pid "$(prom_pidfile)")"
  if prom_running; then
    log "stopping prometheus (pid $pid)"
    stop_pid prometheus "$pid" 30
  fi
  rm -f "$(prom_pidfile)"
}

prometheus_status() {
  if ! prom_running; then echo "prometheus  down"; return 1; fi
  if prom_ready 2>/dev/null; then
    echo "prometheus  ready      http://127.0.0.1:$PROM_PORT  pid $(read_pid "$(prom_pidfile)")"
  else
    echo "prometheus  NOT READY  pid $(read_pid "$(prom_pidfile)")"; return 1
  fi
}

# --------------------------------------------------------------------------- commands

# Validate service names; default to all of them.
select_services() {
  local s
  if (($# == 0)); then SERVICES=("${ALL_SERVICES[@]}"); return; fi
  for s in "$@"; do
    [[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
  done
  SERVICES=("$@")
}

cmd_up() {
  select_services "$@"
  ensure_dirs
  lock_state
  local s
  for s in "${SERVICES[@]}"; do "${s}_up"; done
  cat <<EOF

State dir: $STATE_DIR   (logs in $LOG_DIR)
Use these settings for the ecm worker, API and integration tests:
  export ECM_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
  export ECM_DB__DSN=$PG_DSN
EOF
}

# The ecm processes `make demo` started (worker, API), recorded in $STATE_DIR/app.
apps_down() {
  local pidfile pid
  for pidfile in "$STATE_DIR"/app/*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(read_pid "$pidfile")"
    if pid_alive "$pid" ecm; then
      log "stopping $(basename "$pidfile" .pid) (pid $pid)"
      stop_pid "$(basename "$pidfile" .pid)" "$pid" 30
    fi
    rm -f "$pidfile"
  done
}

cmd_down() {
  select_services "$@"
  [[ -d "$STATE_DIR" ]] || { log "nothing to stop ($STATE_DIR does not exist)"; return 0; }
  lock_state
  if (($# == 0)); then apps_down; fi
  local i
  # Reverse order: prometheus, kafka, postgres.
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do "${SERVICES[i]}_down"; done
  log "stopped: ${SERVICES[*]}"
}

cmd_status() {
  select_services "$@"
  local s rc=0
  for s in "${SERVICES[@]}"; do "${s}_status" || rc=1; done
  return "$rc"
}

cmd_logs() {
  local follow=() files=() a
  for a in "$@"; do
    case "$a" in
      -f | --follow) follow=(-f) ;;
      kafka | postgres | prometheus) files+=("$LOG_DIR/$a.log") ;;
      *) die "usage: stack.sh logs [kafka|postgres|prometheus] [-f]" ;;
    esac
  done
  ((${#files[@]})) || files=("$LOG_DIR/kafka.log" "$LOG_DIR/postgres.log" "$LOG_DIR/prometheus.log")
  tail -n 50 "${follow[@]}" "${files[@]}"
}

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
