"""The player's resolver for `text` media: a slide spec becomes a PNG at the output's size.

Registered as the `text` entry of the `gatecast.resolvers` entry points. A spec that is malformed or that
the fonts cannot draw is Unplayable with the reason (the language named), so
the item is skipped and recorded, never shown as boxes. An "in turn" slide
plays as an mpv image sequence (`mf://`), one frame per language.
"""

from __future__ import annotations

from kiosk.player.resolve import Playable, ResolveContext, Unplayable, _media_file
from kiosk.schedule import Item
from kiosk.text.slide import SlideError, parse_spec, render

DEFAULT_SIZE = (1920, 1080)


def resolve_text(item: Item, ctx: ResolveContext) -> Playable:
    path = _media_file(item, ctx)
    settings = ctx.settings or {}
    try:
        spec = parse_spec(path.read_bytes())
        width = int(ctx.output.get("width") or DEFAULT_SIZE[0])
        height = int(ctx.output.get("height") or DEFAULT_SIZE[1])
        rendered = render(spec, width, height, ctx.cache_dir / "text", settings.get("text_fonts"),
                          ctx.media.root)
    except SlideError as e:
        raise Unplayable(f"text slide: {e}") from None
    duration = item.duration_s or spec.duration_s or float(settings.get("image_duration_s", 10.0))
    if len(rendered.paths) == 1:
        return Playable(item, str(rendered.paths[0]), "image", duration)
    # mpv shows the last frame of an image sequence for no time at all:
    # repeat it so every language gets its share of the duration.
    frames = [str(p) for p in rendered.paths] + [str(rendered.paths[-1])]
    fps = len(rendered.paths) / duration
    return Playable(item, "mf://" + ",".join(frames), "video", duration, options=(("mf-fps", f"{fps:.6f}"),))
