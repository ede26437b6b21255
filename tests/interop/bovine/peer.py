"""A bovine-herd ActivityPub server with one actor, plus a JSON control API.

Run with the venv's python (see run.sh). Configuration comes from the environment:

    PEER_HOST     address to listen on and host part of every id (e.g. 127.0.0.2)
    PEER_PORT     port of the ActivityPub server; ids are http://PEER_HOST:PEER_PORT/...
    CONTROL_PORT  port of the control API, on the same host
    PEER_USER     preferred username of the one actor (e.g. peer)
    PEER_DATA     scratch directory: bovine's SQLite database, JSON-LD cache, peer.json

Everything ActivityPub is done by bovine's own code: bovine_herd serves the endpoints and
checks HTTP signatures, bovine_store keeps the actor and the objects, bovine_process runs the
inbox and outbox pipelines, and bovine's BovineActor signs and sends. This file only wires
them together, records what the inbox received, and answers the control API.
"""

import asyncio
import contextvars
import copy
import json
import logging
import os
import signal
import sys
import time
import traceback

HOST = os.environ.get("PEER_HOST", "127.0.0.2")
PORT = int(os.environ.get("PEER_PORT", "8090"))
CONTROL_PORT = int(os.environ.get("CONTROL_PORT", "8091"))
USER = os.environ.get("PEER_USER", "peer")
DATA = os.path.abspath(os.environ.get("PEER_DATA", "./bovine-data"))
# The authority in every id. Defaults to PEER_HOST:PEER_PORT; set PEER_DOMAIN (e.g.
# localhost:8090 or bovine.test:8090) when the other side refuses IP-address hosts in ids.
AUTHORITY = os.environ.get("PEER_DOMAIN") or f"{HOST}:{PORT}"
DOMAIN = f"http://{AUTHORITY}"
HANDLE = f"{USER}@{AUTHORITY}"
HERE = os.path.dirname(os.path.abspath(__file__))

os.makedirs(DATA, exist_ok=True)
# bovine.jsonld opens its context cache (bovine_jsonld_cache.sqlite) in the working directory
# when it is imported, so move into the scratch directory first.
os.chdir(DATA)
# bovine's own switch: let WebFinger look-ups fall back to plain http (as in its tests).
os.environ.setdefault("BUTCHER_ALLOW_HTTP", "1")

logging.basicConfig(
    level=os.environ.get("PEER_LOG", "INFO"),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    stream=sys.stderr,
)
log = logging.getLogger("bovine-peer")

import bovine.jsonld  # noqa: E402

# The machine reaches no web hosts, so give bovine the JSON-LD contexts it would download.
with open(os.path.join(HERE, "jsonld-contexts.json")) as fp:
    for url, ctx in json.load(fp).items():
        if not url.startswith("_"):
            bovine.jsonld.jsonld_cache.cache[url] = ctx

from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402
from quart import Quart, g, request  # noqa: E402

import bovine.clients  # noqa: E402
from bovine.activitystreams.activity_factory import ActivityFactory  # noqa: E402
from bovine.activitystreams.object_factory import ObjectFactory  # noqa: E402
from bovine.jsonld import value_from_object  # noqa: E402
from bovine.types import Visibility  # noqa: E402
from bovine_herd import BovineHerd, add_to_queue  # noqa: E402
from bovine_herd.server.authorize import add_authorization  # noqa: E402
from bovine_herd.server.utils import path_from_request  # noqa: E402
from bovine_process import (  # noqa: E402
    handle_outbox_item,
    process_inbox_item,
    process_outbox_item,
)
from bovine_process.types import ProcessingItem  # noqa: E402
from bovine_process.utils import ProcessorList  # noqa: E402
from bovine_store import BovineAdminStore  # noqa: E402
from bovine_store.models import (  # noqa: E402
    BovineActorKeyPair,
    CollectionItem,
    StoredJsonObject,
)
from bovine_store.store.collection import collection_all  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Recording of what arrives at the inbox
# ---------------------------------------------------------------------------------------------

_captured_logs: contextvars.ContextVar = contextvars.ContextVar("captured_logs", default=None)


class _CaptureHandler(logging.Handler):
    """Copies log records of the current task into a list, if one is set, so that the reason
    bovine gives (only in its log) for refusing a request can be reported."""

    def emit(self, record):
        sink = _captured_logs.get()
        if sink is not None:
            try:
                message = record.getMessage()
                if len(message) > 600:
                    message = message[:600] + "..."
                sink.append(f"{record.name}: {message}")
            except Exception:
                pass


logging.getLogger().addHandler(_CaptureHandler())


class State:
    def __init__(self):
        self.actor_id: str | None = None
        self.inbox: str | None = None
        self.outbox: str | None = None
        self.followers: str | None = None
        self.bovine_name: str | None = None
        self.seq = 0
        # Every POST to the actor's inbox, in arrival order.
        self.received: list = []


STATE = State()


def _next_seq():
    STATE.seq += 1
    return STATE.seq


def _headers_dict():
    return {k.lower(): v for k, v in request.headers.items()}


async def recording_authorization():
    """bovine_herd's authorization step (HTTP signature -> g.retriever), recording each POST to
    the inbox with the outcome and, when bovine refuses it, the reasons from its log."""
    is_inbox_post = (
        request.method == "POST"
        and STATE.inbox is not None
        and path_from_request(request) == STATE.inbox
    )
    if not is_inbox_post:
        return await add_authorization()

    sink = []
    token = _captured_logs.set(sink)
    error = None
    try:
        result = await add_authorization()
    except Exception as ex:
        error = f"exception while checking the signature: {ex!r}"
        result = None
        raise
    finally:
        _captured_logs.reset(token)
        body = await request.get_data()
        try:
            activity = json.loads(body)
        except Exception:
            activity = body.decode("utf-8", "replace")
        entry = {
            "seq": _next_seq(),
            "received_at": time.time(),
            "activity": activity,
            "headers": _headers_dict(),
            "verified": bool(g.get("retriever")),
            "signer": g.get("retriever"),
            "error": error,
            "processed": False,
            "log": sink,
        }
        if not entry["verified"]:
            reasons = [line for line in sink if line]
            if "signature" not in entry["headers"]:
                reasons.insert(0, "the request has no Signature header; bovine needs one")
            entry["error"] = error or (
                "bovine answered 401: no valid HTTP signature"
                + (" (" + "; ".join(reasons) + ")" if reasons else "")
            )
            entry["processed"] = True
        STATE.received.append(entry)
        g.inbox_entry = entry
    return result


def _entry_for(data: dict):
    for entry in reversed(STATE.received):
        if entry["verified"] and isinstance(entry["activity"], dict):
            if entry["activity"].get("id") == data.get("id") and not entry["processed"]:
                return entry
    return None


# ---------------------------------------------------------------------------------------------
# bovine app
# ---------------------------------------------------------------------------------------------

app = Quart("bovine-peer")


async def run_outbox(actor, activity: dict, additional_recipients=()):
    """Runs an activity through bovine's outbox pipeline exactly as bovine_herd's outbox
    endpoint does (handle_outbox_item: ids, storing, outbox collection; then
    process_outbox_item: side effects and signed delivery), recording each delivery."""
    deliveries = []
    client = actor.client
    original_post = client.post

    async def recording_post(url, body, headers={}, content_type=None):
        # bovine's SignedHttpClient.post, which BovineActor.post calls: record what went out
        # and what came back (BovineActor.post raises on a 4xx/5xx and drops the body).
        entry = {"inbox": url, "status": None, "body": None}
        try:
            entry["sent"] = json.loads(body)
        except Exception:
            entry["sent"] = body
        deliveries.append(entry)
        try:
            response = await original_post(url, body, headers=headers, content_type=content_type)
        except Exception as ex:
            entry["error"] = repr(ex)
            raise
        entry["status"] = response.status
        entry["body"] = await response.text()
        entry["request_headers"] = dict(response.request_info.headers)
        return response

    client.post = recording_post
    try:
        item = ProcessingItem(actor.actor_id, activity)
        if additional_recipients:
            item.meta["additional_recipients"] = list(additional_recipients)
        item = await handle_outbox_item(item, actor)
        await ProcessorList(process_outbox_item, add_to_queue)(item, actor)
    finally:
        client.post = original_post
    return item, deliveries


async def inbox_task(item: ProcessingItem, actor):
    """bovine_herd's default inbox background task, plus auto-accept of Follows."""
    entry = _entry_for(item.data)
    raw = copy.deepcopy(item.data)
    sink = []
    token = _captured_logs.set(sink)
    try:
        result = await ProcessorList(process_inbox_item, add_to_queue)(item, actor)
        if entry is not None:
            entry["stored"] = bool(result and result.meta.get("database_id"))
            if not entry["stored"]:
                entry["error"] = (
                    "bovine's inbox pipeline did not store it: " + "; ".join(sink)
                )[:4000]
    except Exception as ex:
        if entry is not None:
            entry["error"] = f"bovine's inbox processing failed: {ex!r}"
        log.exception("inbox processing failed")
    finally:
        _captured_logs.reset(token)

    try:
        if raw.get("type") == "Follow" and _id(raw.get("object")) == actor.actor_id:
            await auto_accept(raw)
    except Exception as ex:
        log.exception("auto-accept failed")
        if entry is not None:
            entry["error"] = f"auto-accept of the Follow failed: {ex!r}"
    finally:
        if entry is not None:
            entry["processed"] = True


async def auto_accept(follow: dict):
    """What a bovine client such as mechanical_bull's accept_follow_request does: post an
    Accept of the Follow to the actor's outbox. bovine's outbox pipeline then adds the
    follower to the followers collection and delivers the Accept."""
    actor = await get_actor()
    factory = ActivityFactory(actor_information(actor))
    accept = factory.accept(follow).build()
    item, deliveries = await run_outbox(actor, accept)
    log.info("Accepted follow %s: %s", follow.get("id"), deliveries)


def _id(value):
    if isinstance(value, dict):
        return value.get("id")
    return value


async def start_background_task_inbox(item, actor):
    app.add_background_task(inbox_task, item, actor)


class _MappedResolver:
    """aiohttp resolver: names in PEER_HOSTS_MAP ("cairn.test=127.0.0.1,localhost=127.0.0.1")
    resolve to the given address, everything else as usual. Only changes name resolution."""

    def __init__(self, mapping):
        import aiohttp

        self.mapping = mapping
        self.default = aiohttp.ThreadedResolver()

    async def resolve(self, host, port=0, family=0):
        import socket

        if host in self.mapping:
            return [
                {
                    "hostname": host,
                    "host": self.mapping[host],
                    "port": port,
                    "family": socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            ]
        return await self.default.resolve(host, port, family)

    async def close(self):
        await self.default.close()


def _hosts_map():
    mapping = {"localhost": "127.0.0.1"}
    peer_name = AUTHORITY.rsplit(":", 1)[0]
    if peer_name != HOST:
        mapping[peer_name] = HOST
    for pair in os.environ.get("PEER_HOSTS_MAP", "").split(","):
        if "=" in pair:
            name, addr = pair.split("=", 1)
            mapping[name.strip()] = addr.strip()
    return mapping


@app.before_serving
async def make_session():
    # Registered before BovineHerd's own start-up, which keeps an existing session.
    import aiohttp

    connector = aiohttp.TCPConnector(resolver=_MappedResolver(_hosts_map()))
    app.config["session"] = aiohttp.ClientSession(connector=connector)


BovineHerd(
    app,
    start_background_task_inbox=start_background_task_inbox,
    db_url=f"sqlite://{os.path.join(DATA, 'bovine.sqlite3')}",
    authorization_adder=recording_authorization,
)


async def ensure_actor():
    """Creates the one account with bovine_store on first start, reuses it afterwards."""
    account = f"acct:{HANDLE}"
    key = await BovineActorKeyPair.get_or_none(public_key=account).prefetch_related(
        "bovine_actor"
    )
    if key is None:
        store = BovineAdminStore(domain=DOMAIN)
        bovine_name = await store.register(USER)
        await store.set_properties_for_actor(
            bovine_name, {"name": f"bovine peer {USER}", "summary": "Cairn interop peer"}
        )
        log.info("Registered %s as %s", account, bovine_name)
    else:
        bovine_name = key.bovine_actor.bovine_name
    STATE.bovine_name = bovine_name
    actor = await get_actor()
    STATE.actor_id = actor.actor_id
    STATE.inbox = actor.actor_object.inbox
    STATE.outbox = actor.actor_object.outbox
    STATE.followers = actor.actor_object.followers
    with open(os.path.join(DATA, "peer.json"), "w") as fp:
        json.dump(
            {
                "actor": STATE.actor_id,
                "handle": HANDLE,
                "bovine_name": bovine_name,
                "inbox": STATE.inbox,
            },
            fp,
            indent=2,
        )
    log.info("Actor %s inbox %s", STATE.actor_id, STATE.inbox)


@app.before_serving
async def startup():
    await ensure_actor()


async def get_actor():
    store = app.config["bovine_store"]
    return await store.actor_for_name(STATE.bovine_name)


def actor_information(actor) -> dict:
    return actor.actor_object.build(visibility=Visibility.OWNER)


# ---------------------------------------------------------------------------------------------
# Control API
# ---------------------------------------------------------------------------------------------

control = Quart("bovine-peer-control")


def fail(message, **extra):
    return {"ok": False, "error": message, **extra}, 200


def control_route(rule, methods):
    def wrap(func):
        async def handler():
            if STATE.actor_id is None:
                return fail("peer not started yet")
            try:
                body = {}
                if request.method == "POST":
                    body = await request.get_json(force=True, silent=True) or {}
                async with app.app_context():
                    return await func(body)
            except Exception as ex:
                log.exception("control %s failed", rule)
                return fail(f"{type(ex).__name__}: {ex}", traceback=traceback.format_exc())

        handler.__name__ = func.__name__
        control.route(rule, methods=methods)(handler)
        return func

    return wrap


@control_route("/health", ["GET"])
async def health(_body):
    # Only healthy once the ActivityPub server answers WebFinger for the actor.
    url = f"{DOMAIN}/.well-known/webfinger"
    async with app.config["session"].get(url, params={"resource": f"acct:{HANDLE}"}) as resp:
        if resp.status != 200:
            return fail(f"WebFinger on the peer answered {resp.status}")
    return {"ok": True, "actor": STATE.actor_id, "handle": HANDLE, "inbox": STATE.inbox}


async def resolve_query(actor, query: str) -> str:
    """Turns a handle into an actor id with bovine's WebFinger client, as bovine's proxyUrl
    endpoint does."""
    query = query.strip()
    if query.startswith("http://") or query.startswith("https://"):
        return query
    if query.startswith("@"):
        query = query[1:]
    if not query.startswith("acct:"):
        query = "acct:" + query
    url, _ = await bovine.clients.lookup_uri_with_webfinger(actor.session, query)
    if url is None:
        raise LookupError(f"WebFinger found no actor for {query}")
    return url


@control_route("/lookup", ["POST"])
async def lookup(body):
    query = body.get("query")
    if not query:
        return fail("body must be {\"query\": ...}")
    actor = await get_actor()
    try:
        url = await resolve_query(actor, query)
    except Exception as ex:
        return fail(f"WebFinger look-up of {query} failed: {ex!r}")
    raw = await actor.get(url, fail_silently=True)
    if raw is None:
        response = await actor.client.get(url)
        return fail(
            f"signed GET {url} answered {response.status}",
            status=response.status,
            body=(await response.text())[:4000],
            url=url,
        )
    # Store it the way bovine does (signed fetch through bovine_store), then read back what
    # bovine kept: its store splits the document into objects (the key is one of its own) and
    # compacts them with JSON-LD, so this shows whether bovine understood the document.
    await actor.retrieve(url)
    stored_row = await StoredJsonObject.get_or_none(id=raw.get("id") or url)
    stored = stored_row.content if stored_row else None
    result = {
        "ok": True,
        "url": url,
        "object": raw,
        "stored": stored,
        "type": raw.get("type"),
        "id": raw.get("id"),
        "inbox": stored.get("inbox") if stored else None,
        "key_id": None,
        "public_key_pem": None,
    }
    warnings = []
    if stored is None:
        warnings.append("bovine_store did not store the document")
    key = raw.get("publicKey")
    if isinstance(key, list):
        key = key[0] if key else None
    key_id = key.get("id") if isinstance(key, dict) else key
    if key_id:
        # As bovine_herd's retrieve_public_key reads a key when it checks a signature.
        key_row = await StoredJsonObject.get_or_none(id=key_id)
        key_doc = key_row.content if key_row else None
        if key_doc and key_doc.get("publicKey"):
            key_doc = key_doc["publicKey"]
        pem = value_from_object(key_doc, "publicKeyPem") if isinstance(key_doc, dict) else None
        owner = value_from_object(key_doc, "owner") if isinstance(key_doc, dict) else None
        if pem:
            result["key_id"] = key_id
            result["public_key_pem"] = pem
            result["key_owner"] = owner
        else:
            warnings.append(
                f"bovine's store holds no publicKeyPem for {key_id}: it could not verify "
                f"signatures by this key (stored: {json.dumps(key_doc)[:500]})"
            )
    if warnings:
        result["warnings"] = warnings
    return result


@control_route("/fetch", ["POST"])
async def fetch(body):
    url = body.get("url")
    if not url:
        return fail("body must be {\"url\": ...}")
    actor = await get_actor()
    response = await actor.client.get(url)
    text = await response.text()
    try:
        parsed = json.loads(text)
    except Exception:
        parsed = text
    result = {
        "ok": True,
        "status": response.status,
        "content_type": response.headers.get("content-type"),
        "body": parsed,
    }
    if response.headers.get("location"):
        result["location"] = response.headers["location"]
    return result


def delivery_report(deliveries):
    """inbox, status and answer of each delivery; the request headers too when it failed."""
    keys = ("inbox", "status", "body", "error")
    report = []
    for d in deliveries:
        failed = not d.get("status") or d["status"] >= 300
        report.append(
            {k: v for k, v in d.items() if k in keys or (failed and k == "request_headers")}
        )
    return report


@control_route("/follow", ["POST"])
async def follow(body):
    target = body.get("actor")
    if not target:
        return fail("body must be {\"actor\": ...}")
    actor = await get_actor()
    target = await resolve_query(actor, target)
    activity = ActivityFactory(actor_information(actor)).follow(target).build()
    item, deliveries = await run_outbox(actor, activity)
    sent = deliveries[0]["sent"] if deliveries else item.data
    result = {"ok": True, "activity": sent, "delivery": delivery_report(deliveries)}
    if not deliveries:
        return fail(
            f"bovine delivered the Follow nowhere (could it fetch {target} and read its inbox?)",
            activity=sent,
        )
    bad = [d for d in deliveries if not d["status"] or d["status"] >= 300]
    if bad:
        result["ok"] = False
        result["error"] = "delivery failed: " + json.dumps(delivery_report(bad))
    return result


@control_route("/unfollow", ["POST"])
async def unfollow(body):
    """Undo of the peer's latest Follow of the actor, as bovine's ActivityFactory builds it
    (it names the Follow by id only)."""
    target = body.get("actor")
    if not target:
        return fail("body must be {\"actor\": ...}")
    actor = await get_actor()
    target = await resolve_query(actor, target)
    follow_activity = None
    for row in reversed(await CollectionItem.filter(part_of=STATE.outbox).order_by("id").all()):
        obj = await StoredJsonObject.get_or_none(id=row.object_id)
        content = obj.content if obj else {}
        if content.get("type") == "Follow" and _id(content.get("object")) == target:
            follow_activity = dict(content)
            break
    if follow_activity is None:
        return fail(f"the peer has sent no Follow of {target}")
    for key in ("to", "cc"):  # bovine's store keeps a single recipient as a plain string
        if isinstance(follow_activity.get(key), str):
            follow_activity[key] = [follow_activity[key]]
    undo = ActivityFactory(actor_information(actor)).undo(follow_activity).build()
    item, deliveries = await run_outbox(actor, undo)
    sent = deliveries[0]["sent"] if deliveries else item.data
    result = {"ok": True, "activity": sent, "delivery": delivery_report(deliveries)}
    if not deliveries or any(not d["status"] or d["status"] >= 300 for d in deliveries):
        result["ok"] = False
        result["error"] = "delivery failed: " + json.dumps(delivery_report(deliveries))
    return result


@control_route("/note", ["POST"])
async def note(body):
    actor = await get_actor()
    info = actor_information(actor)
    kwargs = {"content": body.get("content") or ""}
    if body.get("in_reply_to"):
        kwargs["in_reply_to"] = body["in_reply_to"]
    kwargs["to"] = set(body.get("to") or [])
    kwargs["cc"] = set(body.get("cc") or [])
    if body.get("tag"):
        kwargs["tag"] = list(body["tag"])
    note_obj = ObjectFactory(actor_information=info).note(**kwargs).build()
    create = ActivityFactory(info).create(note_obj).build()
    deliver_to = [await resolve_query(actor, x) for x in body.get("deliver_to") or []]
    item, deliveries = await run_outbox(actor, create, additional_recipients=deliver_to)
    sent = deliveries[0]["sent"] if deliveries else bovine.jsonld.with_external_context(item.data)
    stored_note = await actor.retrieve(_id(item.data.get("object")), skip_fetch=True)
    result = {
        "ok": True,
        "note": sent.get("object") if isinstance(sent.get("object"), dict) else stored_note,
        "activity": sent,
        "delivery": delivery_report(deliveries),
    }
    reached = {d["inbox"] for d in deliveries if d["status"] and d["status"] < 300}
    if deliver_to and not deliveries:
        result["ok"] = False
        result["error"] = "bovine delivered the Create nowhere"
    elif any(not d["status"] or d["status"] >= 300 for d in deliveries):
        result["ok"] = False
        result["error"] = "delivery failed: " + json.dumps(
            [d for d in delivery_report(deliveries) if d["inbox"] not in reached]
        )
    return result


@control_route("/inbox", ["GET"])
async def inbox(_body):
    """What bovine's inbox accepted (its inbox collection in bovine_store), plus the POSTs it
    refused, oldest first. An accepted activity is listed as it arrived on the wire."""
    rows = await CollectionItem.filter(part_of=STATE.inbox).order_by("id").all()
    stored = {row.object_id: row for row in rows}
    seen = set()
    keyed = []
    for entry in STATE.received:
        act = entry["activity"]
        act_id = act.get("id") if isinstance(act, dict) else None
        if entry["verified"]:
            if not entry["processed"]:
                continue  # bovine is still processing it
            in_store = act_id in stored
            if act_id:
                seen.add(act_id)
            item = {
                "activity": act,
                "verified": True,
                "stored": in_store,
                "error": None if in_store else entry.get("error") or "not in bovine's inbox",
                "signer": entry["signer"],
            }
        else:
            item = {
                "activity": act,
                "verified": False,
                "stored": False,
                "error": entry["error"],
                "headers": entry["headers"],
            }
        keyed.append((entry["received_at"], entry["seq"], item))
    # What bovine's inbox holds that this process did not see arrive (before a restart): as
    # bovine stored it (JSON-LD compacted, embedded objects split off).
    for object_id, row in stored.items():
        if object_id in seen:
            continue
        obj = await StoredJsonObject.get_or_none(id=object_id)
        item = {
            "activity": obj.content if obj else {"id": object_id},
            "verified": None,
            "stored": True,
            "error": None,
        }
        keyed.append((row.created.timestamp(), 0, item))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return {"ok": True, "items": [item for _, _, item in keyed]}


@control_route("/followers", ["GET"])
async def followers(_body):
    items = await collection_all(STATE.actor_id, STATE.followers)
    return {"ok": True, "items": items}


@control_route("/following", ["GET"])
async def following(_body):
    actor = await get_actor()
    items = await collection_all(STATE.actor_id, actor.actor_object.following)
    return {"ok": True, "items": items}


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


async def main():
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    ap_config = Config()
    ap_config.bind = [f"{HOST}:{PORT}"]
    ap_config.accesslog = "-"
    ap_config.graceful_timeout = 2
    control_config = Config()
    control_config.bind = [f"{HOST}:{CONTROL_PORT}"]
    control_config.graceful_timeout = 2

    servers = [
        asyncio.create_task(serve(app, ap_config, shutdown_trigger=stop.wait)),
        asyncio.create_task(serve(control, control_config, shutdown_trigger=stop.wait)),
    ]
    failed = False
    for done in asyncio.as_completed(servers):
        try:
            await done
        except Exception:
            log.exception("a server failed; stopping")
            failed = True
        stop.set()  # when one server ends, end the other too
    log.info("stopped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
