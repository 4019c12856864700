"""The mount's own round-trip counter (user.smbfuse.round_trips on its root:
requests sent, a compound counting once), for the tests that count."""
import os
import time

RT = 'user.smbfuse.round_trips'


def round_trips(mnt):
    return int(os.getxattr(mnt, RT))


def wait_quiet(mnt, seconds=2):
    """Wait (bounded) until the counter stops moving: requests an earlier call
    left behind (a release's CLOSE, a directory handle's CLOSE) are not the
    next count's. Returns the counter."""
    before, deadline = round_trips(mnt), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = round_trips(mnt)
        if now == before:
            break
        before = now
    return before
