#!/usr/bin/env bash
# Set up a development/CI machine (Debian 12 or Raspberry Pi OS Bookworm):
# system packages, then a virtualenv in .venv with gatecast installed.
#   scripts/setup.sh           # what the demo needs
#   scripts/setup.sh --tests   # also what the test suite needs (chromium, ansible ...)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--tests" ]] && with_tests=1

# Runtime: mpv drives the faces, ffmpeg/ffprobe make and check media, Xvfb
# gives mpv a display where none exists, Noto fonts cover vi/en/zh/lo/km.
packages=(python3 python3-venv python3-pip mpv ffmpeg xvfb xauth libgl1-mesa-dri
          fonts-noto-core fonts-noto-cjk fontconfig iproute2 sqlite3 ca-certificates)
if (( with_tests )); then
  # Tests: a real browser for the admin, a Debian root for the Ansible
  # converge, nft and systemd-analyze to check what Ansible wrote,
  # nginx to serve the central repository with deploy/nginx's config, with
  # nchan holding the gates' change feed and lua keeping its token answers;
  # PostgreSQL for central's tests on both stores (tests/support/postgres.py starts a throwaway cluster as the
  # unprivileged `postgres` user the package makes; its service is not needed).
  packages+=(chromium debootstrap nftables systemd nginx-light libnginx-mod-nchan
            libnginx-mod-http-lua postgresql)
  # curl: the change feed's HTTP/2 client in tests/central/test_central_feed.py.
  packages+=(curl)
  # The player's display tests: a real sway (headless, virtual outputs),
  # swaybg for its black background, grim to capture outputs, wlr-randr and
  # wf-recorder to look at and film them. The Ansible test starts the
  # converged gate under sway too, and checks sway's unit against its man pages.
  packages+=(sway swaybg grim wlr-randr wf-recorder)
  # pdftotext/pdftoppm read back and render central's monthly report PDF.
  packages+=(poppler-utils)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if (( with_tests )) && [[ $(id -u) -eq 0 ]] && ! id gatecast-test >/dev/null 2>&1; then
  # sway refuses to run as root: the tests run it as this unprivileged user.
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin gatecast-test
fi
if (( with_tests )) && [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  # PostgreSQL refuses to run as root: the test cluster runs as this user
  # (Debian's postgresql package normally creates it).
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if (( with_tests )); then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "setup: done ($(.venv/bin/gatecast --version))"
