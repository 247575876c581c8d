"""gatecast gate controller: player, power, sync and the shared store."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("gatecast")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
