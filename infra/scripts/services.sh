#!/usr/bin/env bash
# Local Redis and Kafka for meshtune's demo and tests (issue #3; docs/decisions/0002-local-kafka.md).
#
#   services.sh up     [--started-file FILE] [--env-file FILE] [--require-kafka]
#   services.sh down   [--started-file FILE]
#   services.sh status
#
# up     Finds or starts Redis and Kafka, writes REDIS_URL= and KAFKA_BROKERS= lines to the env
#        file (default .run/services.env) and appends to --started-file the services this call
#        started. Redis: $REDIS_URL, else the machine's 127.0.0.1:6379 when it answers PING, else a
#        private redis-server on a free port. Kafka: $KAFKA_BROKERS, else a single-node KRaft
#        broker (Apache Kafka from Maven Central, run with the system Java 17+).
#        Without --require-kafka a missing Java/Maven only warns and leaves KAFKA_BROKERS unset.
# down   With --started-file: stops the services listed there (unless another run that is still
#        alive reused them, which then inherits them). Without: stops everything meshtune
#        started under .run/ (never a Redis it did not start).
# status One line per service: name, state, address, who started it.
#
#   services.sh broker start --dir DIR [--pom FILE]
#   services.sh broker stop  --dir DIR
#
# broker A private, disposable single-node KRaft broker under DIR (its data, logs, pid file and
#        port), on free random ports, never the shared one: for tests that stop and restart a
#        broker or need another Kafka version. --pom picks the version: infra/kafka/pom.xml
#        (3.9.1, the default) or infra/kafka/pom-4.xml (4.x); fetched once like the shared
#        broker. `start` prints KAFKA_BROKERS=127.0.0.1:PORT; reusing a DIR whose broker
#        is still alive restarts it on the same port with its data kept (a broker restart).
#
# Environment: REDIS_URL, KAFKA_BROKERS (use these, start nothing), MESHTUNE_ROOT,
# MESHTUNE_REDIS_PROBE_PORT (port probed for the machine's Redis, default 6379; tests of this
# script point it at a closed port to exercise the private redis-server path).
set -euo pipefail

ROOT="${MESHTUNE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
RUN="$ROOT/.run"
# Which Kafka (pom -> version -> cached jars); `broker --pom` switches it.
use_pom() {
  POM="$1"
  [[ -f "$POM" ]] || die "no such pom: $POM"
  KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
  KAFKA_HOME="$ROOT/.cache/kafka/$KAFKA_VERSION"
}
use_pom "$ROOT/infra/kafka/pom.xml"
KAFKA_RUN="$RUN/kafka"
# Preferred broker and controller ports (stable addresses for the shared broker); private
# brokers (`broker start`) use 0 = any free port.
KAFKA_PORT_PREFERRED=39092
KAFKA_CPORT_PREFERRED=39093
REDIS_RUN="$RUN/redis"
LEASES="$RUN/leases"
REDIS_PROBE_PORT="${MESHTUNE_REDIS_PROBE_PORT:-6379}"
KAFKA_START_TIMEOUT=60
JAVA_MIN=17

log() { printf '\033[1;34m[services]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[services] warning:\033[0m %s\n' "$*" >&2; }
die() {
  printf '\033[1;31m[services] error:\033[0m %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# helpers

# True when something accepts TCP connections on 127.0.0.1:$1 (or $2:$1).
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# A free loopback port. Tries the preferred port first so addresses stay stable across runs,
# then random ports below Linux's ephemeral range (32768+) so outgoing connections cannot take
# the port between this check and the bind.
free_port() {
  local preferred="$1" avoid="${2:-}" p i
  if [[ "$preferred" != 0 && "$preferred" != "$avoid" ]] && ! port_open "$preferred"; then
    echo "$preferred"
    return
  fi
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    [[ "$p" == "$avoid" ]] && continue
    if ! port_open "$p"; then
      echo "$p"
      return
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# pid alive and its command line contains $2 (guards against a recycled pid).
pid_is() {
  local pid="$1" what="$2"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$what"
}

read_file() { if [[ -f "$1" ]]; then cat "$1"; fi; }

# SIGTERM, wait up to $3 seconds, then SIGKILL.
stop_pid() {
  local pid="$1" name="$2" wait_s="$3" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) did not stop within ${wait_s}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# Serialise up/down so that two concurrent `./dev test` runs in one tree do not both start
# (or one stop) a broker under the other. Daemons are started with `9>&-` so they do not
# inherit the lock and hold it for their whole life.
lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/services.lock"
  if command -v flock >/dev/null; then
    flock -w 180 9 || die "another services.sh holds $RUN/services.lock for over 180s"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis

redis_ping() { # host port [url]
  local reply
  if command -v redis-cli >/dev/null; then
    if [[ -n "${3:-}" ]]; then
      reply="$(timeout 3 redis-cli -u "$3" ping 2>/dev/null || true)"
    else
      reply="$(timeout 3 redis-cli -h "$1" -p "$2" ping 2>/dev/null || true)"
    fi
  else
    # No redis-cli: speak RESP over bash's /dev/tcp.
    # shellcheck disable=SC2016 # expanded by the inner bash
    reply="$(
      timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && IFS= read -r line <&3 && printf "%s" "$line"' "$1" "$2" 2>/dev/null || true
    )"
  fi
  [[ "${reply%$'\r'}" == "+PONG" || "${reply%$'\r'}" == "PONG" ]]
}

# Prints "host port" for a redis:// URL (enough for the PING probe; auth is left to redis-cli -u).
redis_url_hostport() {
  local rest="${1#*://}"
  rest="${rest##*@}"
  rest="${rest%%/*}"
  local host="${rest%:*}" port="${rest##*:}"
  [[ "$host" == "$rest" ]] && port=6379
  echo "${host:-127.0.0.1} ${port:-6379}"
}

own_redis_pid() {
  local pid
  pid="$(read_file "$REDIS_RUN/redis.pid")"
  if pid_is "$pid" redis-server; then echo "$pid"; fi
}

ensure_redis_server_binary() {
  command -v redis-server >/dev/null && return
  log "redis-server not found; installing Debian's redis-server package"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
      die "redis-server is missing and installing it needs root: run 'sudo apt-get install redis-server' (or set REDIS_URL)"
    fi
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null || die "redis-server is missing and apt-get is not available: install Redis 6+ (or set REDIS_URL)"
  "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed; cannot install redis-server (install it yourself or set REDIS_URL)"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends redis-server >&2 ||
    die "apt-get install redis-server failed (install it yourself or set REDIS_URL)"
  command -v redis-server >/dev/null || die "redis-server still missing after apt-get install"
}

start_redis() {
  ensure_redis_server_binary
  local port i
  port="$(free_port 36379)"
  mkdir -p "$REDIS_RUN/data"
  rm -f "$REDIS_RUN/redis.pid"
  # No persistence: test and demo data are disposable and must not leak into the next run.
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --daemonize yes --pidfile "$REDIS_RUN/redis.pid" --logfile "$REDIS_RUN/redis.log" \
    --dir "$REDIS_RUN/data" >&2 9>&- || die "redis-server failed to start (see $REDIS_RUN/redis.log)"
  for ((i = 0; i < 100; i++)); do
    if redis_ping 127.0.0.1 "$port"; then
      echo "$port" >"$REDIS_RUN/port"
      log "started redis-server on 127.0.0.1:$port (pid $(read_file "$REDIS_RUN/redis.pid"))"
      return
    fi
    sleep 0.1
  done
  die "redis-server on port $port did not answer PING within 10s (see $REDIS_RUN/redis.log)"
}

# Sets REDIS_URL_OUT, REDIS_WHO (external|machine|meshtune) and REDIS_STARTED (0|1).
up_redis() {
  REDIS_STARTED=0
  if [[ -n "${REDIS_URL:-}" ]]; then
    REDIS_URL_OUT="$REDIS_URL"
    REDIS_WHO=external
    # shellcheck disable=SC2046
    redis_ping $(redis_url_hostport "$REDIS_URL") "$REDIS_URL" || warn "REDIS_URL=$REDIS_URL does not answer PING"
    return
  fi
  if redis_ping 127.0.0.1 "$REDIS_PROBE_PORT"; then
    REDIS_URL_OUT="redis://127.0.0.1:$REDIS_PROBE_PORT"
    REDIS_WHO=machine
    return
  fi
  local pid port
  pid="$(own_redis_pid)"
  port="$(read_file "$REDIS_RUN/port")"
  if [[ -n "$pid" && -n "$port" ]] && redis_ping 127.0.0.1 "$port"; then
    REDIS_URL_OUT="redis://127.0.0.1:$port"
    REDIS_WHO=meshtune
    return
  fi
  [[ -n "$pid" ]] && stop_pid "$pid" redis-server 10 # alive but not answering: replace it
  start_redis
  REDIS_URL_OUT="redis://127.0.0.1:$(read_file "$REDIS_RUN/port")"
  REDIS_WHO=meshtune
  REDIS_STARTED=1
}

stop_redis() {
  local pid
  pid="$(own_redis_pid)"
  if [[ -n "$pid" ]]; then
    log "stopping redis-server (pid $pid)"
    stop_pid "$pid" redis-server 10
  fi
  rm -f "$REDIS_RUN/redis.pid" "$REDIS_RUN/port"
}

status_redis() {
  local pid port
  if [[ -n "${REDIS_URL:-}" ]]; then
    local state="not answering"
    # shellcheck disable=SC2046
    redis_ping $(redis_url_hostport "$REDIS_URL") "$REDIS_URL" && state=external
    status_line redis "$state" "$REDIS_URL" "(REDIS_URL)"
  elif redis_ping 127.0.0.1 "$REDIS_PROBE_PORT"; then
    status_line redis running "redis://127.0.0.1:$REDIS_PROBE_PORT" "(machine)"
  fi
  pid="$(own_redis_pid)"
  port="$(read_file "$REDIS_RUN/port")"
  if [[ -n "$pid" ]]; then
    status_line redis running "redis://127.0.0.1:$port" "(meshtune, pid $pid)"
  elif [[ -z "${REDIS_URL:-}" ]] && ! redis_ping 127.0.0.1 "$REDIS_PROBE_PORT"; then
    status_line redis "not running" "-" ""
  fi
}

# ---------------------------------------------------------------------------------------------
# Kafka

java_major() {
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  [[ -z "$v" ]] && {
    echo 0
    return
  }
  if [[ "$v" == 1.* ]]; then v="${v#1.}"; fi
  echo "${v%%[.+-]*}"
}

# Prints why the local broker cannot run, or nothing when it can.
kafka_missing_piece() {
  if ! command -v java >/dev/null; then
    echo "Java $JAVA_MIN+ (java not found on PATH; on Debian: apt-get install openjdk-17-jre-headless)"
    return
  fi
  local major
  major="$(java_major)"
  if ((major < JAVA_MIN)); then
    echo "Java $JAVA_MIN+ (found Java $major; Kafka $KAFKA_VERSION meshtune needs $JAVA_MIN or newer for the local broker)"
    return
  fi
  if [[ ! -f "$KAFKA_HOME/libs/.complete" ]] && ! command -v mvn >/dev/null; then
    echo "Maven (mvn not found; it fetches Kafka $KAFKA_VERSION once into .cache/kafka; on Debian: apt-get install maven)"
  fi
}

pom_hash() { sha1sum "$POM" | cut -d' ' -f1; }

# Fetch the broker's jars once per Kafka version (and pom change). Atomic: a half-finished
# fetch never looks complete.
fetch_kafka() {
  local libs="$KAFKA_HOME/libs"
  if [[ -f "$libs/.complete" && "$(cat "$libs/.complete")" == "$(pom_hash)" ]]; then return 0; fi
  log "fetching Apache Kafka $KAFKA_VERSION with Maven into ${KAFKA_HOME#"$ROOT"/} (once per version)"
  local tmp="$KAFKA_HOME/libs.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" \
    >"$KAFKA_HOME/fetch.log" 2>&1; then
    tail -n 30 "$KAFKA_HOME/fetch.log" >&2
    rm -rf "$tmp"
    warn "Maven could not fetch Kafka $KAFKA_VERSION (output above; full log in ${KAFKA_HOME#"$ROOT"/}/fetch.log)"
    return 1
  fi
  if [[ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    rm -rf "$tmp"
    warn "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing from the fetched libs"
    return 1
  fi
  pom_hash >"$tmp/.complete"
  rm -rf "$libs"
  mv "$tmp" "$libs"
  log "fetched Kafka $KAFKA_VERSION ($(find "$libs" -name '*.jar' | wc -l) jars) in $((SECONDS - t0))s"
}

own_kafka_pid() {
  local pid
  pid="$(read_file "$KAFKA_RUN/kafka.pid")"
  if pid_is "$pid" kafka.Kafka; then echo "$pid"; fi
}

kafka_ready() { # host:port
  if command -v node >/dev/null; then
    node "$ROOT/infra/scripts/kafka-ready.mjs" "$1" 2000 >/dev/null 2>&1
  else
    port_open "${1##*:}" && grep -q "Kafka Server started" "$KAFKA_RUN/server.log" 2>/dev/null
  fi
}

write_kafka_config() { # port controller_port
  local port="$1" cport="$2"
  cat >"$KAFKA_RUN/server.properties" <<EOF
# Written by infra/scripts/services.sh for a single-node local KRaft broker; regenerated on
# every fresh start. See docs/decisions/0002-local-kafka.md.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_RUN/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
# 50 by default; 10 makes the first consumer-group join (which creates this topic) quicker.
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF
  cat >"$KAFKA_RUN/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_RUN/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  cat >"$KAFKA_RUN/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

start_kafka() {
  local port cport libs="$KAFKA_HOME/libs" i pid uuid
  port="${KAFKA_FIXED_PORT:-$(free_port "$KAFKA_PORT_PREFERRED")}"
  cport="${KAFKA_FIXED_CPORT:-$(free_port "$KAFKA_CPORT_PREFERRED" "$port")}"
  rm -f "$KAFKA_RUN/kafka.pid" "$KAFKA_RUN/port"
  if [[ "${KAFKA_KEEP_DATA:-0}" == 1 && -f "$KAFKA_RUN/data/meta.properties" ]]; then
    # A restart of a private broker: same ports, same data and cluster id, nothing formatted.
    mkdir -p "$KAFKA_RUN"
  else
    # A local broker is disposable like the private Redis: fresh data on every start keeps
    # random test topics from piling up and avoids a cluster-id mismatch with old data.
    rm -rf "$KAFKA_RUN/data"
    mkdir -p "$KAFKA_RUN/data"
    : >"$KAFKA_RUN/server.log"
    write_kafka_config "$port" "$cport"
    local tools=(java -Dlog4j.configuration="file:$KAFKA_RUN/tools-log4j.properties" -cp "$libs/*" kafka.tools.StorageTool)
    uuid="$("${tools[@]}" random-uuid 2>>"$KAFKA_RUN/server.log" | tail -n1)" || {
      warn "kafka StorageTool random-uuid failed (see ${KAFKA_RUN#"$ROOT"/}/server.log)"
      return 1
    }
    "${tools[@]}" format -t "$uuid" -c "$KAFKA_RUN/server.properties" --ignore-formatted >>"$KAFKA_RUN/server.log" 2>&1 || {
      warn "kafka storage format failed (see ${KAFKA_RUN#"$ROOT"/}/server.log)"
      return 1
    }
  fi
  log "starting Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$port"
  # setsid: its own session, so Ctrl-C in the terminal that ran `up` does not hit it; the
  # inner shell writes its own pid and execs java, so the pid file names the JVM itself.
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_RUN/kafka.pid" \
    java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_RUN/log4j.properties" \
    -cp "$libs/*" kafka.Kafka "$KAFKA_RUN/server.properties" \
    </dev/null >"$KAFKA_RUN/stdout.log" 2>&1 9>&- &
  local t0=$SECONDS
  for ((i = 0; i < KAFKA_START_TIMEOUT * 2; i++)); do
    pid="$(read_file "$KAFKA_RUN/kafka.pid")"
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      warn "Kafka exited during start-up; last log lines:"
      tail -n 20 "$KAFKA_RUN/server.log" "$KAFKA_RUN/stdout.log" >&2 || true
      rm -f "$KAFKA_RUN/kafka.pid"
      return 1
    fi
    if [[ -n "$pid" ]] && port_open "$port" && kafka_ready "127.0.0.1:$port"; then
      echo "$port" >"$KAFKA_RUN/port"
      log "Kafka ready on 127.0.0.1:$port (pid $pid) after $((SECONDS - t0))s"
      return 0
    fi
    sleep 0.5
  done
  warn "Kafka did not become ready within ${KAFKA_START_TIMEOUT}s (see ${KAFKA_RUN#"$ROOT"/}/server.log); stopping it"
  [[ -n "$pid" ]] && stop_pid "$pid" kafka 20
  rm -f "$KAFKA_RUN/kafka.pid"
  return 1
}

# Sets KAFKA_BROKERS_OUT (empty when unavailable), KAFKA_WHO and KAFKA_STARTED.
up_kafka() {
  local require="$1" pid port missing
  KAFKA_STARTED=0
  KAFKA_BROKERS_OUT=""
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    KAFKA_BROKERS_OUT="$KAFKA_BROKERS"
    KAFKA_WHO=external
    return 0
  fi
  pid="$(own_kafka_pid)"
  port="$(read_file "$KAFKA_RUN/port")"
  if [[ -n "$pid" && -n "$port" ]] && port_open "$port"; then
    KAFKA_BROKERS_OUT="127.0.0.1:$port"
    KAFKA_WHO=meshtune
    return 0
  fi
  if [[ -n "$pid" ]]; then
    log "Kafka pid $pid is alive but not answering; restarting it"
    stop_pid "$pid" kafka 20
  fi
  missing="$(kafka_missing_piece)"
  if [[ -n "$missing" ]]; then
    if [[ "$require" == 1 ]]; then
      printf '\033[1;31m[services] error:\033[0m Kafka is required but cannot start: missing %s. Or set KAFKA_BROKERS to an existing broker.\n' "$missing" >&2
      return 1
    fi
    warn "Kafka not started: missing $missing. KAFKA_BROKERS stays unset (set it to use an existing broker)."
    return 0
  fi
  if ! fetch_kafka || ! start_kafka; then
    if [[ "$require" == 1 ]]; then
      printf '\033[1;31m[services] error:\033[0m Kafka is required but the local broker did not start (see above)\n' >&2
      return 1
    fi
    warn "continuing without Kafka; KAFKA_BROKERS stays unset"
    return 0
  fi
  KAFKA_BROKERS_OUT="127.0.0.1:$(read_file "$KAFKA_RUN/port")"
  KAFKA_WHO=meshtune
  KAFKA_STARTED=1
}

stop_kafka() {
  local pid
  pid="$(own_kafka_pid)"
  if [[ -n "$pid" ]]; then
    log "stopping Kafka (pid $pid)"
    # Controlled shutdown of a single KRaft node takes a few seconds; 30s covers a loaded box.
    stop_pid "$pid" kafka 30
  fi
  rm -f "$KAFKA_RUN/kafka.pid" "$KAFKA_RUN/port"
}

status_kafka() {
  local pid port
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    status_line kafka external "$KAFKA_BROKERS" "(KAFKA_BROKERS)"
    return
  fi
  pid="$(own_kafka_pid)"
  port="$(read_file "$KAFKA_RUN/port")"
  if [[ -n "$pid" && -n "$port" ]] && port_open "$port"; then
    status_line kafka running "127.0.0.1:$port" "(meshtune, pid $pid)"
  elif [[ -n "$pid" ]]; then
    status_line kafka starting "-" "(meshtune, pid $pid)"
  else
    status_line kafka "not running" "-" ""
  fi
}

# ---------------------------------------------------------------------------------------------
# leases: which live `up --started-file` runs use the services (see cmd_down)

lease_file() { echo "$LEASES/$(printf '%s' "$1" | sha1sum | cut -c1-16)"; }

add_lease() { # started_file owner_pid
  mkdir -p "$LEASES"
  printf '%s\n%s\n' "$2" "$1" >"$(lease_file "$1")"
}

# Prints the started-file of another live run holding a lease, if any.
other_live_lease() { # my_started_file
  local f owner sf
  [[ -d "$LEASES" ]] || return 0
  for f in "$LEASES"/*; do
    [[ -f "$f" ]] || continue
    owner="$(sed -n 1p "$f")"
    sf="$(sed -n 2p "$f")"
    [[ "$sf" == "$1" ]] && continue
    if kill -0 "$owner" 2>/dev/null && [[ -f "$sf" ]]; then
      echo "$sf"
      return 0
    fi
    rm -f "$f" # the run died without `down`
  done
}

# ---------------------------------------------------------------------------------------------
# commands

status_line() { printf '%-7s %-12s %-28s %s\n' "$1" "$2" "$3" "$4"; }

cmd_up() {
  local started_file="" env_file="$RUN/services.env" require=0
  while (($#)); do
    case "$1" in
      --started-file) started_file="${2:?--started-file needs a path}" && shift 2 ;;
      --env-file) env_file="${2:?--env-file needs a path}" && shift 2 ;;
      --require-kafka) require=1 && shift ;;
      *) die "unknown option for up: $1" ;;
    esac
  done
  lock
  up_redis
  [[ -n "$started_file" && "$REDIS_STARTED" == 1 ]] && echo redis >>"$started_file"
  local kafka_rc=0
  up_kafka "$require" || kafka_rc=$?
  [[ -n "$started_file" && "$KAFKA_STARTED" == 1 ]] && echo kafka >>"$started_file"
  # The caller (test.sh) is the run that holds the services until its `down`.
  [[ -n "$started_file" ]] && add_lease "$started_file" "$PPID"

  mkdir -p "$(dirname "$env_file")"
  {
    echo "# written by infra/scripts/services.sh up"
    printf 'REDIS_URL=%q\n' "$REDIS_URL_OUT"
    if [[ -n "$KAFKA_BROKERS_OUT" ]]; then
      printf 'KAFKA_BROKERS=%q\n' "$KAFKA_BROKERS_OUT"
    else
      echo "# KAFKA_BROKERS unset: no Kafka available (see ./dev services up)"
    fi
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  log "redis: $REDIS_URL_OUT ($REDIS_WHO)${KAFKA_BROKERS_OUT:+; kafka: $KAFKA_BROKERS_OUT (${KAFKA_WHO})}; env in ${env_file#"$ROOT"/}"
  return "$kafka_rc"
}

cmd_down() {
  local started_file=""
  while (($#)); do
    case "$1" in
      --started-file) started_file="${2:?--started-file needs a path}" && shift 2 ;;
      *) die "unknown option for down: $1" ;;
    esac
  done
  lock
  if [[ -z "$started_file" ]]; then
    stop_kafka
    stop_redis
    rm -rf "$LEASES"
    return
  fi
  rm -f "$(lease_file "$started_file")"
  [[ -f "$started_file" ]] || return 0
  local heir svc
  heir="$(other_live_lease "$started_file")"
  for svc in kafka redis; do
    grep -qx "$svc" "$started_file" || continue
    if [[ -n "$heir" ]]; then
      # Another run that is still going reused this service: hand it over instead of pulling
      # it from under that run's tests; that run's `down` stops it.
      log "$svc is still used by another run; leaving it running for that run to stop"
      grep -qx "$svc" "$heir" 2>/dev/null || echo "$svc" >>"$heir"
      continue
    fi
    case "$svc" in
      kafka) stop_kafka ;;
      redis) stop_redis ;;
    esac
  done
}

cmd_status() {
  status_redis
  status_kafka
}

# A private broker under --dir (see the header). Its own lock file, so it never waits on or
# blocks the shared services' lock.
cmd_broker() {
  local action="${1:-}" dir="" pom=""
  shift || true
  while (($#)); do
    case "$1" in
      --dir) dir="${2:?--dir needs a path}" && shift 2 ;;
      --pom) pom="${2:?--pom needs a path}" && shift 2 ;;
      *) die "unknown option for broker: $1" ;;
    esac
  done
  [[ -n "$dir" ]] || die "broker needs --dir DIR"
  mkdir -p "$dir"
  KAFKA_RUN="$(cd "$dir" && pwd)"
  [[ -n "$pom" ]] && use_pom "$(cd "$(dirname "$pom")" && pwd)/$(basename "$pom")"
  local pid
  pid="$(own_kafka_pid)"
  case "$action" in
    start)
      [[ -n "$pid" ]] && die "a broker is already running under $dir (pid $pid)"
      local missing
      missing="$(kafka_missing_piece)"
      [[ -z "$missing" ]] || die "cannot start Kafka $KAFKA_VERSION: missing $missing"
      # fetch_kafka is per version and shared with other runs: serialise fetches.
      mkdir -p "$ROOT/.cache"
      exec 8>"$ROOT/.cache/kafka.fetch.lock"
      if command -v flock >/dev/null; then flock -w 300 8 || die "another fetch of Kafka holds the lock for over 300s"; fi
      mkdir -p "$KAFKA_HOME"
      fetch_kafka || die "could not fetch Kafka $KAFKA_VERSION"
      exec 8>&-
      KAFKA_PORT_PREFERRED=0
      KAFKA_CPORT_PREFERRED=0
      if [[ -f "$KAFKA_RUN/data/meta.properties" && -f "$KAFKA_RUN/ports" ]]; then
        read -r KAFKA_FIXED_PORT KAFKA_FIXED_CPORT <"$KAFKA_RUN/ports"
        export KAFKA_FIXED_PORT KAFKA_FIXED_CPORT
        KAFKA_KEEP_DATA=1
      fi
      start_kafka 9>&- || die "Kafka $KAFKA_VERSION did not start under $dir"
      local port
      port="$(read_file "$KAFKA_RUN/port")"
      sed -n 's/^controller.quorum.voters=1@127.0.0.1:\([0-9]*\)$/\1/p' "$KAFKA_RUN/server.properties" |
        { read -r c && echo "$port $c" >"$KAFKA_RUN/ports"; }
      echo "KAFKA_BROKERS=127.0.0.1:$port"
      ;;
    stop)
      if [[ -n "$pid" ]]; then
        log "stopping private Kafka under $dir (pid $pid)"
        stop_pid "$pid" kafka 30
      fi
      rm -f "$KAFKA_RUN/kafka.pid" "$KAFKA_RUN/port"
      ;;
    *) die "usage: services.sh broker start|stop --dir DIR [--pom FILE]" ;;
  esac
}

cmd="${1:-}"
shift || true
case "$cmd" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  broker) cmd_broker "$@" ;;
  *) die "usage: services.sh broker start|stop --dir DIR [--pom FILE] | up [--started-file F] [--env-file F] [--require-kafka] | down [--started-file F] | status" ;;
esac
