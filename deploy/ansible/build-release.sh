#!/usr/bin/env bash
# Build what the playbook installs on the gates from this checkout:
#   dist/gatecast-<version>-py3-none-any.whl     the release (gate_release_artifact)
#   dist/wheelhouse-cp311-aarch64/                its dependencies for Raspberry Pi OS
#                                                 Bookworm arm64 (gate_release_wheelhouse)
# Usage: deploy/ansible/build-release.sh [python] (default: python3; pip must be there)
# Other gate platforms: set GATE_PLATFORMS (pip --platform tags) and GATE_PYTHON (e.g. 3.11).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
checkout="$(cd "$here/../.." && pwd)"
python="${1:-python3}"
platforms="${GATE_PLATFORMS:-manylinux2014_aarch64 manylinux_2_28_aarch64}"
gate_python="${GATE_PYTHON:-3.11}"
abi="cp${gate_python/./}"
arch="${platforms##*_}"

mkdir -p "$here/dist"
"$python" -m pip wheel -q --no-deps --wheel-dir "$here/dist" "$checkout"
version="$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$checkout/pyproject.toml")"
wheel="$here/dist/gatecast-$version-py3-none-any.whl"

# Binary wheels only: a gate never compiles anything.
wheelhouse="$here/dist/wheelhouse-$abi-$arch"
platform_args=()
for p in $platforms; do platform_args+=(--platform "$p"); done
"$python" -m pip download -q --only-binary=:all: "${platform_args[@]}" \
  --python-version "$gate_python" --implementation cp --abi "$abi" \
  --dest "$wheelhouse" "$wheel"
rm -f "$wheelhouse"/gatecast-*.whl
echo "release:    $wheel"
echo "wheelhouse: $wheelhouse ($(ls "$wheelhouse" | wc -l) wheels)"
echo "pin it:     gate_release_version: $version"
