#!/usr/bin/env bash
# Checks the JSON Schemas in schemas/ against the fixtures in Tests/schema/examples/:
# every valid_* fixture must validate, every line of every invalid_* fixture must be
# rejected, and validate.py itself must fail empty runs and report usage errors.
# Exits non-zero if any check does not come out as expected.
set -u

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
schemas="${SCHEMAS:-$root/schemas}"
ex="$here/examples"
validate=(python3 "$here/validate.py" --schemas "$schemas")
PYTHON_OK=$(python3 -c 'import jsonschema, referencing; print("ok")' 2>/dev/null)
if [ "$PYTHON_OK" != "ok" ]; then
    echo "run_examples: python3 with the 'jsonschema' and 'referencing' packages is required (pip install jsonschema)" >&2
    exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

checks=0
bad=0

# expect NAME WANTED_EXIT_CODE COMMAND...
expect() {
    local name="$1" want="$2"
    shift 2
    local out rc
    out="$("$@" 2>&1)"
    rc=$?
    checks=$((checks + 1))
    local summary
    summary="$(printf '%s\n' "$out" | grep '^schema: ' | tail -n 1)"
    if [ "$rc" -eq "$want" ]; then
        printf 'ok    %-58s exit %d  %s\n' "$name" "$rc" "$summary"
    else
        bad=$((bad + 1))
        printf 'FAIL  %-58s exit %d, wanted %d\n' "$name" "$rc" "$want"
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

echo "schemas: $schemas"
echo "fixtures: $ex"

# Positive fixtures: every message validates.
expect "event       valid_events.jsonl"                 0 "${validate[@]}" --kind event "$ex/valid_events.jsonl"
expect "trigger     valid_triggers.jsonl (+trigger ids)" 0 "${validate[@]}" --kind trigger --check-trigger-ids "$ex/valid_triggers.jsonl"
expect "conversion  valid_conversions.jsonl"            0 "${validate[@]}" --kind conversion "$ex/valid_conversions.jsonl"
expect "dead_letter valid_dead_letters.jsonl"           0 "${validate[@]}" --kind dead_letter "$ex/valid_dead_letters.jsonl"

# Negative fixtures: every line is rejected.
expect "event       invalid_events.jsonl (expect-invalid)"       0 "${validate[@]}" --kind event --expect-invalid "$ex/invalid_events.jsonl"
expect "trigger     invalid_triggers.jsonl (expect-invalid)"     0 "${validate[@]}" --kind trigger --expect-invalid "$ex/invalid_triggers.jsonl"
expect "withheld    valid_withheld.jsonl (+trigger ids)"       0 "${validate[@]}" --kind withheld --check-trigger-ids "$ex/valid_withheld.jsonl"
expect "withheld    invalid_withheld.jsonl (expect-invalid)"   0 "${validate[@]}" --kind withheld --expect-invalid "$ex/invalid_withheld.jsonl"
expect "trigger     valid_withheld.jsonl (a trigger may carry withheld only by the schema)" 0 "${validate[@]}" --kind trigger "$ex/valid_withheld.jsonl"
expect "withheld    valid_triggers.jsonl (no reason: not withheld)" 0 "${validate[@]}" --kind withheld --expect-invalid "$ex/valid_triggers.jsonl"
expect "conversion  invalid_conversions.jsonl (expect-invalid)"  0 "${validate[@]}" --kind conversion --expect-invalid "$ex/invalid_conversions.jsonl"
expect "dead_letter invalid_dead_letters.jsonl (expect-invalid)" 0 "${validate[@]}" --kind dead_letter --expect-invalid "$ex/invalid_dead_letters.jsonl"

# The modes must bite: a negative fixture fails a plain run, a positive one fails --expect-invalid.
expect "event       invalid_events.jsonl (plain run fails)"     1 "${validate[@]}" --kind event "$ex/invalid_events.jsonl"
expect "trigger     valid_triggers.jsonl (expect-invalid fails)" 1 "${validate[@]}" --kind trigger --expect-invalid "$ex/valid_triggers.jsonl"

# Kinds are not interchangeable.
expect "conversion  valid_triggers.jsonl (wrong kind)"   0 "${validate[@]}" --kind conversion --expect-invalid "$ex/valid_triggers.jsonl"
expect "trigger     valid_conversions.jsonl (wrong kind)" 0 "${validate[@]}" --kind trigger --expect-invalid "$ex/valid_conversions.jsonl"
expect "event       valid_triggers.jsonl (wrong kind)"   0 "${validate[@]}" --kind event --expect-invalid "$ex/valid_triggers.jsonl"
expect "dead_letter valid_events.jsonl (wrong kind)"     0 "${validate[@]}" --kind dead_letter --expect-invalid "$ex/valid_events.jsonl"

# --check-trigger-ids catches a schema-valid trigger whose id is not the spec's hash.
head -n 1 "$ex/valid_triggers.jsonl" | sed 's/"touch":1,/"touch":2,/' > "$tmp/wrong_id.jsonl"
expect "trigger     touch changed, id kept (--check-trigger-ids)" 1 "${validate[@]}" --kind trigger --check-trigger-ids "$tmp/wrong_id.jsonl"
expect "trigger     touch changed, id kept (schema only)"         0 "${validate[@]}" --kind trigger "$tmp/wrong_id.jsonl"

# An empty run must not pass, in either mode.
: > "$tmp/empty.jsonl"
printf '\n  \n\n' > "$tmp/blank.jsonl"
expect "empty file fails"                    1 "${validate[@]}" --kind trigger "$tmp/empty.jsonl"
expect "blank lines only fail"               1 "${validate[@]}" --kind event "$tmp/blank.jsonl"
expect "empty file fails (expect-invalid)"   1 "${validate[@]}" --kind event --expect-invalid "$tmp/empty.jsonl"

# Usage errors exit 2.
expect "usage: unknown kind"      2 "${validate[@]}" --kind order "$ex/valid_events.jsonl"
expect "usage: no files"          2 "${validate[@]}" --kind event
expect "usage: missing file"      2 "${validate[@]}" --kind event "$tmp/does-not-exist.jsonl"
expect "usage: missing schemas"   2 python3 "$here/validate.py" --schemas "$tmp/no-schemas" --kind event "$ex/valid_events.jsonl"

echo "run_examples: $((checks - bad)) of $checks checks as expected"
[ "$bad" -eq 0 ]
