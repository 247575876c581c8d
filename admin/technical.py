"""Technical causes (from urllib3, OpenSSL, mpv, the compositor) in the reader's language.

Some events and the sync state carry the text of a library's error after the
gate's own code ("network: …: [Errno 111] Connection refused", "mpv killed by
SIGKILL"). That text has no translation of its own, so the causes a gate
meets in the field are recognised here as a code with parameters and said
in the reader's language; anything else is shown as it is, marked as the
technical detail. tests/admin/test_admin_events.py makes each cause for real
(a refused port, a name that does not resolve, a silent server, plain HTTP
spoken to HTTPS, a file mpv cannot play, mpv killed) and checks it is said.
"""

from __future__ import annotations

import re
from typing import Callable


def N_(text: str) -> str:  # as admin.events.N_ (which imports this module)
    return text


_HOST = r"host='(?P<host>[^']*)', port=(?P<port>\d+)"

# (code, pattern, sentence): the first pattern found in the text wins, so the
# specific ones come first. Named groups are the sentence's parameters.
CAUSES: list[tuple[str, re.Pattern, str]] = [
    # --- the network to central (kiosk/sync/fetcher.py, urllib3, ssl) ----------
    # The gate's own words for a report central did not take (kiosk/sync/report.py).
    ("no_answer", re.compile(r": no answer in time$"),
     N_("central did not answer in time")),
    ("not_central", re.compile(r"HTTP \d{3} without an answer per part"),
     N_("something other than central answered (a proxy or a login page on the way?)")),
    ("not_stored", re.compile(r"central could not store the "),
     N_("central could not store the report (an error on the server)")),
    ("dns", re.compile(r"Failed to resolve '(?P<host>[^']+)'|"
                       r"(?:Name or service not known|Temporary failure in name resolution)"),
     N_("the name %(host)s cannot be resolved (DNS): check the gate's DNS server and the central address")),
    ("refused", re.compile(_HOST + r"\).*Connection refused"),
     N_("%(host)s refuses connections on port %(port)s (nothing listens there)")),
    ("unreachable", re.compile(_HOST + r"\).*(?:Network is unreachable|No route to host)"),
     N_("there is no network route to %(host)s: check the cable, the address and the gateway")),
    ("connect_timeout", re.compile(r"Connection to (?P<host>\S+) timed out\. \(connect timeout=(?P<seconds>[\d.]+)\)"),
     N_("no connection to %(host)s within %(seconds)s s")),
    ("read_timeout", re.compile(_HOST + r"\): Read timed out\. \(read timeout=(?P<seconds>[\d.]+)\)"),
     N_("%(host)s did not answer within %(seconds)s s")),
    ("cert_expired", re.compile(r"CERTIFICATE_VERIFY_FAILED\].*certificate has expired"),
     N_("central's HTTPS certificate has expired")),
    ("cert_untrusted", re.compile(r"CERTIFICATE_VERIFY_FAILED"),
     N_("central's HTTPS certificate is not trusted by this gate")),
    ("not_https", re.compile(r"WRONG_VERSION_NUMBER|wrong version number"),
     N_("the server at this address does not speak HTTPS")),
    ("tls", re.compile(r"\[SSL[:\]]"),
     N_("the HTTPS (TLS) handshake with central failed")),
    ("connection_cut", re.compile(r"Connection reset by peer|Connection aborted|RemoteDisconnected|"
                                  r"IncompleteRead|ProtocolError"),
     N_("the connection to central was cut off")),
    ("connect_failed", re.compile(_HOST + r"\): Max retries exceeded"),
     N_("no connection to %(host)s on port %(port)s")),
    ("http_not_found", re.compile(r"\bHTTP (?P<status>404)\b"),
     N_("central answered HTTP %(status)s (not found): the address or this gate's name may be wrong")),
    ("http_server", re.compile(r"\bHTTP (?P<status>5\d\d)\b"),
     N_("central answered HTTP %(status)s (an error on the server)")),
    ("http_status", re.compile(r"\bHTTP (?P<status>\d{3})\b"),
     N_("central answered HTTP %(status)s")),
    # --- mpv and the player (kiosk/player) ---------------------------------------
    ("mpv_missing", re.compile(r"cannot start mpv: .*(?:No such file or directory|not found)"),
     N_("the program mpv is not installed or not found")),
    ("mpv_start", re.compile(r"cannot start mpv"),
     N_("mpv could not be started")),
    ("mpv_hung", re.compile(r"stopped answering for (?P<seconds>\d+) s and was killed"),
     N_("mpv stopped answering for %(seconds)s s and was stopped")),
    ("mpv_out_of_memory", re.compile(r"mpv killed by SIGKILL"),
     N_("mpv was killed (SIGKILL; most often the controller ran out of memory)")),
    ("mpv_crashed", re.compile(r"mpv killed by (?P<signal>SIGSEGV|SIGABRT|SIGBUS|SIGILL|SIGFPE)"),
     N_("mpv crashed (%(signal)s)")),
    ("mpv_signal", re.compile(r"mpv killed by (?P<signal>SIG\w+|signal \d+)"),
     N_("mpv was stopped by %(signal)s")),
    ("mpv_exit", re.compile(r"mpv exited with status (?P<status>\d+)"),
     N_("mpv ended with exit status %(status)s")),
    ("mpv_no_ipc", re.compile(r"did not open its IPC socket"),
     N_("mpv did not open its control connection")),
    ("mpv_ipc", re.compile(r"closed its IPC connection"),
     N_("mpv closed its control connection")),
    ("mpv_playlist", re.compile(r"could not load the playlist into mpv"),
     N_("mpv did not take the new playlist")),
    ("file_format", re.compile(r"could not play it: (?:unrecognized file format|unsupported format)"),
     N_("mpv does not recognise the file's format (the file may be damaged)")),
    ("file_no_data", re.compile(r"could not play it: no audio or video data played"),
     N_("the file holds no picture mpv can show")),
    ("file_open", re.compile(r"could not play it: (?:loading failed|error opening file|"
                             r"could not open|failed to open)", re.I),
     N_("mpv could not open the file")),
    ("file_error", re.compile(r"could not play it: (?P<detail>.+)$"),
     N_("mpv could not play it (%(detail)s)")),
    ("media_missing", re.compile(r"media file \w+ is missing from the media store"),
     N_("the file is missing from the media store (sync it again or upload it again)")),
    ("unsupported_video", re.compile(r"unsupported video format '(?P<format>[^']*)'"),
     N_("the video format %(format)s is not supported")),
    ("unsupported_image", re.compile(r"unsupported image format '(?P<format>[^']*)'"),
     N_("the image format %(format)s is not supported")),
    ("unsupported_kind", re.compile(r"unsupported media kind '(?P<kind>[^']*)'"),
     N_("this kind of media (%(kind)s) cannot be played")),
    ("resolver_failed", re.compile(r"(?P<kind>\w+) resolver failed"),
     N_("the %(kind)s item could not be made ready for playing")),
    ("text_slide", re.compile(r"text slide: (?P<detail>.+)$"),
     N_("the text slide cannot be drawn (%(detail)s)")),
    # --- the compositor (kiosk/display) ------------------------------------------
    ("wayland_socket", re.compile(r"the Wayland socket (?P<socket>\S+) is missing"),
     N_("the compositor's socket %(socket)s is missing (gatecast-sway is not running)")),
    ("sway_unreachable", re.compile(r"sway cannot be reached|sway IPC failed"),
     N_("the compositor (gatecast-sway) cannot be reached")),
    ("x11_unset", re.compile(r"display 'x11' is configured but DISPLAY is not set"),
     N_("the X11 display is chosen but no X display is set (DISPLAY)")),
    ("x11_unreachable", re.compile(r"X display (?P<display>\S+) cannot be reached"),
     N_("the X display %(display)s cannot be reached")),
    ("output_unplugged", re.compile(r"output (?P<output>\S+) is not connected"),
     N_("output %(output)s is not connected (check the HDMI cable)")),
    ("capture_failed", re.compile(r"grim (?:-o \S+ )?failed|cannot grab the X root window|"
                                  r"cannot capture outputs"),
     N_("the picture on the screens could not be captured")),
    # --- this gate -----------------------------------------------------------------
    ("disk_full", re.compile(r"No space left on device|\[Errno 28\]"),
     N_("the state folder's disk is full")),
    ("permission", re.compile(r"Permission denied|\[Errno 13\]"),
     N_("a file or folder may not be used by the gatecast user (permission denied)")),
]


def explain(message: str) -> tuple[str, dict] | None:
    """(cause code, parameters) of a technical text, or None when not known."""
    for code, pattern, _sentence in CAUSES:
        m = pattern.search(message or "")
        if m:
            return code, {k: v for k, v in m.groupdict().items() if v is not None}
    return None


SENTENCES = {code: sentence for code, _pattern, sentence in CAUSES}


def say(message: str, gettext: Callable) -> tuple[str, bool]:
    """(text, understood): the cause in the reader's language, or the text as it is."""
    found = explain(message)
    if found is not None:
        code, params = found
        params.setdefault("host", "central")
        try:
            return gettext(SENTENCES[code]) % params, True
        except (KeyError, ValueError, TypeError):
            pass
    message = " ".join((message or "").split())
    # Technical text may name files on the controller; keep it short on a page.
    return (message if len(message) <= 300 else message[:299] + "…"), False
