"""Blueprints, one per area of the admin."""

from __future__ import annotations


def register_blueprints(app) -> None:
    from admin.views import auth, health

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    for name in ("dashboard", "power", "media", "schedule", "notices", "logs", "config", "faces", "api"):
        try:
            module = __import__(f"admin.views.{name}", fromlist=["bp"])
        except ModuleNotFoundError as e:
            if e.name != f"admin.views.{name}":
                raise
            continue
        app.register_blueprint(module.bp)
