"""Text on screen: fonts and glyph coverage, text slides, the ticker and notices.

Modules: `fonts` (which font draws which language, and whether it can),
`layout` (shaping, line breaking, drawing with Pillow + libraqm), `slide`
(the JSON slide spec and its PNG rendering), `ticker` (the mpv overlay's
messages), `notices` (the notice table: set, clear, active), `cli`.
"""
