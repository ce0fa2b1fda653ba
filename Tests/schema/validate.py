#!/usr/bin/env python3
"""Validate files of Rekindle messages (JSON lines) against the JSON Schemas in schemas/.

Usage:
  python3 Tests/schema/validate.py --schemas schemas --kind trigger FILE [FILE...]
  python3 Tests/schema/validate.py --schemas schemas --kind event --expect-invalid FILE...

Kinds: event, trigger, conversion, dead_letter, churn_score, withheld, backtest_report (the one-line JSON report).

Every non-empty (non-whitespace) line of every FILE is one message. Each message is parsed
as strict JSON (no NaN/Infinity, no duplicate keys, valid UTF-8) and checked with a
Draft 2020-12 validator; $refs between the schema files are resolved locally through a
`referencing` registry (nothing is fetched over the network). There is no FormatChecker:
the schemas' patterns do the work. Patterns are matched with ECMA-262-like semantics
(ASCII classes, a final `$` that does not match before a trailing newline).

For output kinds (trigger, conversion, dead_letter, churn_score, backtest_report) an "integer" must be written as a
JSON integer (1, not 1.0): outputs have exact shapes. Input events follow JSON Schema's
usual rule (1.0 is an integer).

Prints one line per failing message (FILE:LINE: message), then a summary line
`schema: N passed, M failed` (one count per message). In --expect-invalid mode every
message must FAIL; a message that fails counts as passed, one that validates as failed.

Exit status: 0 all as expected; 1 any message not as expected, or no message checked at
all; 2 usage error (bad arguments, missing file or schema, invalid schema).
"""

import argparse
import hashlib
import json
import os
import re
import sys

try:
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError, best_match
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError as e:  # pragma: no cover
    print(f"validate.py: needs the 'jsonschema' and 'referencing' packages ({e}); pip install jsonschema",
          file=sys.stderr)
    sys.exit(2)

KINDS = {
    "event": "event.schema.json",
    "trigger": "trigger.schema.json",
    "conversion": "conversion.schema.json",
    "dead_letter": "dead_letter.schema.json",
    "churn_score": "churn-scores.schema.json",
    "withheld": "withheld.schema.json",
    "backtest_report": "backtest-report.schema.json",
}
OUTPUT_KINDS = {"trigger", "conversion", "dead_letter", "churn_score", "withheld", "backtest_report"}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_MESSAGE = 300  # characters of an error message printed per failure

_pattern_cache = {}


def _compile(pattern):
    rx = _pattern_cache.get(pattern)
    if rx is None:
        p = pattern
        # ECMA-262 `$` (no multiline flag) matches only at the very end; Python's also
        # matches before a final "\n". Make a trailing unescaped `$` strict.
        if p.endswith("$") and not p.endswith("\\$"):
            p = p[:-1] + r"\Z"
        rx = re.compile(p, re.ASCII)
        _pattern_cache[pattern] = rx
    return rx


def _pattern(validator, patrn, instance, schema):
    if validator.is_type(instance, "string") and not _compile(patrn).search(instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _strict_integer(checker, instance):
    return isinstance(instance, int) and not isinstance(instance, bool)


def make_validator_class(strict_integers):
    type_checker = Draft202012Validator.TYPE_CHECKER
    if strict_integers:
        type_checker = type_checker.redefine("integer", _strict_integer)
    return validators.extend(
        Draft202012Validator,
        validators={"pattern": _pattern},
        type_checker=type_checker,
    )


class UsageError(Exception):
    pass


def load_registry(schema_dir):
    if not os.path.isdir(schema_dir):
        raise UsageError(f"schema directory not found: {schema_dir}")
    registry = Registry()
    by_file = {}
    for name in sorted(os.listdir(schema_dir)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(schema_dir, name)
        try:
            with open(path, encoding="utf-8") as f:
                contents = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read schema {path}: {e}")
        try:
            Draft202012Validator.check_schema(contents)
        except Exception as e:
            raise UsageError(f"invalid schema {path}: {getattr(e, 'message', e)}")
        if contents.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
            raise UsageError(f"schema {path} is not draft 2020-12: {contents.get('$schema')}")
        # Drop $schema in memory: jsonschema switches to the stock validator class for any
        # (sub)schema that names one, which would bypass the pattern and integer rules below.
        contents = {k: v for k, v in contents.items() if k != "$schema"}
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        uri = contents.get("$id") or name
        registry = registry.with_resource(uri, resource)
        by_file[name] = contents
    return registry, by_file


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def parse_line(raw):
    """Returns (message, None) or (None, error text)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not valid UTF-8: {e}"
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates), None
    except ValueError as e:
        return None, f"not valid JSON: {e}"


def epoch_millis(output_time):
    # yyyy-mm-ddThh:mm:ss.SSSZ (already pattern-checked)
    from datetime import datetime, timezone
    dt = datetime.strptime(output_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (int(dt.timestamp()) * 1000) + dt.microsecond // 1000


def check_trigger_id(msg):
    """Extra check (--check-trigger-ids): trigger_id is the hash the spec defines."""
    fired = epoch_millis(msg["fired_at"])
    source = f"{msg['rule_id']}|{msg['customer_id']}|{fired}|{msg['touch']}"
    want = hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]
    if msg["trigger_id"] != want:
        return f"trigger_id {msg['trigger_id']} is not sha256({source!r})[:16 bytes] = {want}"
    return None


def describe(error):
    where = "/".join(str(p) for p in error.absolute_path)
    msg = error.message
    if len(msg) > MAX_MESSAGE:
        msg = msg[:MAX_MESSAGE] + "..."
    return f"{where}: {msg}" if where else msg


def main(argv):
    ap = argparse.ArgumentParser(
        prog="validate.py",
        description="Validate JSON-lines files of Rekindle messages against schemas/.")
    ap.add_argument("--schemas", required=True, help="directory holding the *.schema.json files")
    ap.add_argument("--kind", required=True, choices=sorted(KINDS), help="message kind of every line")
    ap.add_argument("--expect-invalid", action="store_true",
                    help="assert every message FAILS validation (negative fixtures)")
    ap.add_argument("--check-trigger-ids", action="store_true",
                    help="kinds trigger and withheld: also check trigger_id = first 16 bytes of "
                         "sha256('rule_id|customer_id|fired_at_ms|touch')")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="in --expect-invalid mode, print why each message was rejected")
    ap.add_argument("files", nargs="+", metavar="FILE")
    args = ap.parse_args(argv)  # exits 2 on usage errors

    if args.check_trigger_ids and args.kind not in ("trigger", "withheld"):
        ap.error("--check-trigger-ids applies to --kind trigger and withheld only")

    try:
        registry, by_file = load_registry(args.schemas)
        schema_file = KINDS[args.kind]
        if schema_file not in by_file:
            raise UsageError(f"schema {schema_file} not found in {args.schemas}")
        for path in args.files:
            if not os.path.isfile(path):
                raise UsageError(f"no such file: {path}")
    except UsageError as e:
        print(f"validate.py: {e}", file=sys.stderr)
        return 2

    cls = make_validator_class(strict_integers=args.kind in OUTPUT_KINDS)
    validator = cls(by_file[schema_file], registry=registry)

    passed = failed = 0
    for path in args.files:
        with open(path, "rb") as f:
            data = f.read()
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
                continue
            msg, problem = parse_line(raw)
            if problem is None:
                error = best_match(validator.iter_errors(msg))
                if error is not None:
                    problem = describe(error)
                elif args.check_trigger_ids:
                    problem = check_trigger_id(msg)
            if args.expect_invalid:
                if problem is None:
                    failed += 1
                    print(f"{path}:{lineno}: expected invalid, but the message validates")
                else:
                    passed += 1
                    if args.verbose:
                        print(f"{path}:{lineno}: rejected as expected: {problem}")
            else:
                if problem is None:
                    passed += 1
                else:
                    failed += 1
                    print(f"{path}:{lineno}: {problem}")

    print(f"schema: {passed} passed, {failed} failed")
    if passed + failed == 0:
        print("validate.py: no message checked (every file empty); an empty run does not pass",
              file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
