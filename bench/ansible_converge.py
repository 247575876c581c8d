"""Provisioning time: the Ansible converge of site.yml into a fresh Debian 12
root (debootstrap, chroot connection), as tests/ansible/test_ansible.py runs it: the
first run, the second (idempotent) run, and an update to a new release; and how
long the provisioned gate (its units' sway and player, headless here) takes from
the player's start to all four faces of the example lit.

    sudo .venv/bin/python bench/ansible_converge.py

Runs those tests with -s and reads the times they print; the last line is
`first_converge_s: X`. The pristine root and the .deb files are cached in
/var/tmp/gatecast-test-cache, so debootstrap (1-4 min here) is not counted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider",
         "tests/ansible/test_ansible.py", "-k",
         "second_run or shows_every_face or update_to_a_new_release"],
        cwd=ROOT, capture_output=True, text=True)
    times = dict(re.findall(r"^(first|second|update) converge: (\d+) s$", proc.stdout, re.M))
    lit = re.search(r"^installed faces lit: ([\d.]+) s$", proc.stdout, re.M)
    if proc.returncode or len(times) != 3 or not lit:
        print(proc.stdout[-4000:] + proc.stderr[-2000:])
        return 1
    print(f"installed_faces_lit_s: {lit.group(1)} (player start to 4 faces lit, headless sway)")
    print(f"second_converge_s: {times['second']} (nothing changes)")
    print(f"update_converge_s: {times['update']} (new release into a new virtualenv)")
    print(f"first_converge_s: {times['first']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
