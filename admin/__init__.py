"""The gate's local admin: a Flask app for technicians on the gate's LAN.

Served with gunicorn (`gatecast admin --bind HOST:PORT`, or
`gunicorn 'admin:create_app()'`). The factory lives in admin/app.py and is
imported on first use: the player imports `admin.migrations` at every start
and must not pay for loading Flask (about 0.5 s of CPU and 11 MB on a Pi-class
controller).
"""

__all__ = ["create_app"]


def __getattr__(name):
    if name == "create_app":
        from admin.app import create_app

        return create_app
    raise AttributeError(f"module 'admin' has no attribute {name!r}")
