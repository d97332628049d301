"""A moin-1.9 session service over secure-cookie's ``FilesystemSessionStore``,
served as a moin-session adapter.

The service is written from ``spec/moin-1.9.md`` (the clause IDs are cited
below); the store is a third-party one: ``secure_cookie.session`` 0.2.0,
which keeps one pickled dict per session in a file named after the sid,
saves through a temporary file and a rename, lists the sids by file name and
loads a file it cannot unpickle as an empty session. The store lives in a
temporary directory created at ``reset`` (and wiped by the next one) and
removed when the adapter exits.

Run it through the runner::

    moin-session-conformance check --profile moin-1.9 \\
        --adapter "python3 conformance/adapters/python/secure_cookie_adapter.py"

Sids come from the store's own key generator (SHA-1 over the time and
``os.urandom``), so they differ from run to run; the corpus binds them by
symbol and only checks that they are well formed and fresh.
"""

import atexit
import json
import os
import re
import shutil
import sys
import tempfile

from moin_session_adapter import (
    CAPABILITIES,
    Backend,
    InvalidInput,
    deletion_cookie,
    first_cookie,
    minute_floor,
    parse_now,
    serve,
    set_cookie,
)

import secure_cookie
from secure_cookie.session import FilesystemSessionStore

#: The reserved session keys (spec section 4); never shown to the application.
EXPIRES = "expires"
USER_ID = "user.id"
AUTH_METHOD = "user.auth_method"
AUTH_ATTRIBS = "user.auth_attribs"
SETUID = "setuid"
RESERVED = (EXPIRES, USER_ID, AUTH_METHOD, AUTH_ATTRIBS, SETUID)

#: ``m19.lifetime.remember-me-forever``: ten years of 365 days.
FOREVER = 10 * 365 * 24 * 3600

#: What the HelpOnSessions 1.9 macro prints on a new session.
NOT_STORING = "Not storing any state until you send a cookie."

#: A well-formed sid (section 4): exactly 40 lowercase hexadecimal digits.
WELL_FORMED = re.compile(r"[0-9a-f]{40}")

#: What ``corrupt`` writes into a record: not a pickle (invalid opcode).
GARBAGE = b"\x00\xffthis record was damaged on purpose\n"


def _version():
    try:
        from importlib.metadata import version

        return version("secure-cookie")
    except Exception:  # importlib.metadata is 3.8+; be lenient anyway
        return getattr(secure_cookie, "__version__", "unknown")


def _render(value):
    """A stored value as the macros print it: strings as they are, anything
    else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Settings:
    """The parts of a moin-1.9 configuration (``settings``) the service uses."""

    def __init__(self, config):
        if config.get("profile") != "moin-1.9":
            raise InvalidInput("this adapter implements moin-1.9 only, not {!r}".format(
                config.get("profile")))
        s = config["settings"]
        self.anonymous_hours = s["cookie_lifetime"]["anonymous"]
        self.logged_in_hours = s["cookie_lifetime"]["logged_in"]
        self.cookie_path = s["cookie_path"] or "/"  # m19.cookie.path: null or "" is "/"
        self.cookie_domain = s["cookie_domain"]
        self.cookie_secure = s["cookie_secure"]
        self.cookie_httponly = bool(s["cookie_httponly"])
        self.auth = list(s["auth"])
        self.users = set(s["users"])
        self.disabled = set(s["disabled_users"])
        self.superusers = set(s["superusers"])
        self.cookie_name = self._cookie_name(s["cookie_name"], s["site"])

    @staticmethod
    def _cookie_name(name, site):
        # m19.name.default, m19.name.script-root, m19.name.siteidmagic, m19.name.explicit
        if name is None:
            return "MOIN_SESSION_{}_ROOT{}".format(site["server_port"],
                                                   site["script_root"].replace("/", "_"))
        if name == "siteidmagic":
            return "MOIN_SESSION_{}".format(site["siteid"])
        return "MOIN_SESSION_{}".format(name)

    def enabled(self, name):
        """An account that exists and is not disabled."""
        return name in self.users and name not in self.disabled

    def exists(self, name):
        """An account that exists, enabled or disabled."""
        return name in self.users or name in self.disabled


class SecureCookieBackend(Backend):
    """The moin-1.9 session service over a ``FilesystemSessionStore``."""

    def __init__(self):
        self.settings = None
        self.store = None
        self.directory = None
        self.remember_me = {}  # m19.lifetime.remember-me-preference
        self.seen = set()  # every sid issued or presented, so fresh ones are new
        self.open_requests = {}  # requests opened and not yet finished, by handle
        atexit.register(self._remove_directory)

    # -- store -------------------------------------------------------------

    def _remove_directory(self):
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _fresh(self):
        """A fresh session (``m19.load.no-cookie``): the store's key
        generator, drawn again in the (theoretical) case of a repeat."""
        session = self.store.new()
        while session.sid in self.seen or os.path.exists(
                self.store.get_session_filename(session.sid)):
            session = self.store.new()
        self.seen.add(session.sid)
        return session

    def _load(self, sid, now):
        """``get_session`` (section 10) for a well-formed sid: the store's
        session, or a fresh one when the record has expired. The store gives
        an empty, not-new session both for a missing record (adopted,
        ``m19.load.unknown-sid-adopted``) and for one it cannot unpickle
        (``m19.load.unreadable-record``)."""
        session = self.store.get(sid)
        expires = session.get(EXPIRES)
        if expires is not None and expires < now:  # m19.load.expired-destroyed, expiry-boundary
            self.store.delete(session)
            return None
        return session

    # -- protocol calls ----------------------------------------------------

    def reset(self, config):
        self.settings = Settings(config)
        self._remove_directory()
        self.directory = tempfile.mkdtemp(prefix="moin-secure-cookie-")
        self.store = FilesystemSessionStore(self.directory)
        self.remember_me = {}
        self.seen = set()
        self.open_requests = {}

    def reconfigure(self, config):
        self.settings = Settings(config)

    def list(self):
        return self.store.list()  # m19.store.list; skips the store's temporary files

    def corrupt(self, sid):
        if not WELL_FORMED.fullmatch(sid):
            raise InvalidInput("not a well-formed sid: {!r}".format(sid))
        with open(self.store.get_session_filename(sid), "wb") as f:
            f.write(GARBAGE)

    def cleanup(self, cleanup):
        cfg = self.settings
        now = parse_now(cleanup["now"])
        mode = cleanup["mode"]
        user = cleanup["user"]
        if mode not in ("expired", "all"):
            raise InvalidInput("unknown cleanup mode {!r}".format(mode))
        if user is not None and not cfg.exists(user):
            # m19.cleanup.by-user-unknown: an error for the operator, nothing removed
            sys.stderr.write("cleanup: no account {!r}; nothing removed\n".format(user))
            return []
        removed = []
        for sid in self.store.list():
            session = self.store.get(sid)
            expires = session.get(EXPIRES)
            if expires is not None and expires < now:
                # m19.cleanup.load-destroys (and m19.cleanup.expired)
                self.store.delete(session)
                removed.append(sid)
                continue
            if user is not None and session.get(USER_ID) != user:
                continue  # m19.cleanup.by-user; unreadable records hold no user
            if mode == "all" or expires is None:
                # m19.cleanup.all, m19.cleanup.missing-expires, m19.cleanup.unreadable
                self.store.delete(session)
                removed.append(sid)
        return removed

    def request(self, request):
        """One request cycle: an open and its finish at one instant."""
        state, opened = self._open(request)
        finished = self._finish(state, parse_now(request["now"]))
        return {"new": opened["new"], "user": opened["user"],
                "set_cookies": finished["set_cookies"], "results": opened["results"],
                "cache_control": None}

    # Overlapping requests (capability interleave, section 17 of the spec,
    # "Overlapping requests"): the state of each open request lives here.

    def open(self, handle, request):
        if handle in self.open_requests:
            raise InvalidInput("request {!r} is already open".format(handle))
        state, opened = self._open(request)
        self.open_requests[handle] = state
        return opened

    def ops(self, handle, ops):
        if handle not in self.open_requests:
            raise InvalidInput("no request {!r} is open".format(handle))
        return self._ops(self.open_requests[handle], ops)

    def finish(self, handle, now):
        state = self.open_requests.pop(handle, None)
        if state is None:
            raise InvalidInput("no request {!r} is open".format(handle))
        return self._finish(state, parse_now(now))

    def _open(self, request):
        """Load, authentication and the request's ops (m19.overlap.read-once):
        the request's state until its finish, and what it answers now."""
        cfg = self.settings
        now = parse_now(request["now"])

        # 1. Load (section 10).
        session = None
        sid = first_cookie(request["cookie_header"], cfg.cookie_name)  # m19.load.first-cookie
        if sid is not None and WELL_FORMED.fullmatch(sid):  # m19.load.malformed-sid
            self.seen.add(sid)
            session = self._load(sid, now)
        if session is None:
            session = self._fresh()
        new = session.new  # m19.new.definition: fixed for the request
        record = dict(session)
        data = {k: v for k, v in record.items() if k not in RESERVED}
        held_user = record.get(USER_ID)
        method = record.get(AUTH_METHOD)
        attribs = record.get(AUTH_ATTRIBS, {})

        # 2. Authentication (section 12).
        real = None
        if (held_user is not None and method in cfg.auth
                and cfg.enabled(held_user)):  # m19.auth.restore
            real = held_user
        effective = real
        setuid = None
        stored_setuid = record.get(SETUID)
        if real is not None and stored_setuid is not None:
            if real in cfg.superusers and cfg.exists(stored_setuid):
                setuid = stored_setuid  # m19.setuid.restore, m19.setuid.disabled-target
                effective = setuid
            # else m19.setuid.lost-superuser: not applied, and dropped below

        auth = request["auth"]
        if isinstance(auth, dict) and "login" in auth:
            name = auth["login"]["user"]
            if effective is not None:
                pass  # m19.auth.login-while-logged-in: ignored entirely
            elif "moin" in cfg.auth and cfg.enabled(name):  # m19.auth.login
                real = effective = name
                method, attribs = "moin", {}
                self.remember_me[name] = bool(auth["login"]["remember_me"])
            # else m19.auth.failed-login
        elif auth == "logout":
            if setuid is not None:
                setuid, effective = None, real  # m19.setuid.logout-reverts
            elif real is not None:
                real = effective = None  # m19.auth.logout: the session is killed below
            # else m19.auth.logout-anonymous
        elif isinstance(auth, dict) and "failed_login" in auth:
            pass  # m19.auth.failed-login
        elif isinstance(auth, dict) and "change_user" in auth:
            target = auth["change_user"]["to"]
            if (effective is not None and effective in cfg.superusers
                    and cfg.exists(target)):  # m19.setuid.change-user
                # The logged-in superuser stays the real user; under an active
                # change user the effective user must be a superuser too.
                setuid = effective = target
            # else m19.setuid.not-superuser, m19.setuid.unknown-target
        elif auth != "none":
            raise InvalidInput("unknown auth action {!r}".format(auth))

        state = {
            "session": session, "new": new, "record": record, "data": data,
            "held_user": held_user, "method": method, "attribs": attribs,
            "real": real, "effective": effective, "setuid": setuid,
            "https": request["https"], "touched": False,
            # The user object is loaded at the open, with its preference
            # (m19.overlap.finalize-at-finish).
            "lifetime_of_real": self._lifetime(real),
        }
        # 3. Application.
        results = self._ops(state, request["ops"])
        return state, {"new": new, "user": effective, "results": results}

    def _ops(self, state, ops):
        """Application code on the request's own copy of the session."""
        data, new = state["data"], state["new"]
        results = []
        for op in ops:
            before = dict(data)
            if "set" in op:
                data[op["set"]["key"]] = op["set"]["value"]
                state["touched"] = True  # m19.overlap.changed: any assignment
            elif "get" in op:
                results.append(data.get(op["get"]["key"]))
            elif "delete" in op:
                data.pop(op["delete"]["key"], None)
            elif "macro" in op:
                results.append(self._macro(data, new, op["macro"]))
            else:
                raise InvalidInput("unknown op {!r}".format(op))
            if data != before:
                state["touched"] = True  # a removal of a present key, a macro's store
        return results

    def _finish(self, state, now):
        """4. Finalize (sections 14 and 15), for the real user, at the
        finish's instant (m19.overlap.finalize-at-finish)."""
        cfg = self.settings
        session, new, data = state["session"], state["new"], state["data"]
        real, held_user, setuid = state["real"], state["held_user"], state["setuid"]
        method, attribs = state["method"], state["attribs"]
        lifetime = state["lifetime_of_real"]
        killed = real is None and held_user is not None  # m19.finalize.kill
        secure = state["https"] if cfg.cookie_secure is None else cfg.cookie_secure
        cookies = []
        if lifetime > 0 and not killed:
            expiry = minute_floor(now) + lifetime
            cookies.append(set_cookie(  # m19.finalize.issue, m19.cookie.*
                cfg.cookie_name, session.sid, max_age=lifetime, expires=expiry,
                path=cfg.cookie_path, domain=cfg.cookie_domain, secure=secure,
                httponly=cfg.cookie_httponly))
            if real is not None or not new:  # m19.persist.anon-first-request
                saved = dict(data)
                if real is not None:
                    saved[USER_ID] = real
                    saved[AUTH_METHOD] = method
                    saved[AUTH_ATTRIBS] = attribs
                    if setuid is not None:
                        saved[SETUID] = setuid
                if not new:  # m19.persist.expires-recorded, login-without-expires
                    saved[EXPIRES] = expiry
                # m19.overlap.save-if-changed: like MoinMoin's should_save,
                # only a changed session is written, and then whole.
                if state["touched"] or saved != state["record"]:
                    self.store.save(self.store.session_class(saved, session.sid))
        elif not new:
            # m19.finalize.delete, m19.persist.disabled-destroys, kill-destroys;
            # m19.cookie.delete-form: never Secure, or a client on plain http
            # would ignore the deletion and keep the session cookie.
            cookies.append(deletion_cookie(
                cfg.cookie_name, path=cfg.cookie_path, domain=cfg.cookie_domain,
                httponly=cfg.cookie_httponly))
            self.store.delete(session)
        # else m19.finalize.silent-when-new

        return {"set_cookies": cookies, "cache_control": None}

    # -- helpers -----------------------------------------------------------

    def _lifetime(self, real):
        """``L`` in seconds for the real user (section 8)."""
        cfg = self.settings
        hours = cfg.logged_in_hours if real is not None else cfg.anonymous_hours
        s = int(hours * 3600)  # m19.lifetime.seconds, truncation (binary64, toward zero)
        if real is not None and s > 0 and self.remember_me.get(real, True):
            return FOREVER  # m19.lifetime.remember-me-forever
        return abs(s)  # m19.lifetime.negative-ignores-remember-me

    @staticmethod
    def _macro(data, new, macro):
        """The HelpOnSessions example macros (``m19.new.macro-example``)."""
        edition = macro["edition"]
        if edition == "1.9" and new:
            return NOT_STORING
        if "test" in data:
            text = _render(data["test"])
            return "Loaded value " + text if edition == "1.9" else text
        data["test"] = macro["random"]
        return ("Set to value {}" if edition == "1.9" else "set to value {}").format(
            macro["random"])


def main():
    """Serves the backend on standard input and output."""
    return serve(
        SecureCookieBackend(),
        {"name": "secure-cookie FilesystemSessionStore", "version": _version(),
         "language": "python", "homepage": "https://pypi.org/project/secure-cookie/"},
        profiles=["moin-1.9"],
        capabilities=CAPABILITIES,
    )


if __name__ == "__main__":
    raise SystemExit(main())
