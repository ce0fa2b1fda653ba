#!/usr/bin/env bash
# Checks that deploy/Containerfile's runtime stage installs every library the binary needs: each
# `ldd` dependency outside the Swift toolchain (which --static-swift-stdlib links in) must be
# shipped (`dpkg -S`) by a package the stage's `apt-get install` names, by one of their
# dependencies (apt installs those too), or by debian:bookworm-slim itself.
#
#   deploy/check-runtime-libraries.sh BINARY [CONTAINERFILE]
#
# Exit 0 and one line per library; exit 1 naming each library nothing provides.
set -euo pipefail
binary=${1:?usage: $0 BINARY [CONTAINERFILE]}
containerfile=${2:-$(dirname "$0")/Containerfile}
# In the slim image already: the C library and the C++ runtime apt itself needs.
base_image="libc6 libgcc-s1 libstdc++6"

grep -q -- '--static-swift-stdlib' "$containerfile" || {
    echo "$containerfile: the build does not use --static-swift-stdlib, so the Swift runtime would be missing" >&2
    exit 1
}
# The runtime stage is what follows the last FROM; continuation lines are joined first.
packages=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$containerfile" \
    | awk '/^FROM /{stage=""} {stage=stage"\n"$0} END{print stage}' \
    | grep -o 'apt-get install[^&;]*' | sed 's/apt-get install//' | tr ' ' '\n' | grep -v '^-' | grep -v '^$' || true)
[ -n "$packages" ] || { echo "$containerfile: no apt-get install in the runtime stage" >&2; exit 1; }

# What apt installs for that list: the packages and everything they depend on.
installed=$( (echo "$base_image" | tr ' ' '\n'; apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances $packages $base_image | grep -v '^ ') | tr -d '<>' | sort -u)

swift_lib=$(cd "$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift" && pwd)
missing=0
while read -r name path; do
    case "$path" in
    "$swift_lib"/*) echo "static  $name (Swift runtime, linked into the release binary)"; continue ;;
    esac
    owners=$( (dpkg -S "*/$name" 2>/dev/null || true) | awk -F': ' -v n="/$name" 'substr($2, length($2) - length(n) + 1) == n {print $1}' \
        | tr ',' '\n' | sed 's/^ *//; s/:.*//' | sort -u)
    found=""
    for o in $owners; do grep -qx "$o" <<<"$installed" && found=$o && break; done
    if [ -n "$found" ]; then
        echo "ok      $name from $found"
    else
        echo "MISSING $name (from ${owners:-no known package}; the runtime stage installs: $(echo $packages))" >&2
        missing=1
    fi
done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
exit $missing
