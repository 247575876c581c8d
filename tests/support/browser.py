"""Debian's chromium through Playwright (Playwright's own browsers cannot be
downloaded here): one launch for the admin's and the console's browser tests."""

from __future__ import annotations

from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def keep_picture(page, name: str, variable: str = "WIDGET_SCREENSHOTS") -> None:
    """A full-page screenshot into the folder $variable names (for a person to
    look at), when it is set."""
    import os
    from pathlib import Path

    folder = os.environ.get(variable)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def assert_fits(page) -> None:
    """The page does not scroll sideways at its viewport's width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


def switch_language_and_log_in(page, url: str, name: str, password: str) -> None:
    """Both apps' shared login page (kiosk/web): Vietnamese, switched to
    English and back BEFORE signing in (the header's switch is there too),
    then the login."""
    page.goto(url + "/login")
    assert page.inner_text("main h1").startswith("Đăng nhập")
    page.click("#lang-en")
    assert page.inner_text("main h1").startswith("Log in") and "/login" in page.url
    page.click("#lang-vi")
    assert page.inner_text("main h1").startswith("Đăng nhập")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def forms_fit_both_widths(page, url: str, pages: dict[str, str], calendar: tuple[str, str],
                          prefix: str) -> None:
    """Each of `pages` (path -> picture name) at 390 and 1280 px: no sideways
    scroll, a picture kept (keep_picture); then `calendar` (path, date field
    id) with its calendar open, which stays on the screen."""
    for size, width in ((PHONE, "390"), (DESKTOP, "1280")):
        page.set_viewport_size(size)
        for path, name in pages.items():
            page.goto(url + path)
            assert_fits(page)
            keep_picture(page, f"{prefix}-{name}-{width}")
        page.goto(url + calendar[0])
        page.click(f".date-field:has(#{calendar[1]}) button.date-open")
        assert_fits(page)
        assert page.locator(".calendar").bounding_box()["x"] >= 0
        keep_picture(page, f"{prefix}-{calendar[1]}-calendar-{width}")


def refused_and_kept(page, field: str, typed: str, submit: str, error: str, words: str) -> None:
    """Type `typed` into `field` and send with `submit`: the page says `words`
    in `error`, and the field still holds what was typed."""
    page.fill(field, typed)
    page.click(submit)
    assert words in page.inner_text(error), page.inner_text(error)
    assert page.input_value(field) == typed
