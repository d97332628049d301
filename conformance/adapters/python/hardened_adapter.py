"""A hardened session service (``spec/hardened.md``) in memory, served as a
moin-session adapter with the kit. Standard library only.

It is a third derivation of the profile, next to the model and the Rust
reference service, and shows what a Python backend of the profile needs
from the kit: ``samesite`` in :func:`set_cookie`, :func:`request_second`,
a deletion without ``Max-Age`` (:func:`deletion_cookie` with
``max_age=None``), the ``end_other_sessions`` action, and overlapping
requests (``open``, ``ops``, ``finish``: capability ``interleave``; a
plain ``request`` is an open and its finish). It declares only
``hardened``::

    moin-session-conformance check --profile hardened \\
        --adapter "python3 conformance/adapters/python/hardened_adapter.py"

Sids come from :func:`secrets.token_hex` (160 bits, ``hard.sid.entropy``).
"""

import json
import re
import secrets
import sys

from moin_session_adapter import (
    Backend,
    InvalidInput,
    Unsupported,
    deletion_cookie,
    first_cookie,
    parse_now,
    request_second,
    serve,
    set_cookie,
)

RESERVED = ("expires", "user.id", "user.auth_method", "user.auth_attribs",
            "user.auth_at", "setuid")
WELL_FORMED = re.compile(r"[0-9a-f]{40}")
COOKIE_CAP = 400 * 24 * 3600
NOT_STORING = "Not storing any state until you send a cookie."
UNREADABLE = object()
DELETED = object()


def _check_ops(ops):
    for op in ops:
        key = next(iter(op.values())).get("key")
        if key in RESERVED:
            raise InvalidInput("reserved key {!r}".format(key))


class Open:
    """A request between its open and its finish: its snapshot, who it runs
    as, and its write set."""

    def __init__(self, presented, https):
        self.sid, self.new, self.presented, self.https = None, True, presented, https
        self.reserved, self.app, self.writes, self.results = {}, {}, {}, []
        self.real, self.setuid = None, None
        self.rotate = self.logged_in = self.remember_me = False

    def user(self):
        return self.setuid or (self.real[0] if self.real else None)


def secs(hours):
    """Whole seconds of ``hours``, truncated toward zero."""
    return int(hours * 3600)


class HardenedBackend(Backend):
    def __init__(self):
        self.records = {}
        self.preferences = {}
        self.config = None
        self.issued = set()
        self.open_requests = {}

    # -- configuration -------------------------------------------------------

    def reset(self, config):
        self.records, self.preferences, self.issued = {}, {}, set()
        self.open_requests = {}
        self._take(config)

    def reconfigure(self, config):
        self._take(config)
        # hard.end.account-disabled
        for sid, record in list(self.records.items()):
            if record is not UNREADABLE and "user.id" in record \
                    and record["user.id"] not in self.config["users"]:
                del self.records[sid]

    def _take(self, config):
        if config["profile"] != "hardened":
            raise Unsupported("profile " + config["profile"])
        self.config = config["settings"]

    def _name(self):
        c = self.config
        if c["cookie_name"] is None:
            site = c["site"]
            name = "{}_{}".format(site["server_port"], ("ROOT" + site["script_root"]).replace("/", "_"))
        elif c["cookie_name"] == "siteidmagic":
            name = c["site"]["siteid"]
        else:
            name = c["cookie_name"]
        prefix = "__Host-" if c["cookie_host_prefix"] else ""
        return prefix + "MOIN_SESSION_" + name

    # -- the store, as the operator sees it ---------------------------------

    def list(self):  # noqa: A003
        return list(self.records)

    def corrupt(self, sid):
        self.records[sid] = UNREADABLE

    def cleanup(self, cleanup):
        now = parse_now(cleanup["now"])
        user = cleanup["user"]
        if user is not None and user not in self.config["users"] + self.config["disabled_users"]:
            return []
        removed = []
        for sid, record in list(self.records.items()):
            if record is UNREADABLE:
                go = True  # hard.cleanup.load-destroys
            else:
                expires = record.get("expires")
                if expires is not None and expires < now:
                    go = True
                elif user is not None and record.get("user.id") != user:
                    go = False
                else:
                    go = cleanup["mode"] == "all" or expires is None
            if go:
                del self.records[sid]
                removed.append(sid)
        return removed

    # -- one request: an open and its finish ------------------------------

    def _fresh(self):
        while True:
            sid = secrets.token_hex(20)
            if sid not in self.issued:
                self.issued.add(sid)
                return sid

    def request(self, request):
        opened = self._open(request)
        response = {"new": opened.new, "user": opened.user(), "results": opened.results}
        response["set_cookies"] = self._finish(opened, parse_now(request["now"]))
        return response

    def open(self, handle, request):
        if handle in self.open_requests:
            raise InvalidInput("request {!r} is open already".format(handle))
        opened = self._open(request)
        self.open_requests[handle] = opened
        return {"new": opened.new, "user": opened.user(), "results": opened.results}

    def ops(self, handle, ops):
        opened = self._opened(handle)
        _check_ops(ops)
        return [r for op in ops for r in self._op(opened, op)]

    def finish(self, handle, now):
        opened = self._opened(handle)
        del self.open_requests[handle]
        return {"set_cookies": self._finish(opened, parse_now(now))}

    def _opened(self, handle):
        if handle not in self.open_requests:
            raise InvalidInput("no open request {!r}".format(handle))
        return self.open_requests[handle]

    def _open(self, request):
        """Load, authentication and the request's ops (hard.overlap.snapshot)."""
        c = self.config
        _check_ops(request["ops"])
        now = parse_now(request["now"])
        header = request["cookie_header"]
        if header is not None and len(header.encode("utf-8")) > c["max_cookie_header"]:
            header = None  # hard.load.cookie-header-limit: counted in bytes
        value = first_cookie(header, self._name())
        o = Open(presented=value is not None, https=request["https"])
        # Load: only an issued, readable, unexpired record is used.
        data = {}
        if value is not None and WELL_FORMED.fullmatch(value) and value in self.records:
            record = self.records[value]
            if record is UNREADABLE or (record.get("expires") is not None and record["expires"] < now):
                del self.records[value]
            else:
                o.sid, o.new, data = value, False, dict(record)
        if o.sid is None:
            o.sid = self._fresh()
        o.reserved = {k: v for k, v in data.items() if k in RESERVED}
        o.app = {k: v for k, v in data.items() if k not in RESERVED}
        self._authenticate(o, request["auth"], request_second(now))
        o.remember_me = o.real is not None and self.preferences.get(o.real[0], True)
        o.results = [r for op in request["ops"] for r in self._op(o, op)]
        return o

    def _authenticate(self, o, auth, t):
        c, data = self.config, o.reserved
        if all(k in data for k in ("user.id", "user.auth_method", "user.auth_at")) \
                and data["user.auth_method"] in c["auth"] and data["user.id"] in c["users"]:
            o.real = (data["user.id"], data["user.auth_method"], data["user.auth_at"])
        if o.real and o.real[0] in c["superusers"]:
            target = data.get("setuid")
            if target is not None and target in c["users"] + c["disabled_users"]:
                o.setuid = target
        if isinstance(auth, dict) and "login" in auth:
            login = auth["login"]
            if o.real is None and "moin" in c["auth"] and login["user"] in c["users"]:
                self.preferences[login["user"]] = login["remember_me"]
                # a: the request second of the open (hardened section 4)
                o.real, o.rotate, o.logged_in = (login["user"], "moin", t), True, True
        elif auth == "logout":
            if o.setuid is not None:
                o.setuid, o.rotate = None, True
            else:
                o.real = None
        elif isinstance(auth, dict) and "change_user" in auth:
            runs_as = o.setuid or (o.real[0] if o.real else None)
            target = auth["change_user"]["to"]
            if runs_as in c["superusers"] and target in c["users"] + c["disabled_users"]:
                o.setuid, o.rotate = target, True
        elif auth == "end_other_sessions" and o.real is not None:
            # hard.end.others: at the open, every other record of the real user
            for other, record in list(self.records.items()):
                if other != o.sid and record is not UNREADABLE and record.get("user.id") == o.real[0]:
                    del self.records[other]

    def _op(self, o, op):
        """One op on the request's view; sets and deletes of present keys
        go to the write set (hard.overlap.write-set)."""
        (kind, arg), = op.items()
        if kind == "set":
            o.app[arg["key"]] = arg["value"]
            o.writes[arg["key"]] = arg["value"]
        elif kind == "get":
            return [o.app.get(arg["key"])]
        elif kind == "delete":
            if arg["key"] in o.app:
                del o.app[arg["key"]]
                o.writes[arg["key"]] = DELETED
        else:
            before = o.app.get("test", DELETED)
            text = self._macro(o.app, o.new, arg)
            if o.app.get("test", DELETED) != before:
                o.writes["test"] = o.app["test"]
            return [text]
        return []

    def _finish(self, o, now):
        """Stale or a commit, then finalize (hard.overlap.stale, stale-login, commit)."""
        if not o.new:
            record = self.records.get(o.sid)
            live = record is not None and record is not UNREADABLE \
                and not (record.get("expires") is not None and record["expires"] < now)
            if live:
                merged = {k: v for k, v in record.items() if k not in RESERVED}
                for key, value in o.writes.items():
                    if value is DELETED:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                o.app = merged
            elif o.logged_in:
                # stale, but the login holds: a fresh session of the write set
                o.presented, o.new, o.sid = False, True, self._fresh()
                o.app = {k: v for k, v in o.writes.items() if v is not DELETED}
            else:
                return []
        return self._finalize(o, now)

    def _finalize(self, o, now):
        c = self.config
        t = request_second(now)
        killed = o.real is None and "user.id" in o.reserved
        absolute = secs(c["absolute_timeout"])
        if o.real is None:
            lifetime = max(secs(c["cookie_lifetime"]["anonymous"]), 0)
        else:
            lifetime = secs(c["cookie_lifetime"]["logged_in"])
            if lifetime > 0 and o.remember_me:
                lifetime = absolute
        lifetime = min(lifetime, COOKIE_CAP)
        # hard.timeout.absolute: the request that reaches the deadline ends it
        reached = o.real is not None and t >= o.real[2] + absolute
        if o.rotate and not o.new:
            self.records.pop(o.sid, None)
            o.sid = self._fresh()
        attrs = dict(path=c["cookie_path"] or "/", domain=c["cookie_domain"],
                     secure=bool(c["cookie_secure"]) or o.https, httponly=True,
                     samesite=c["cookie_samesite"])
        if killed or lifetime == 0 or reached:
            self.records.pop(o.sid, None)
            return [deletion_cookie(self._name(), max_age=None, **attrs)] if o.presented else []
        expires = t + lifetime
        if o.real is not None:
            expires = min(expires, o.real[2] + absolute)
        record = {} if (o.new and o.real is None) else dict(o.app)
        record["expires"] = expires
        if o.real is not None:
            record.update({"user.id": o.real[0], "user.auth_method": o.real[1],
                           "user.auth_attribs": {}, "user.auth_at": o.real[2]})
            if o.setuid is not None:
                record["setuid"] = o.setuid
        self.records[o.sid] = record
        return [set_cookie(self._name(), o.sid, max_age=expires - t, expires=expires, **attrs)]

    @staticmethod
    def _macro(app, new, macro):
        if macro["edition"] == "1.9" and new:
            return NOT_STORING
        if "test" in app:
            value = app["test"]
            text = value if isinstance(value, str) else json.dumps(value)
            return "Loaded value " + text if macro["edition"] == "1.9" else text
        app["test"] = macro["random"]
        prefix = "Set to value " if macro["edition"] == "1.9" else "set to value "
        return prefix + str(macro["random"])


def main():
    return serve(HardenedBackend(), {"name": "python-hardened", "version": "1",
                                     "language": "python"},
                 profiles=["hardened"],
                 capabilities=["corrupt", "cleanup-by-user", "change-user", "https",
                               "interleave"])


if __name__ == "__main__":
    sys.exit(main())
