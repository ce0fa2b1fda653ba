#!/usr/bin/env bash
# Installs what Rekindle's build, demo and tests need on a fresh Debian machine (Swift is
# expected on the machine already). Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Rekindle needs Swift 6.1 or later)" >&2; exit 1; }
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
command -v git >/dev/null || need_apt+=(git)
# Kafka through Debian's librdkafka (headers and the mock cluster); kcat checks our wire format
# from someone else's client; promtool (in Debian's prometheus package) checks /metrics.
dpkg -s librdkafka-dev >/dev/null 2>&1 || need_apt+=(librdkafka-dev)
command -v kcat >/dev/null || need_apt+=(kcat)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# The back-test page's test opens it in a headless browser (Debian's chromium).
command -v chromium >/dev/null || need_apt+=(chromium)

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The schema tests validate our output with Python's jsonschema (someone else's validator).
if ! python3 -c 'import jsonschema, referencing' 2>/dev/null; then
    echo "setup: pip install jsonschema"
    python3 -m pip install --quiet jsonschema 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages jsonschema
fi
