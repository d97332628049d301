"""A hardened session service (``spec/hardened.md``) in memory, served as a
moin-session adapter with the kit. Standard library only.

It is a third derivation of the profile, next to the model and the Rust
reference service, and shows what a Python backend of the profile needs
from the kit: ``samesite`` in :func:`set_cookie`, :func:`request_second`,
and the ``end_other_sessions`` action. It declares only ``hardened``::

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


def secs(hours):
    """Whole seconds of ``hours``, truncated toward zero."""
    return int(hours * 3600)


class HardenedBackend(Backend):
    def __init__(self):
        self.records = {}
        self.preferences = {}
        self.config = None
        self.issued = set()

    # -- configuration -------------------------------------------------------

    def reset(self, config):
        self.records, self.preferences, self.issued = {}, {}, set()
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
                go = user is None
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

    # -- one request -----------------------------------------------------------

    def _fresh(self):
        while True:
            sid = secrets.token_hex(20)
            if sid not in self.issued:
                self.issued.add(sid)
                return sid

    def request(self, request):
        c = self.config
        for op in request["ops"]:
            key = next(iter(op.values())).get("key")
            if key in RESERVED:
                raise InvalidInput("reserved key {!r}".format(key))
        now = parse_now(request["now"])
        t = request_second(now)
        header = request["cookie_header"]
        if header is not None and len(header.encode("utf-8")) > c["max_cookie_header"]:
            header = None  # hard.load.cookie-header-limit
        value = first_cookie(header, self._name())
        presented = value is not None
        # Load: only an issued, readable, unexpired record is used.
        sid, new, data = None, True, {}
        if value is not None and WELL_FORMED.fullmatch(value) and value in self.records:
            record = self.records[value]
            if record is UNREADABLE or (record.get("expires") is not None and record["expires"] < now):
                del self.records[value]
            else:
                sid, new, data = value, False, dict(record)
        if sid is None:
            sid = self._fresh()
        # Authentication.
        real = None
        if all(k in data for k in ("user.id", "user.auth_method", "user.auth_at")) \
                and data["user.auth_method"] in c["auth"] and data["user.id"] in c["users"]:
            real = (data["user.id"], data["user.auth_method"], data["user.auth_at"])
        setuid = None
        if real and real[0] in c["superusers"]:
            target = data.get("setuid")
            if target is not None and target in c["users"] + c["disabled_users"]:
                setuid = target
        rotate = False
        auth = request["auth"]
        if isinstance(auth, dict) and "login" in auth:
            login = auth["login"]
            if real is None and "moin" in c["auth"] and login["user"] in c["users"]:
                self.preferences[login["user"]] = login["remember_me"]
                real, rotate = (login["user"], "moin", t), True
        elif auth == "logout":
            if setuid is not None:
                setuid, rotate = None, True
            else:
                real = None
        elif isinstance(auth, dict) and "change_user" in auth:
            runs_as = setuid or (real[0] if real else None)
            target = auth["change_user"]["to"]
            if runs_as in c["superusers"] and target in c["users"] + c["disabled_users"]:
                setuid, rotate = target, True
        elif auth == "end_other_sessions" and real is not None:
            for other, record in list(self.records.items()):
                if other != sid and record is not UNREADABLE and record.get("user.id") == real[0]:
                    del self.records[other]
        # Application.
        app = {k: v for k, v in data.items() if k not in RESERVED}
        results = []
        for op in request["ops"]:
            (kind, arg), = op.items()
            if kind == "set":
                app[arg["key"]] = arg["value"]
            elif kind == "get":
                results.append(app.get(arg["key"]))
            elif kind == "delete":
                app.pop(arg["key"], None)
            else:
                results.append(self._macro(app, new, arg))
        # Finalize.
        killed = real is None and "user.id" in data
        absolute = secs(c["absolute_timeout"])
        if real is None:
            lifetime = max(secs(c["cookie_lifetime"]["anonymous"]), 0)
        else:
            lifetime = secs(c["cookie_lifetime"]["logged_in"])
            if lifetime > 0 and self.preferences.get(real[0], True):
                lifetime = absolute
        lifetime = min(lifetime, COOKIE_CAP)
        if rotate and not new:
            self.records.pop(sid, None)
            sid = self._fresh()
        attrs = dict(path=c["cookie_path"] or "/", domain=c["cookie_domain"],
                     secure=bool(c["cookie_secure"]) or request["https"], httponly=True,
                     samesite=c["cookie_samesite"])
        if killed or lifetime == 0:
            self.records.pop(sid, None)
            cookies = [deletion_cookie(self._name(), **attrs)] if presented else []
        else:
            expires = t + lifetime
            if real is not None:
                expires = min(expires, real[2] + absolute)
            record = {} if (new and real is None) else dict(app)
            record["expires"] = expires
            if real is not None:
                record.update({"user.id": real[0], "user.auth_method": real[1],
                               "user.auth_attribs": {}, "user.auth_at": real[2]})
                if setuid is not None:
                    record["setuid"] = setuid
            self.records[sid] = record
            cookies = [set_cookie(self._name(), sid, max_age=expires - t, expires=expires, **attrs)]
        return {"new": new, "user": setuid or (real[0] if real else None),
                "set_cookies": cookies, "results": results}

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
                 capabilities=["corrupt", "cleanup-by-user", "change-user", "https"])


if __name__ == "__main__":
    sys.exit(main())
