"""What the gate admin and the central console share as web applications:
security headers and the strict CSP, the session key file, safe redirects,
passwords, login throttling and server-side session tokens
(`kiosk.web.security`, `kiosk.web.accounts`), the catalogues and Jinja's
gettext (`kiosk.web.i18n`), HTTP errors in words (`kiosk.web.errors`), and how times, sizes and durations are written
(`kiosk.web.formatting`), the page layout, login page and header forms
with Flask-Login's setup and the language route (`kiosk.web.pages`,
templates in kiosk/web/templates/web). Each app keeps its own storage (the gate's SQLite
through sqlite-utils, central's SQLAlchemy store) and its own pages; the
rules live here once.

Strings said here are in the shared catalogue `kiosk/web/translations`,
merged under each app's own (scripts/admin_catalogues.py --area web).
"""
