# Shared by the benchmark scripts that run on Postgres: sourced, not run.
#
# Uses DATABASE_URL when set; otherwise creates a fresh Postgres database on the local server
# (postgres://postgres@127.0.0.1:5432), dropped on exit. REDIS_URL defaults to
# redis://127.0.0.1:6379. Sets `bin` to the bench binary: BENCH_BIN=path when given (A/B runs of two
# builds), else a release build of this checkout.

bench_db_name=""
bench_cleanup() {
  [[ -n "$bench_db_name" ]] && psql -q -h 127.0.0.1 -U postgres \
    -c "DROP DATABASE IF EXISTS $bench_db_name WITH (FORCE)" postgres >/dev/null 2>&1
  return 0
}
trap bench_cleanup EXIT INT TERM

if [[ -z "${DATABASE_URL:-}" ]]; then
  bench_db_name="waba_bench_$(date +%s)"
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $bench_db_name" postgres
  # Loopback: TLS to the database would only add noise to what this measures.
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$bench_db_name?sslmode=disable"
fi
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

bin="${BENCH_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release --quiet --bin bench
  bin="${CARGO_TARGET_DIR:-target}/release/bench"
fi
