#!/usr/bin/env bash
# Build what the playbook installs on the gates from this checkout:
#   dist/gatecast-<version>-py3-none-any.whl     the release (gate_release_artifact)
#   dist/wheelhouse-cp311-aarch64/                its dependencies for Raspberry Pi OS
#                                                 Bookworm arm64 (gate_release_wheelhouse)
# Usage: deploy/ansible/build-release.sh [python] (default: python3; pip must be there)
# Other gates: GATE_ARCH (aarch64, armv7l, x86_64), GATE_GLIBC (2.36 on Debian 12) and
# GATE_PYTHON (3.11 on Debian 12).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
checkout="$(cd "$here/../.." && pwd)"
python="${1:-python3}"
arch="${GATE_ARCH:-aarch64}"
glibc="${GATE_GLIBC:-2.36}"
gate_python="${GATE_PYTHON:-3.11}"
abi="cp${gate_python/./}"
# pip takes the platform tags literally: list every manylinux level up to the
# gate's glibc (manylinux2014 = 2.17).
platforms="manylinux2014_$arch"
for ((minor = 17; minor <= ${glibc#2.}; minor++)); do platforms+=" manylinux_2_${minor}_$arch"; done

dist="${GATE_DIST:-$here/dist}"
mkdir -p "$dist"
"$python" -m pip wheel -q --no-deps --wheel-dir "$dist" "$checkout"
version="$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$checkout/pyproject.toml")"
wheel="$dist/gatecast-$version-py3-none-any.whl"

# Binary wheels only: a gate never compiles anything.
wheelhouse="$dist/wheelhouse-$abi-$arch"
platform_args=()
for p in $platforms; do platform_args+=(--platform "$p"); done
"$python" -m pip download -q --only-binary=:all: "${platform_args[@]}" \
  --python-version "$gate_python" --implementation cp --abi "$abi" \
  --dest "$wheelhouse" "$wheel"
# pip evaluates environment markers for this machine, not the gate: add the
# requirements that hold only on the gate's CPU (e.g. lgpio on aarch64).
mapfile -t gate_only < <("$python" - "$wheel" "$arch" <<'PY'
import re, sys, zipfile
wheel, arch = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(wheel)
meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
for line in meta.splitlines():
    m = re.match(r"Requires-Dist: ([^;]+);\s*platform_machine\s*==\s*['\"]([^'\"]+)['\"]\s*$", line)
    if m and m.group(2) == arch:
        print(m.group(1).strip())
PY
)
if (( ${#gate_only[@]} )); then
  "$python" -m pip download -q --only-binary=:all: "${platform_args[@]}" \
    --python-version "$gate_python" --implementation cp --abi "$abi" \
    --dest "$wheelhouse" "${gate_only[@]}"
fi
rm -f "$wheelhouse"/gatecast-*.whl
echo "release:    $wheel"
echo "wheelhouse: $wheelhouse ($(ls "$wheelhouse" | wc -l) wheels)"
echo "pin it:     gate_release_version: $version"
