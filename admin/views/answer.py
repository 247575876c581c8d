"""How a page answers a form post that worked."""

from __future__ import annotations

from flask import flash, redirect


def done(message: str, target: str):
    """A flash message and a redirect (post/redirect/get)."""
    flash(message, "ok")
    return redirect(target)
