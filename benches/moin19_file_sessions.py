# -*- coding: utf-8 -*-
"""Runs MoinMoin 1.9.11's own FileSessionService on the workload of
benches/reference/, for the side-by-side figures of BENCHMARKS.md.

MoinMoin's code is not part of this repository: give the path of a
MoinMoin 1.9.11 source tree (the directory that holds the MoinMoin
package). It needs Python 2.7 (MoinMoin 1.9 is Python 2 only); everything
else it needs (secure_cookie, werkzeug) is vendored in MoinMoin/support.

    python2.7 benches/moin19_file_sessions.py MOIN_SRC cycles DIR SECONDS [wait]
    python2.7 benches/moin19_file_sessions.py MOIN_SRC cleanup DIR TOTAL FRACTION

Each prints one line that benches/reference/ reads:

    cycles <count> <seconds>
    cleanup <total> <removed> <seconds> <bytes-on-disk-per-session>

`cycles`: a returning anonymous client of one of 1,000 stored sessions
(cookie_lifetime = [1, 12]) sends its cookie; the application sets one key
and reads another; finalize re-issues the cookie and saves the session,
through FileSessionService.get_session and .finalize, exactly as a wiki
request does. With `wait`, the process prints `ready` once its sessions
are stored and starts timing only when a line arrives on its standard
input, so that several processes on one DIR (a wiki served by several
processes) can start together.

`cleanup`: TOTAL stored sessions, FRACTION of them expired; one default
`moin maint cleansessions` (expired sessions only): its loop over
get_all_session_ids, get_session and destroy_session, with its
session_expired check (a session without `expires` counts as expired).
Only the cleanup is timed.
"""
from __future__ import print_function

import os
import subprocess
import sys
import time


def load_moin(src):
    sys.path.insert(0, os.path.join(src, "MoinMoin", "support"))
    sys.path.insert(0, src)
    from MoinMoin.web import session as moin_session
    return moin_session


class Cfg(object):
    cookie_name = None
    cookie_path = None
    cookie_secure = None
    cookie_domain = None
    cookie_httponly = False
    cookie_lifetime = (1.0, 12.0)
    siteid = "bench"

    def __init__(self, session_dir):
        self.session_dir = session_dir


class AnonUser(object):
    valid = False
    auth_method = None
    id = None
    remember_me = False


class FakeRequest(object):
    """The parts of a MoinMoin request that the session service reads."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.environ = {"SERVER_PORT": "8080"}
        self.script_root = ""
        self.is_secure = False
        self.user = AnonUser()
        self.cookies = {}
        self.set_cookies = []

    def set_cookie(self, name, value, **kw):
        self.set_cookies.append((name, value))

    def delete_cookie(self, name, **kw):
        self.set_cookies.append((name, None))


def cycles(moin_session, directory, seconds, wait):
    service = moin_session.FileSessionService()
    request = FakeRequest(Cfg(directory))
    cookie_name = moin_session.get_cookie_name(
        request, name=None, usage=service.cookie_usage
    )
    # 1,000 stored sessions, as a first request plus a returning one makes.
    sids = []
    for i in range(1000):
        request.cookies = {}
        session = service.get_session(request)
        sid = session.sid
        request.cookies = {cookie_name: sid}
        session = service.get_session(request)
        session["n"] = i
        service.finalize(request, session)
        sids.append(sid)
    if wait:
        print("ready")
        sys.stdout.flush()
        sys.stdin.readline()
    n = 0
    start = time.time()
    while time.time() - start < seconds:
        for _ in range(50):
            request.cookies = {cookie_name: sids[(n * 7919) % len(sids)]}
            session = service.get_session(request)
            session["n"] = n
            session.get("m")
            service.finalize(request, session)
            n += 1
    print("cycles %d %.6f" % (n, time.time() - start))
    sys.stdout.flush()


def disk_bytes(directory):
    total = 0
    for name in os.listdir(directory):
        total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


def cleanup(moin_session, directory, total, fraction):
    service = moin_session.FileSessionService()
    request = FakeRequest(Cfg(directory))
    store = service._store_get(request)
    now = time.time()
    expired_every = int(round(1.0 / fraction))
    for i in range(total):
        session = store.new()
        session["expires"] = (
            int(now) - 60 if i % expired_every == 0 else int(now) + 3600
        )
        session["test"] = i
        store.save(session)
    per_session = disk_bytes(directory) / float(total)
    # As benches/reference/ does: nothing still being written back.
    subprocess.call(["sync"])
    start = time.time()
    # `moin maint cleansessions` without --all and --name.
    now = time.time()

    def session_expired(session):
        try:
            return session["expires"] < now
        except KeyError:
            return True

    removed = 0
    for sid in service.get_all_session_ids(request):
        session = service.get_session(request, sid)
        if session_expired(session):
            service.destroy_session(request, session)
            removed += 1
    print(
        "cleanup %d %d %.6f %.1f"
        % (total, removed, time.time() - start, per_session)
    )


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    src, what, directory = argv[1], argv[2], argv[3]
    if not os.path.isfile(os.path.join(src, "MoinMoin", "web", "session.py")):
        print("%s is not a MoinMoin source tree (no MoinMoin/web/session.py)" % src,
              file=sys.stderr)
        return 2
    moin_session = load_moin(src)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    if what == "cycles":
        cycles(moin_session, directory, float(argv[4]), argv[5:6] == ["wait"])
    elif what == "cleanup":
        cleanup(moin_session, directory, int(argv[4]), float(argv[5]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
