"""Only what pyproject.toml cannot say: the top-level static/ folder (the web
assets the gate admin and the central console share) goes into the wheel as
the package `gatecast_static` (kiosk/webassets.py finds it)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["kiosk*", "admin*", "central*"]) + ["gatecast_static"],
    package_dir={"gatecast_static": "static"},
)
