"""Where the web assets the gate admin and the central console share live: the
top-level static/ folder of the checkout (one stylesheet, one small script, no
CDN), installed from the wheel as the package data `gatecast_static`."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def static_folder() -> Path:
    """The folder both Flask apps serve under /static/."""
    spec = importlib.util.find_spec("gatecast_static")
    # An installed wheel has a plain folder; an editable install maps the
    # name to the checkout's static/ (a namespace package: no __init__.py).
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "app.css").is_file():
            return Path(location)
    raise FileNotFoundError("gatecast's web assets (gatecast_static) are not installed: "
                            "reinstall gatecast (pip install -e . in a checkout)")
