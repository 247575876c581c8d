"""The reference central server: content library, approval, assignment to
gates, publishing signed releases (TUF), report intake and a fleet overview.

It keeps its own SQLite database (`<state>/central.db`) and its own TUF
repository (`<state>/tuf/`); nothing here touches a gate's database.
"""
