"""`gatecast notice` (set, clear, list) and `gatecast text` (fonts, render)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from kiosk.cliutil import state_options
from kiosk.text.fonts import LANGUAGE_ORDER, LANGUAGES, font_chain, font_problems
from kiosk.web import formatting
from kiosk.web.i18n import N_, gate_gettext, say

# What a technician reads from `gatecast notice`, in the gate's language (the
# `language` setting): kiosk/text/translations (scripts/admin_catalogues.py
# --area text) over the shared kiosk/web catalogue.
CATALOGUE = Path(__file__).parent / "translations"
LEVEL_NAMES = {"emergency": N_("emergency"), "priority": N_("priority"), "normal": N_("normal")}
KIND_NAMES = {"slide": N_("slide"), "ticker": N_("ticker")}


def _words(settings):
    return gate_gettext(settings, CATALOGUE)


def _refuse(e: Exception, settings):
    """A refusal in the gate's language (a NoticeError says itself)."""
    raise click.ClickException(say(e, _words(settings))) from None


def _notice_line(_, n, until: str) -> str:
    where = (_("faces %(ids)s", ids=", ".join(map(str, n.faces))) if n.faces
             else _("every face"))
    return _("notice %(id)s: %(level)s %(kind)s on %(faces)s %(until)s", id=n.id,
             level=_(LEVEL_NAMES.get(n.level, n.level)), kind=_(KIND_NAMES.get(n.kind, n.kind)),
             faces=where, until=until)


def _until(_, t, settings) -> str:
    return (_("until %(time)s", time=formatting.when(t, settings["timezone"], seconds=True))
            if t else _("until withdrawn"))

def _text_options(fn):
    for lang in reversed(LANGUAGE_ORDER):
        fn = click.option(f"--text-{lang}", f"text_{lang}", metavar="TEXT",
                          help=f"The notice in {LANGUAGES[lang]}.")(fn)
    return fn


@click.group("notice")
def notice_group():
    """Set, clear and list notices: text slides and tickers, up to emergency level.

    \b
    Example:
        gatecast notice set --text-vi "Tạm dừng thông quan" --text-en "Clearance suspended" \\
            --level emergency --for 30m
    """


@notice_group.command("set")
@_text_options
@click.option("--level", type=click.Choice(["emergency", "priority", "normal"]), default="normal",
              show_default=True, help="emergency preempts everything on its faces.")
@click.option("--kind", type=click.Choice(["slide", "ticker"]), default="slide", show_default=True,
              help="A full-face slide, or a scrolling band over what plays.")
@click.option("--for", "for_", metavar="DURATION", help="How long: 30m, 2h, 1h30m. Default: until cleared.")
@click.option("--face", "faces", type=int, multiple=True, help="Face id (repeat for several). Default: all faces.")
@click.option("--title", "titles", multiple=True, metavar="LANG=TEXT",
              help="Slide title in one language, e.g. --title vi='THÔNG BÁO' (emergency slides have one).")
@click.option("--position", type=click.Choice(["top", "bottom"]), help="Ticker band position.")
@click.option("--by", default="cli", show_default=True, help="Who sets it (recorded).")
@state_options
def notice_set(level, kind, for_, faces, titles, position, by, ctx_, **texts):
    """Put a notice on the faces now; an emergency one reaches them within a second.

    The text of every language is checked against its font before anything is
    stored: a language the installed fonts cannot draw is refused by name.

    \b
    Example:
        gatecast notice set --text-vi "Cửa khẩu tạm đóng do mưa lũ" \\
            --text-lo "ດ່ານປິດຊົ່ວຄາວຍ້ອນນ້ຳຖ້ວມ" --text-en "Border gate closed: flooding" \\
            --level emergency --for 2h --face 1 --face 2
    """
    from kiosk.settings import faces as configured_faces
    from kiosk.text.notices import NoticeError, parse_duration, set_notice

    by_lang = {k.removeprefix("text_"): v for k, v in texts.items()}
    style: dict = {}
    if titles:
        style["title"] = {}
        for t in titles:
            lang, sep, text = t.partition("=")
            if not sep or lang not in LANGUAGES:
                _ = _words(ctx_.settings)
                raise click.ClickException(_(
                    "--title wants LANG=TEXT with LANG one of %(languages)s: '%(title)s'",
                    languages=", ".join(LANGUAGES), title=t))
            style["title"][lang] = text
    if position:
        style["position"] = position
    db = ctx_.db
    try:
        notice = set_notice(
            db, by_lang, level=level, kind=kind, faces=faces,
            duration=parse_duration(for_) if for_ else None, style=style, created_by=by,
            fonts=ctx_.settings["text_fonts"],
            known_faces=[f["id"] for f in configured_faces(ctx_.settings)],
        )
    except (NoticeError, ValueError) as e:
        _refuse(e, ctx_.settings)
    _ = _words(ctx_.settings)
    click.echo(_notice_line(_, notice, _until(_, notice.expires_at, ctx_.settings)))


@notice_group.command("clear")
@click.argument("notice_id", required=False)
@click.option("--all", "include_central", is_flag=True,
              help="Also withdraw notices that came in a release (central ones).")
@click.option("--by", default="cli", show_default=True, help="Who clears it (recorded).")
@state_options
def notice_clear(notice_id, include_central, by, ctx_):
    """Withdraw one notice by id, or every current local notice.

    A release's notices stay unless named or --all is given; the next release
    that still carries one brings it back.

    \b
    Example:
        gatecast notice clear
        gatecast notice clear 3f9c2a1b7d4e
    """
    from kiosk.text.notices import NoticeError, clear_notices

    try:
        cleared = clear_notices(ctx_.db, notice_id, include_central=include_central, by=by)
    except NoticeError as e:
        _refuse(e, ctx_.settings)
    _ = _words(ctx_.settings)
    click.echo(_("withdrew %(count)s notice(s)", count=len(cleared))
               + (f": {', '.join(cleared)}" if cleared else ""))


@notice_group.command("list")
@click.option("--all", "include_ended", is_flag=True, help="Include expired and withdrawn notices.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@state_options
def notice_list(include_ended, as_json, ctx_):
    """Show current (and with --all, past) notices.

    \b
    Example:
        gatecast notice list --all
    """
    from kiosk.text.notices import list_notices

    notices = list_notices(ctx_.db, include_ended=include_ended)
    if as_json:
        click.echo(json.dumps([
            {"id": n.id, "kind": n.kind, "level": n.level, "texts": n.texts, "faces": list(n.faces),
             "starts_at": _iso(n.starts_at), "expires_at": _iso(n.expires_at),
             "withdrawn_at": _iso(n.withdrawn_at), "source": n.source, "created_by": n.created_by}
            for n in notices], ensure_ascii=False, indent=2))
        return
    _ = _words(ctx_.settings)
    if not notices:
        click.echo(_("no notices"))
    sources = {"local": _("local"), "central": _("central")}
    for n in notices:
        state = (_("withdrawn %(time)s", time=formatting.when(
            n.withdrawn_at, ctx_.settings["timezone"], seconds=True)) if n.withdrawn_at
            else _until(_, n.expires_at, ctx_.settings))
        first = n.texts[n.languages()[0]]
        click.echo(_notice_line(_, n, state)
                   + f"  [{sources.get(n.source, n.source)}] {'/'.join(n.languages())}: {first[:60]}")


def _iso(t):
    return t.isoformat(timespec="seconds") if t else None


@click.group("text")
def text_group():
    """Check the fonts and preview text slides.

    \b
    Example:
        gatecast text fonts
    """


@text_group.command("fonts")
@state_options
def text_fonts(ctx_):
    """Show the font chain of every language and check it draws a sample customs notice.

    Exits non-zero when a language cannot be drawn, naming it.

    \b
    Example:
        gatecast text fonts --config /etc/gatecast/gatecast.toml
    """
    _ = _words(ctx_.settings)
    overrides = ctx_.settings["text_fonts"]
    problems = font_problems(overrides)
    failed = list(problems)
    names = {lang: _(name) for lang, name in LANGUAGES.items()}
    width = max(map(len, names.values()))
    fail, ok = _("FAIL"), _("ok")
    for lang in LANGUAGE_ORDER:
        if lang in problems:  # the font's own words (English) after the verdict
            click.echo(f"{lang} {names[lang]:<{width}} {fail}  {problems[lang]}")
            continue
        chain = font_chain(lang, overrides)
        click.echo(f"{lang} {names[lang]:<{width}} {ok}    "
                   + " > ".join(f.label for f in chain.faces))
    if failed:
        raise click.ClickException(_("fonts cannot draw: %(languages)s",
                                     languages=", ".join(names[f] for f in failed)))


@text_group.command("render")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--size", default="1920x1080", show_default=True, help="Face resolution WIDTHxHEIGHT.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PNG to write (in-turn slides write OUT-1.png, OUT-2.png ...).")
@state_options
def text_render(spec, size, out, ctx_):
    """Render a slide spec (JSON) to PNG exactly as a face would show it.

    \b
    Example:
        gatecast text render notice.json --size 1920x1080 -o preview.png
    """
    import tempfile

    from kiosk.text.slide import SlideError, parse_spec, render

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"want WIDTHxHEIGHT, got {size!r}", param_hint="--size") from None
    try:
        parsed = parse_spec(spec.read_bytes())
        with tempfile.TemporaryDirectory() as tmp:
            rendered = render(parsed, width, height, Path(tmp), ctx_.settings["text_fonts"],
                              ctx_.settings.media_dir)
            paths = [out] if len(rendered.paths) == 1 else [
                out.with_name(f"{out.stem}-{i + 1}{out.suffix}") for i in range(len(rendered.paths))]
            for src, dst in zip(rendered.paths, paths):
                shutil.copyfile(src, dst)
    except SlideError as e:
        raise click.ClickException(str(e)) from None
    for p in paths:
        click.echo(str(p))
