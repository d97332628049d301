"""A kit for writing moin-session adapters in Python (stdlib only, 3.8+).

An *adapter* puts a session backend behind the JSON-lines protocol of
``spec/protocol.md`` so that ``moin-session-conformance check --adapter``
can drive it through the corpus. This module runs the protocol loop; a
backend only implements the calls::

    from moin_session_adapter import Backend, serve

    class MyBackend(Backend):
        def reset(self, config): ...
        def reconfigure(self, config): ...
        def request(self, request): return {"new": True, "user": None,
                                            "set_cookies": [], "results": []}
        def cleanup(self, cleanup): return []
        def list(self): return []

    if __name__ == "__main__":
        raise SystemExit(serve(MyBackend(), {"name": "mine", "version": "1"},
                               profiles=["moin-1.9"]))

The payloads are plain JSON values (dicts, lists, strings), shaped as
section 8 of ``spec/protocol.md`` says; ``now`` stays an RFC 3339 string,
which :func:`parse_now` turns into exact seconds.

Errors: raise :class:`Unsupported` or :class:`InvalidInput` (either errors
the case: the runner asks only for what every adapter must do and for the
capabilities you declared, so a decline is not a skip,
``proto.command.mandatory``); any other exception becomes an ``error`` reply of kind
``failed`` whose message is the traceback's last line, and the whole
traceback goes to standard error, which the runner shows when a case errors.

Besides the loop, the module has the helpers most backends need:
:func:`parse_now`, :func:`minute_floor`, :func:`request_second`,
:func:`http_date`, :func:`set_cookie`, :func:`deletion_cookie`,
:func:`parse_cookie_header` and :func:`first_cookie`.

Profiles: ``moin-1.6``, ``moin-1.9`` and ``hardened`` (``spec/hardened.md``,
a delta on moin-1.9). A backend declares the ones it implements in
:func:`serve`; the runner never sends it a case of another. For
``hardened`` the kit has what its cookies need: ``samesite`` in
:func:`set_cookie` and :func:`deletion_cookie`, and :func:`request_second`
(the request's instant rounded up to a whole second, from which
``Max-Age`` and ``Expires`` are computed). Its request action
``"end_other_sessions"`` arrives as the ``auth`` of a request;
``hardened_adapter.py`` next to this package is a complete hardened backend.
"""

import calendar
import email.utils
import json
import os
import re
import signal
import sys
import threading
import traceback
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

try:  # Python 3.8+: typed payloads for editors and type checkers.
    from typing import TypedDict
except ImportError:  # pragma: no cover - the kit requires 3.8
    TypedDict = dict  # type: ignore[misc,assignment]

#: A JSON value as the protocol carries it.
Json = Any


class Config(TypedDict):
    """A ``reset``/``reconfigure`` payload: ``{"profile": ..., "settings": {...}}``
    (``spec/protocol.md`` section 8; every setting present)."""

    profile: str
    settings: Dict[str, Json]


class Request(TypedDict, total=False):
    """A ``request`` payload: ``now`` (RFC 3339), ``https``, ``path``,
    ``cookie_header`` (str or None), ``auth`` and ``ops``."""

    now: str
    https: bool
    path: str
    cookie_header: Optional[str]
    auth: Json
    ops: List[Json]


class Response(TypedDict, total=False):
    """What :meth:`Backend.request` returns: ``new``, ``user``,
    ``set_cookies``, ``results`` and optionally ``cache_control``."""

    new: bool
    user: Optional[str]
    set_cookies: List[str]
    results: List[Json]
    cache_control: Optional[str]


class Opened(TypedDict):
    """What :meth:`Backend.open` returns: ``new``, ``user`` and ``results``
    (the response's headers come at the finish)."""

    new: bool
    user: Optional[str]
    results: List[Json]


class Finished(TypedDict, total=False):
    """What :meth:`Backend.finish` returns: ``set_cookies`` and optionally
    ``cache_control``."""

    set_cookies: List[str]
    cache_control: Optional[str]


class Cleanup(TypedDict):
    """A ``cleanup`` payload: ``now``, ``mode`` (``"expired"`` or ``"all"``)
    and ``user`` (str or None)."""

    now: str
    mode: str
    user: Optional[str]


__all__ = [
    "Config",
    "Request",
    "Response",
    "Cleanup",
    "Opened",
    "Finished",
    "Json",
    "PROTOCOL_VERSION",
    "CAPABILITIES",
    "LIMITABLE_SETTINGS",
    "AdapterError",
    "Unsupported",
    "InvalidInput",
    "Backend",
    "serve",
    "parse_now",
    "minute_floor",
    "request_second",
    "http_date",
    "set_cookie",
    "deletion_cookie",
    "parse_cookie_header",
    "first_cookie",
]

#: The protocol version this kit speaks (``proto.handshake.version``).
#: Version 2 added overlapping requests (``open``, ``ops``, ``finish``).
PROTOCOL_VERSION = 2

#: The capability names the runner knows (``proto.handshake.capabilities``).
CAPABILITIES = ("corrupt", "cleanup-by-user", "change-user", "https", "interleave")

#: The configuration settings an adapter may limit to some values
#: (``proto.handshake.configurations``).
LIMITABLE_SETTINGS = ("cookie_httponly", "cookie_secure", "cookie_samesite", "cookie_host_prefix")

# Every command type and the fields it carries besides `seq` and `type`
# (proto.framing.type: those fields and no others).
_COMMANDS = {
    "hello": ("protocol",),
    "reset": ("config",),
    "reconfigure": ("config",),
    "request": ("request",),
    "cleanup": ("cleanup",),
    "list": (),
    "corrupt": ("sid",),
    "open": ("handle", "request"),
    "ops": ("handle", "ops"),
    "finish": ("handle", "now"),
    "shutdown": (),
}

_RESPONSE_FIELDS = ("new", "user", "set_cookies", "results", "cache_control")


# --------------------------------------------------------------------------
# Errors


class AdapterError(Exception):
    """A command the backend cannot carry out; ``kind`` is the error kind
    sent to the runner (``proto.errors.kinds``)."""

    kind = "failed"


class Unsupported(AdapterError):
    """The backend does not offer this. The runner sends only what every
    adapter must carry out and what the adapter declared in its
    capabilities, so this *errors* the case (``proto.command.mandatory``);
    leave a capability out of ``capabilities`` to have its cases skipped."""

    kind = "unsupported"


class InvalidInput(AdapterError):
    """The command was malformed for this backend: the case errors."""

    kind = "invalid-input"


# --------------------------------------------------------------------------
# The backend interface


class Backend:
    """What a Python session backend implements. Each method is one command
    of the protocol; the arguments are the decoded JSON payloads.

    Raise :class:`InvalidInput` for input it cannot take; any other
    exception is reported as a failure of the backend. Every method but
    ``corrupt`` and the overlapping-request ones (``open``, ``ops``,
    ``finish``, offered through ``capabilities``) is mandatory: the defaults
    below that raise :class:`Unsupported` error every case that reaches them.
    """

    def reset(self, config: Config) -> None:
        """Forget every stored session and user preference and take
        ``config`` (``{"profile": ..., "settings": {...}}``, validated by the
        runner, every field present)."""
        raise NotImplementedError("reset")

    def reconfigure(self, config: Config) -> None:
        """Take ``config``; keep the stored sessions and user preferences."""
        raise Unsupported("reconfigure")

    def request(self, request: Request) -> Response:
        """Run one request cycle and return the response as a dict with
        ``new`` (bool), ``user`` (str or None), ``set_cookies`` (list of
        Set-Cookie header values, in order), ``results`` (one JSON value per
        ``get`` and ``macro`` op) and optionally ``cache_control`` (str or
        None). ``request["now"]`` is the current instant (RFC 3339, see
        :func:`parse_now`); read no clock of your own."""
        raise NotImplementedError("request")

    def cleanup(self, cleanup: Cleanup) -> List[str]:
        """Run a cleanup (``now``, ``mode`` ``"expired"`` or ``"all"``,
        ``user`` or None) and return the list of session ids it removed."""
        raise NotImplementedError("cleanup")

    def list(self) -> List[str]:  # noqa: A003 (the protocol command is named list)
        """Return the id of every stored session record."""
        raise NotImplementedError("list")

    def corrupt(self, sid: str) -> None:
        """Make the record of ``sid`` unreadable to the store (capability
        ``corrupt``)."""
        raise Unsupported("the corrupt command")

    # Overlapping requests (protocol 2, capability ``interleave``): a request
    # opened under ``handle`` finishes in a later command, and other
    # commands may come in between (``proto.interleave.*``).

    def open(self, handle: str, request: Request) -> Opened:
        """Load, authenticate and run ``request["ops"]`` at
        ``request["now"]``, and keep the request open under ``handle``."""
        raise Unsupported("overlapping requests (capability interleave)")

    def ops(self, handle: str, ops: List[Json]) -> List[Json]:
        """Run ``ops`` in the open request ``handle``; return the results."""
        raise Unsupported("overlapping requests (capability interleave)")

    def finish(self, handle: str, now: str) -> Finished:
        """Finalize the open request ``handle`` at ``now`` (RFC 3339)."""
        raise Unsupported("overlapping requests (capability interleave)")


# --------------------------------------------------------------------------
# The protocol loop


def _encode(seq, body):
    """One reply line: ``seq`` first, ASCII-only JSON (valid UTF-8 whatever
    the locale), no NaN or infinities."""
    return json.dumps(dict([("seq", seq)] + list(body.items())), ensure_ascii=True,
                      separators=(",", ":"), allow_nan=False)


def _reply(out, seq, body):
    try:
        line = _encode(seq, body)
    except (TypeError, ValueError) as e:
        line = _encode(seq, _error("failed", "the backend's {} reply is not JSON: {}".format(
            body.get("type"), e)))
    out.write(line.encode("ascii") + b"\n")
    out.flush()


def _error(kind, message):
    return {"type": "error", "kind": kind, "message": message}


def _describe(exc, log):
    """The traceback's last line, with where it was raised; the whole
    traceback goes to ``log``."""
    text = traceback.format_exception(type(exc), exc, exc.__traceback__)
    log.write("".join(text))
    log.flush()
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        last += " (at {}:{} in {})".format(os.path.basename(f.filename), f.lineno, f.name)
    return last


def _check_response(value):
    """Checks a backend's response dict, so that a mistake gives a clear
    ``failed`` error rather than a reply the runner cannot read."""
    if not isinstance(value, dict):
        raise TypeError("request() must return a dict, not {}".format(type(value).__name__))
    extra = sorted(set(value) - set(_RESPONSE_FIELDS))
    if extra:
        raise TypeError("request() returned unknown field(s) {}".format(", ".join(extra)))
    missing = [k for k in _RESPONSE_FIELDS[:4] if k not in value]
    if missing:
        raise TypeError("request() returned no {}".format(", ".join(missing)))
    if not isinstance(value["new"], bool):
        raise TypeError("response field new must be a bool")
    if value["user"] is not None and not isinstance(value["user"], str):
        raise TypeError("response field user must be a str or None")
    if not isinstance(value["set_cookies"], list) or not all(
        isinstance(c, str) for c in value["set_cookies"]
    ):
        raise TypeError("response field set_cookies must be a list of str")
    if not isinstance(value["results"], list):
        raise TypeError("response field results must be a list")
    response = dict(value)
    response.setdefault("cache_control", None)
    return response


def _check_sids(value, what):
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(s, str) for s in value
    ):
        raise TypeError("{} must return a list of str".format(what))
    return sorted(value) if isinstance(value, (set, frozenset)) else list(value)


def _dispatch(backend, kind, command, hello):
    if kind == "hello":
        return hello
    if kind == "reset":
        backend.reset(command["config"])
        return {"type": "ok"}
    if kind == "reconfigure":
        backend.reconfigure(command["config"])
        return {"type": "ok"}
    if kind == "request":
        return {"type": "response", "response": _check_response(backend.request(command["request"]))}
    if kind == "cleanup":
        removed = _check_sids(backend.cleanup(command["cleanup"]), "cleanup()")
        return {"type": "cleaned", "outcome": {"removed": removed}}
    if kind == "list":
        return {"type": "listed", "sids": _check_sids(backend.list(), "list()")}
    if kind == "corrupt":
        backend.corrupt(command["sid"])
        return {"type": "ok"}
    if kind == "open":
        opened = backend.open(command["handle"], command["request"])
        if not isinstance(opened, dict) or sorted(opened) != ["new", "results", "user"]:
            raise TypeError("open() must return a dict with new, user and results")
        return {"type": "opened", "opened": opened}
    if kind == "ops":
        results = backend.ops(command["handle"], command["ops"])
        if not isinstance(results, list):
            raise TypeError("ops() must return a list")
        return {"type": "results", "results": results}
    if kind == "finish":
        finished = backend.finish(command["handle"], command["now"])
        if not isinstance(finished, dict) or not isinstance(finished.get("set_cookies"), list):
            raise TypeError("finish() must return a dict with set_cookies")
        return {"type": "finished", "finished": {
            "set_cookies": finished["set_cookies"],
            "cache_control": finished.get("cache_control")}}
    raise AssertionError(kind)


def serve(
    backend: Backend,
    implementation: Dict[str, Json],
    profiles: Sequence[str],
    capabilities: Iterable[str] = (),
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    configurations: Optional[Dict[str, Sequence[Json]]] = None,
) -> int:
    """Serves ``backend`` over the adapter protocol until ``shutdown`` or the
    end of the input; returns the exit status (0), for
    ``raise SystemExit(serve(...))``.

    ``implementation`` is ``{"name", "version"}`` and optionally
    ``"language"`` (default ``"python"``) and ``"homepage"``; ``profiles``
    lists the profile names the backend implements (``"moin-1.9"``,
    ``"moin-1.6"``); ``capabilities`` the optional abilities it offers (see
    :data:`CAPABILITIES`); ``configurations`` the configuration settings it
    supports only some values of, each with those values, e.g.
    ``{"cookie_httponly": [True]}`` for a backend that always sends
    ``HttpOnly`` (``proto.handshake.configurations``; the settings that can
    be limited are in :data:`LIMITABLE_SETTINGS`). Cases configured
    otherwise are skipped, and random traces never draw them.

    One reply per command, in order, with the command's ``seq``, flushed at
    once. While serving, ``sys.stdout`` points at standard error, so a stray
    ``print`` in the backend cannot break the protocol; only replies go to
    the real standard output (``proto.framing.stdout-only``).
    """
    inp = stdin if stdin is not None else sys.stdin.buffer
    out = stdout if stdout is not None else sys.stdout.buffer
    log = stderr if stderr is not None else sys.stderr
    unknown_caps = [c for c in capabilities if c not in CAPABILITIES]
    if unknown_caps:
        log.write("moin_session_adapter: unknown capabilities {}\n".format(unknown_caps))
    limits = {k: list(v) for k, v in (configurations or {}).items()}
    unknown_limits = [k for k in limits if k not in LIMITABLE_SETTINGS]
    if unknown_limits:
        log.write(
            "moin_session_adapter: these settings cannot be limited: {} (these can: {})\n".format(
                unknown_limits, ", ".join(LIMITABLE_SETTINGS)))
    identity = {
        "name": str(implementation["name"]),
        "version": str(implementation.get("version", "")),
        "language": str(implementation.get("language", "python")),
        "homepage": implementation.get("homepage"),
    }
    hello = {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "implementation": identity,
        "profiles": list(profiles),
        "capabilities": list(capabilities),
    }
    if limits:
        hello["configurations"] = limits
    saved_stdout = sys.stdout
    sys.stdout = sys.stderr
    _exit_on_sigterm()
    try:
        return _loop(backend, hello, inp, out, log)
    except BrokenPipeError:
        return 1  # the runner has gone away
    finally:
        sys.stdout = saved_stdout


def _exit_on_sigterm():
    """The runner ends an adapter that timed out with ``SIGTERM`` and, a
    moment later, ``SIGKILL``: turn ``SIGTERM`` into ``SystemExit``, so that
    ``finally`` blocks and ``atexit`` handlers (which remove temporary
    stores) run. Only from the main thread, and only when nothing else
    handles the signal."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def _loop(backend, hello, inp, out, log):
    """Reads commands and writes replies until ``shutdown`` or end of input."""
    while True:
        raw = inp.readline()
        if not raw:
            return 0
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                _reply(out, 0, _error("invalid-input", "not UTF-8: {}".format(e)))
                continue
        if not raw.strip():
            continue
        try:
            command = json.loads(raw)
        except ValueError as e:
            _reply(out, 0, _error("invalid-input", "not a JSON line: {}".format(e)))
            continue
        if not isinstance(command, dict):
            _reply(out, 0, _error("invalid-input", "a command must be a JSON object"))
            continue
        seq = command.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            seq = 0
        kind = command.get("type")
        if not isinstance(kind, str) or kind not in _COMMANDS:
            _reply(out, seq, _error("unknown-message", "unknown message type {}".format(
                json.dumps(kind))))
            continue
        fields = set(command) - {"seq", "type"}
        wanted = set(_COMMANDS[kind])
        if fields != wanted:
            problems = []
            if wanted - fields:
                problems.append("missing " + ", ".join(sorted(wanted - fields)))
            if fields - wanted:
                problems.append("unknown " + ", ".join(sorted(fields - wanted)))
            _reply(out, seq, _error("invalid-input", "malformed {} command: {}".format(
                kind, "; ".join(problems))))
            continue
        if kind == "shutdown":
            _reply(out, seq, {"type": "bye"})
            return 0
        try:
            body = _dispatch(backend, kind, command, hello)
        except AdapterError as e:
            body = _error(e.kind, str(e) or type(e).__name__)
        except Exception as e:  # the backend failed: report and go on
            body = _error("failed", _describe(e, log))
        _reply(out, seq, body)


# --------------------------------------------------------------------------
# Helpers

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"([Zz]|[+-]\d{2}:\d{2})"
)


def parse_now(text: str) -> Fraction:
    """Parses an RFC 3339 instant (``2009-03-01T12:00:30.5Z``) into seconds
    since 1970-01-01T00:00:00Z as an exact :class:`fractions.Fraction`, so
    that comparisons such as ``expires < now`` are exact to the nanosecond.

    >>> parse_now("2009-03-01T12:00:30Z")
    Fraction(1235908830, 1)
    >>> float(parse_now("1970-01-01T01:00:00.25+01:00"))
    0.25
    """
    m = _RFC3339.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise InvalidInput("not an RFC 3339 instant: {!r}".format(text))
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    fraction = Fraction(m.group(7)[1:]) / (10 ** (len(m.group(7)) - 1)) if m.group(7) else 0
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return Fraction(seconds) + fraction


def minute_floor(now: Fraction) -> int:
    """``floor(now / 60) * 60`` as an int: ``now`` rounded down to a whole
    minute (moin-1.9's expiry granularity).

    >>> minute_floor(parse_now("2023-11-14T22:13:50Z"))
    1699999980
    """
    return int((Fraction(now) // 60) * 60)


def request_second(now: Fraction) -> int:
    """``ceil(now)`` as an int: the request's instant rounded up to a whole
    second (the hardened profile's request second ``t``).

    >>> request_second(parse_now("2009-03-01T12:00:30Z"))
    1235908830
    >>> request_second(parse_now("2009-03-01T12:00:30.25Z"))
    1235908831
    """
    return int(-((-Fraction(now)) // 1))


def http_date(seconds: int) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) for whole seconds
    since the epoch.

    >>> http_date(0)
    'Thu, 01 Jan 1970 00:00:00 GMT'
    """
    instant = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=int(seconds))
    return email.utils.format_datetime(instant, usegmt=True)


def set_cookie(
    name: str,
    value: str,
    max_age: Optional[int] = None,
    expires: Optional[int] = None,
    path: Optional[str] = None,
    domain: Optional[str] = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: Optional[str] = None,
) -> str:
    """Renders a ``Set-Cookie`` header value (without the ``Set-Cookie:``
    part). ``expires`` is whole seconds since the epoch; attributes that are
    None or False are left out; ``samesite`` is ``"Lax"`` or ``"Strict"``.

    >>> set_cookie("MOIN_SESSION_8080_ROOT", "ab", max_age=3600, expires=1700003580, path="/")
    'MOIN_SESSION_8080_ROOT=ab; Max-Age=3600; Expires=Tue, 14 Nov 2023 23:13:00 GMT; Path=/'
    """
    parts = ["{}={}".format(name, value)]
    if max_age is not None:
        parts.append("Max-Age={}".format(int(max_age)))
    if expires is not None:
        parts.append("Expires={}".format(http_date(expires)))
    if path is not None:
        parts.append("Path={}".format(path))
    if domain is not None:
        parts.append("Domain={}".format(domain))
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite is not None:
        parts.append("SameSite={}".format(samesite))
    return "; ".join(parts)


def deletion_cookie(
    name: str,
    path: Optional[str] = None,
    domain: Optional[str] = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: Optional[str] = None,
    max_age: Optional[int] = 0,
) -> str:
    """The ``Set-Cookie`` value that deletes cookie ``name``: an empty
    value, ``Max-Age=0`` and an ``Expires`` at the epoch. In moin-1.9 leave
    ``secure`` off: a client ignores a ``Secure`` cookie set over plain
    http, so the deletion would not happen (m19.cookie.delete-form). In
    hardened give the attributes of the issued cookie and ``max_age=None``:
    the deletion there has no ``Max-Age``, only the past ``Expires``
    (hard.cookie.delete-form).

    >>> deletion_cookie("S", path="/")
    'S=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/'
    >>> deletion_cookie("S", path="/", httponly=True, samesite="Lax", max_age=None)
    'S=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax'
    """
    return set_cookie(name, "", max_age=max_age, expires=0, path=path, domain=domain,
                      secure=secure, httponly=httponly, samesite=samesite)


def parse_cookie_header(header: Optional[str]) -> List[Tuple[str, str]]:
    """The ``(name, value)`` pairs of a ``Cookie`` request header, in order,
    duplicates kept; names and values are trimmed, a value in double quotes
    keeps its quotes, and a pair without ``=`` is skipped. ``None`` gives
    ``[]``.

    >>> parse_cookie_header("a=1; b = 2;c; a=3")
    [('a', '1'), ('b', '2'), ('a', '3')]
    """
    if not header:
        return []
    pairs = []
    for part in header.split(";"):
        if "=" not in part:
            continue
        name, value = part.split("=", 1)
        name = name.strip()
        if name:
            pairs.append((name, value.strip()))
    return pairs


def first_cookie(header: Optional[str], name: str) -> Optional[str]:
    """The value of the first cookie called ``name`` in a ``Cookie`` header,
    or None when there is none.

    >>> first_cookie("theme=dark; S=x; S=y", "S")
    'x'
    """
    for n, v in parse_cookie_header(header):
        if n == name:
            return v
    return None
