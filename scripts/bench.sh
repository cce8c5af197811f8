#!/usr/bin/env bash
# `make bench`: the ingest benchmark on SQLite and on a throwaway PostgreSQL, each with the
# flat-cost runs (100 vs 2,000 groups) and a profile; issue 13's typical programme (20
# groups, ~10 targets reached per event) on SQLite; the storage floor of ingestion (the
# rows alone, no engine); the user-view benchmark; one-event calls from one sequential
# client next to /health (issue 13); a server's memory per request (issue 12, full size, 3
# runs on each database: about 8 minutes); the webhooks, scale and streak-sweep (issue 16)
# benchmarks; issue 15's event import through the CLI (1,000,000 events: one to two
# hours); results in benchmarks/RESULTS.md, and last
# issue 13's summary of them all (its `issue-13` section), read from the figures each
# benchmark writes to var/bench/<section>.json.
#
# Sizes are cut to keep the whole run near 40 minutes on the 2-core machine (each ingest
# configuration runs 3 times on each database, and the user-view data takes minutes to
# seed): at the rate the engine reaches today the issue's 100,000 events take about 8
# minutes per run. Override to run bigger, e.g. BENCH_EVENTS=100000 make bench.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
EVENTS=${BENCH_EVENTS:-10000}
CUSTOMERS=${BENCH_CUSTOMERS:-10000}
REPEAT=${BENCH_REPEAT:-3}
PROFILE_EVENTS=${BENCH_PROFILE_EVENTS:-1000}
NOTE="\`make bench\` sends ${EVENTS} events per run (the issue asks for 100,000) and \
profiles ${PROFILE_EVENTS}, to keep \`make bench\` near 40 minutes; \
BENCH_EVENTS=100000 make bench runs the full size."

source scripts/pg.sh
trap pg_stop EXIT
# The summary reads only this run's figures: a benchmark that fails leaves none, and its
# rows say "not measured" instead of showing an older run's.
mkdir -p var/bench && rm -f var/bench/*.json

sizes=(--events "$EVENTS" --customers "$CUSTOMERS" --groups 100 --flat-groups 2000
  --repeat "$REPEAT" --profile-events "$PROFILE_EVENTS")
status=0
"$PY" -m benchmarks.ingest --database sqlite "${sizes[@]}" --note "$NOTE" || status=$?
"$PY" -m benchmarks.ingest --database postgresql --postgres-url "$MILESTONES_TEST_POSTGRES_URL" \
  "${sizes[@]}" --note "$NOTE" || status=$?
"$PY" -m benchmarks.ingest --database sqlite --events "$EVENTS" --customers "$CUSTOMERS" \
  --groups 20 --mix typical --flat-groups 0 --repeat "$REPEAT" \
  --profile-events "$PROFILE_EVENTS" --section ingest-typical-sqlite --note "$NOTE" || status=$?
for db in sqlite postgresql; do "$PY" -m benchmarks.storage_floor --database "$db" --postgres-url "$MILESTONES_TEST_POSTGRES_URL" || status=$?; done
for db in sqlite postgresql; do "$PY" -m benchmarks.user_view --database "$db" --postgres-url "$MILESTONES_TEST_POSTGRES_URL" || status=$?; done
"$PY" -m benchmarks.one_event --rounds "$REPEAT" || status=$?
for db in sqlite postgresql; do "$PY" -m benchmarks.memory --database "$db" --postgres-url "$MILESTONES_TEST_POSTGRES_URL" --repeat "${BENCH_MEMORY_REPEAT:-3}" || status=$?; done
# Issue 14: ingestion next to a dead webhook endpoint, delivery throughput, lag (~3 min each).
for db in sqlite postgresql; do "$PY" -m benchmarks.webhooks --database "$db" --postgres-url "$MILESTONES_TEST_POSTGRES_URL" || status=$?; done
# Issue 17: the standard ingest mix with 1, 2 and 4 workers and with two servers, then the
# user view with and without a streaming replica (its own primary and replica, ~8 min).
"$PY" -m benchmarks.scale --postgres-url "$MILESTONES_TEST_POSTGRES_URL" || status=$?
# Issue 16: one streak sweep over 100,000 customers in 10 daily groups at a period end
# (seeded in bulk SQL; median of 3; about 4 minutes per database).
for db in sqlite postgresql; do "$PY" -m benchmarks.sweep --database "$db" --postgres-url "$MILESTONES_TEST_POSTGRES_URL" || status=$?; done
# Issue 15: 1,000,000 events of the standard mix through `milestones import events` on SQLite
# (events/s, peak RSS, time to the first progress update), the bulk endpoint on the first
# 20,000 of them, and a simulation over all of them. At the engine's rate with 100 groups
# (152 events/s measured over the whole 1,000,000 on 2026-12-01) one CLI run takes about two
# hours, so its repeats stop at a 15-min budget (the report says how many ran). Override:
# BENCH_IMPORT_EVENTS, BENCH_IMPORT_GROUPS, BENCH_IMPORT_BULK_EVENTS.
"$PY" -m benchmarks.import_events --events "${BENCH_IMPORT_EVENTS:-1000000}" \
  --customers "$CUSTOMERS" --groups "${BENCH_IMPORT_GROUPS:-100}" \
  --bulk-events "${BENCH_IMPORT_BULK_EVENTS:-20000}" || status=$?
# Issue 18: the console's customer page for a customer in 50 groups (goal < 200 ms; ~1 min).
"$PY" -m benchmarks.console || status=$?
# Issue 13's table, from the figures the benchmarks above wrote (var/bench/*.json).
"$PY" -m benchmarks.summary || status=$?
# A non-zero status means the engine answered something wrong, or a request grew the
# server past its memory bound: see RESULTS.md.
exit "$status"
