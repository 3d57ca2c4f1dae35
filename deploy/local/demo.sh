#!/usr/bin/env bash
# `make demo`: the whole product end to end on synthetic data, on this machine.
#
# Starts the local stack, migrates the database, starts a stream worker and the HTTP API
# (left running until `make stack-down`), generates a synthetic week of Kent homecare
# (5% of Kent by default: ECM_DEMO_SCALE=1 for all of it), sends it through Kafka with
# watermark ticks, waits for the worker to process it, and prints the KPI league table,
# the alert counts and where to look next.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$SCRIPT_DIR/../.."
BIN="$PWD/.venv/bin"
STATE_DIR="${ECM_STATE_DIR:-$HOME/.local/state/ecm}"
APP_DIR="$STATE_DIR/app"
SCALE="${ECM_DEMO_SCALE:-0.05}"
WEEK_START="${ECM_DEMO_WEEK_START:-2026-11-16}"
WEEK="${ECM_DEMO_WEEK:-2026-W47}"
export ECM_STATE_DIR="$STATE_DIR"
mkdir -p "$APP_DIR" "$STATE_DIR/logs" "$STATE_DIR/demo"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Start "ecm <args>" in the background as app NAME, unless it already runs.
start_app() {
  local name="$1"; shift
  local pidfile="$APP_DIR/$name.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$pidfile"))"; return
  fi
  setsid nohup "$BIN/ecm" "$@" >>"$STATE_DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  echo "$name started (pid $!, log $STATE_DIR/logs/$name.log)"
}

say "Database schema"
"$BIN/ecm" db migrate

say "Stream worker and HTTP API, each as its own database role"
# The API and the worker's sink connect as the least-privilege roles the stack created
# (migration 0011 grants them only what they need); migrations ran as the owner above.
PG_HOSTPORT_DB="127.0.0.1:${ECM_PG_PORT:-5433}/ecm"
export ECM_DB__API_DSN="${ECM_DB__API_DSN:-postgresql://ecm_api:ecm@$PG_HOSTPORT_DB}"
export ECM_DB__SINK_DSN="${ECM_DB__SINK_DSN:-postgresql://ecm_sink:ecm@$PG_HOSTPORT_DB}"
export ECM_DB__NOTIFY_DSN="${ECM_DB__NOTIFY_DSN:-postgresql://ecm_notify:ecm@$PG_HOSTPORT_DB}"
# The sink records a recalculation 5 s after a backdated rate arrives (default 60 s).
export ECM_RECALC__SETTLE_SECONDS="${ECM_RECALC__SETTLE_SECONDS:-5}"
export ECM_RECALC__CHECK_SECONDS="${ECM_RECALC__CHECK_SECONDS:-5}"
start_app worker worker --clock replay --worker-id demo
start_app api api

say "A synthetic week: $WEEK at ${SCALE} x Kent"
"$BIN/ecm" simulate --seed 42 --scale "$SCALE" --weeks 1 --start "$WEEK_START" \
  --out "$STATE_DIR/demo/week.jsonl"

say "Through Kafka to the worker and the database"
"$BIN/ecm" publish "$STATE_DIR/demo/week.jsonl" --wait --timeout 1200

say "Contract monitoring pack for $WEEK"
"$BIN/ecm" report --week "$WEEK"

say "Alerts"
"$BIN/python" - <<'PY'
import psycopg
from ecm.settings import get_settings

with psycopg.connect(get_settings().db.dsn.get_secret_value()) as conn:
    rows = conn.execute(
        "SELECT kind, count(*), count(*) FILTER (WHERE resolved_at IS NULL)"
        " FROM alerts GROUP BY kind ORDER BY kind").fetchall()
print(f"{'alert':<14}{'raised':>8}{'still open':>12}")
for kind, raised, still_open in rows:
    print(f"{kind:<14}{raised:>8}{still_open:>12}")
PY

say "A rate card uplifted back to the start of the week: the pipeline records the difference"
"$BIN/python" - "$STATE_DIR/demo/week.jsonl" >"$STATE_DIR/demo/uplift.jsonl" <<'PY'
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal


def events(path):
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                continue  # the simulated week has malformed lines on purpose


card = next(e for e in events(sys.argv[1]) if e.get("event_type") == "rate_card_published")
now = datetime.now(UTC)
rate = (Decimal(card["hourly_rate"]) * Decimal("1.05")).quantize(Decimal("0.01"))
print(json.dumps(card | {"event_id": f"{card['event_id']}.uplift-{now:%Y%m%d%H%M%S}",
                         "occurred_at": now.isoformat(), "hourly_rate": str(rate)}))
PY
recalculations() { "$BIN/ecm" recalc list --json | wc -l; }  # one line per recorded one
recorded_before="$(recalculations)"
"$BIN/ecm" publish "$STATE_DIR/demo/uplift.jsonl" --wait --timeout 300
echo "waiting for the sink's recalculation (it applies nothing)"
for _ in $(seq 1 90); do
  [[ "$(recalculations)" -gt "$recorded_before" ]] && break
  sleep 2
done
if [[ "$(recalculations)" -le "$recorded_before" ]]; then
  echo "no recalculation recorded in 3 minutes: see $STATE_DIR/logs/worker.log" >&2
  exit 1
fi
RECALC_ID="$("$BIN/ecm" recalc list --json | "$BIN/python" -c \
  'import json, sys; print(json.loads(sys.stdin.readlines()[0])["recalculation_id"])')"
"$BIN/ecm" recalc show "$RECALC_ID" --out "$STATE_DIR/demo/recalc"
sed -n '3p' "$STATE_DIR/demo/recalc/summary.md"

say "The web portal: one account per role (passwords are new on every run)"
API_PORT="${ECM_API__PORT:-8000}"
add_user() {  # user_id name role [provider]
  local out
  out="$("$BIN/ecm" users add "$1" --name "$2" --role "$3" ${4:+--provider-id "$4"} --replace 2>"$STATE_DIR/logs/users.log")" \
    || { cat "$STATE_DIR/logs/users.log" >&2; exit 1; }
  printf '  %-14s %-18s password %s\n' "$1" "($3${4:+ $4})" "$(sed -n 's/^password: *//p' <<<"$out")"
}
add_user duty-demo "Demo duty officer" duty_officer
add_user cm-demo "Demo contract manager" contract_manager
add_user p001-office "P001 office" provider P001
add_user admin-demo "Demo administrator" admin
echo "  Sign in at http://127.0.0.1:$API_PORT/portal"

cat <<EOF

Where to look next
  Web portal          http://127.0.0.1:$API_PORT/portal  (accounts above; README "The web portal")
  Worker metrics      http://127.0.0.1:9108/metrics
  Prometheus          http://127.0.0.1:9090  (alert rules: deploy/prometheus/rules/ecm.yml)
  API docs (OpenAPI)  http://127.0.0.1:8000/docs   (keys: .venv/bin/ecm providers add-key P001)
  Monitoring pack     .venv/bin/ecm report --week $WEEK --format html -o pack.html
  Replay a file       .venv/bin/ecm replay $STATE_DIR/demo/week.jsonl --out out/
  Recalculations      portal "Recalculations", or .venv/bin/ecm recalc list / show / apply
  Close the loop      .venv/bin/ecm exceptions list / ecm alerts list  (README "Closing the loop";
                      the week carries the default codes of docs/reason-codes.json)
  Dashboards          docker compose -f deploy/compose.yaml up  (Grafana on :3000)
  Stop everything     make stack-down
EOF
