"""A labelled corpus of synthetic errors: which events are the same bug, by construction.

An app (modules ``shop.orders`` and ``shop.jobs``) and a library (``fakelib.client``, at a
dist-packages path) are compiled from source here, once per "deploy": every deploy shifts
the app's lines (blank lines and a new function on top), as a release does. Each scenario
raises through real frames and returns the caught exception with its label (the bug it
is): ids, UUIDs, hex and quoted values in messages, one raise site shared by different
errors, in-app and library decorators, async frames (``asyncio.run``, ``gather``),
explicit and implicit chains, recursion of varying depth, library-only stacks and
exceptions that were never raised (grouped by message), and user fingerprints.
"""

from __future__ import annotations

import random
import types
import uuid
from typing import Any

LIB_PATH = "/usr/lib/python3/dist-packages/fakelib/client.py"
APP_PATH = "/srv/shop/shop/{name}.py"

LIB = '''
import functools

class ClientError(Exception):
    pass

def request(path, rid):
    raise ClientError(f"request {rid} to '{path}' failed: status 503")

def parse(doc, pos):
    raise ValueError(f"bad json at char {pos} in {doc!r}")

def retrying(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper

def safe_call(fn, *args):
    try:
        fn(*args)
    except Exception as e:
        return e
'''

ORDERS = '''
import asyncio
import functools

class OrderError(Exception):
    pass

class PaymentError(Exception):
    pass

def fail(kind, message):
    raise kind(message)

def load_user(uid):
    fail(LookupError, f"user {uid} not found")

def load_order(oid):
    fail(LookupError, f"order '{oid}' not found")

def charge(amount, card):
    fail(PaymentError, f"card {card} declined for {amount}")

def validate(qty):
    fail(ValueError, f"quantity {qty} out of range")

def retry(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper

@retry
def ship(oid):
    raise OrderError(f"cannot ship order {oid} to 0x{oid:x}")

@retry
def cancel(oid):
    raise OrderError(f"cannot cancel order {oid}")

def place(uid, oid):
    try:
        load_order(oid)
    except LookupError as e:
        raise OrderError(f"place failed for {uid}") from e

def place_implicit(uid, qty):
    try:
        validate(qty)
    except ValueError:
        raise OrderError(f"place failed for {uid}")

def walk(depth):
    if depth == 0:
        raise OrderError("tree too deep")
    walk(depth - 1)

def divide(total, parts):
    return total / parts

@fakelib.retrying
def report(column):
    raise KeyError(f"missing column {column}")

def call_remote(rid):
    fakelib.request("/v1/stock", rid)

def catch(fn, *args):
    try:
        fn(*args)
    except Exception as e:
        return e
'''

JOBS = '''
import asyncio

async def fetch(oid):
    await asyncio.sleep(0)
    raise TimeoutError(f"order {oid} timed out after {oid % 7}s")

async def fetch_all(oids):
    await asyncio.gather(*(fetch(o) for o in oids))

async def refresh(sku):
    await asyncio.sleep(0)
    raise ValueError(f"sku {sku} has no price")

def catch_async(fn, *args):
    try:
        asyncio.run(fn(*args))
    except Exception as e:
        return e
'''


def _module(name: str, source: str, path: str, shift: int, env: dict[str, Any]) -> Any:
    prefix = "\n" * shift + ("def added_in_this_release():\n    return 1\n" if shift else "")
    module = types.ModuleType(name)
    module.__dict__.update(env)
    module.__file__ = path
    exec(compile(prefix + source, path, "exec"), module.__dict__)
    return module


def deploy(shift: int) -> tuple[Any, Any, Any]:
    """The library and the app's two modules as compiled in one release."""
    lib = _module("fakelib.client", LIB, LIB_PATH, 0, {})
    orders = _module("shop.orders", ORDERS, APP_PATH.format(name="orders"), shift,
                     {"fakelib": lib})
    jobs = _module("shop.jobs", JOBS, APP_PATH.format(name="jobs"), shift * 2, {})
    return lib, orders, jobs


def _ids(rng: random.Random) -> dict[str, Any]:
    return {"n": rng.randrange(1, 10**9), "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
            "hex": f"{rng.getrandbits(64):016x}", "word": rng.choice(["eu-1", "us-2", "ap"])}


def scenarios(lib: Any, orders: Any, jobs: Any) -> list[tuple[str, Any]]:
    """(label, make(ids) -> (exception, user fingerprint or None))."""
    o, j = orders, jobs
    return [
        ("load_user", lambda i: (o.catch(o.load_user, i["n"]), None)),
        ("load_user", lambda i: (o.catch(o.load_user, i["uuid"]), None)),
        ("load_order", lambda i: (o.catch(o.load_order, i["word"]), None)),
        ("charge", lambda i: (o.catch(o.charge, i["n"] / 100, i["hex"]), None)),
        ("validate", lambda i: (o.catch(o.validate, i["n"]), None)),
        ("ship", lambda i: (o.catch(o.ship, i["n"]), None)),
        ("cancel", lambda i: (o.catch(o.cancel, i["n"]), None)),
        ("place_chained", lambda i: (o.catch(o.place, i["n"], i["uuid"]), None)),
        ("place_implicit", lambda i: (o.catch(o.place_implicit, i["n"], i["n"] % 9), None)),
        ("walk", lambda i: (o.catch(o.walk, i["n"] % 6), None)),
        ("divide", lambda i: (o.catch(o.divide, i["n"], 0), None)),
        ("report_lib_decorator", lambda i: (o.catch(o.report, i["word"]), None)),
        ("call_remote", lambda i: (o.catch(o.call_remote, i["n"]), None)),
        ("fetch", lambda i: (j.catch_async(j.fetch, i["n"]), None)),
        ("fetch_all", lambda i: (j.catch_async(j.fetch_all, [i["n"], i["n"] + 1]), None)),
        ("refresh", lambda i: (j.catch_async(j.refresh, i["hex"]), None)),
        ("lib_request", lambda i: (lib.safe_call(lib.request, f"/u/{i['n']}", i["n"]), None)),
        ("lib_parse", lambda i: (lib.safe_call(lib.parse, i["word"], i["n"]), None)),
        ("unraised_session", lambda i: (KeyError(f"session {i['uuid']} expired"), None)),
        ("unraised_cart", lambda i: (KeyError(f"cart {i['hex']} missing"), None)),
        ("tenant_a", lambda i: (o.catch(o.load_user, i["n"]), ["{{ default }}", "tenant-a"])),
        ("tenant_b", lambda i: (o.catch(o.load_user, i["n"]), ["{{ default }}", "tenant-b"])),
    ]


def generate(per_label: int = 24, seed: int = 7) -> list[tuple[str, BaseException, Any]]:
    """(label, exception, fingerprint) for every event, deploys interleaved."""
    rng = random.Random(seed)
    releases = [deploy(shift) for shift in (0, 5, 23)]
    out = []
    for k in range(per_label):
        lib, orders, jobs = releases[k % len(releases)]
        for label, make in scenarios(lib, orders, jobs):
            exc, fingerprint = make(_ids(rng))
            assert isinstance(exc, BaseException), label
            out.append((label, exc, fingerprint))
    return out


def score(labels: list[str], groups: list[str]) -> tuple[int, float]:
    """(wrong merges, split ratio): label pairs sharing a group, and the share of events
    outside their label's largest group."""
    by_group: dict[str, set[str]] = {}
    by_label: dict[str, dict[str, int]] = {}
    for label, group in zip(labels, groups, strict=True):
        by_group.setdefault(group, set()).add(label)
        counts = by_label.setdefault(label, {})
        counts[group] = counts.get(group, 0) + 1
    merges = sum(len(ls) - 1 for ls in by_group.values())
    outside = sum(sum(c.values()) - max(c.values()) for c in by_label.values())
    return merges, outside / len(labels)
