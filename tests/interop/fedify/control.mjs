// The JSON control API that the Rust interop test drives (see README.md).
// Every answer is 200 with a JSON object; a step that failed on the peer's
// side answers {"ok": false, "error": "..."} in the peer's words.

import http from "node:http";
import { randomUUID } from "node:crypto";

import { exportJwk } from "@fedify/fedify";
import { Create, Delete, Dislike, Follow, isActor, Like, Mention, Note, Tombstone, Undo, Update } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";

import {
  CONTROL_PORT,
  describeAttempts,
  describeGets,
  HANDLE,
  HOST,
  logRecords,
  ORIGIN,
  outgoing,
  outgoingSeq,
  postAttempts,
  readBody,
  safeString,
  USER,
} from "./config.mjs";
import {
  activities,
  authLoader,
  contextForControl,
  deletedNotes,
  followers,
  following,
  inboxItems,
  notes,
  pendingWork,
  sentActivities,
  signedGet,
} from "./federation.mjs";

// ---------------------------------------------------------------------------
// The control API

function parseList(value) {
  if (value == null) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => new URL(v));
}

async function exportPem(cryptoKey) {
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", cryptoKey)).toString("base64");
  return `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g).join("\n")}\n-----END PUBLIC KEY-----\n`;
}

function localNoteId(noteUrl) {
  if (typeof noteUrl !== "string") return null;
  const m = /^\/notes\/([^/]+)$/.exec(new URL(noteUrl, ORIGIN).pathname);
  return m ? m[1] : null;
}

// Sends `activity` to the inbox of each actor in `targets`; the answer of the
// control call: ok only when every delivery got a 2xx.
async function deliver(ctx, activity, targets, activityJson = null) {
  const json = activityJson ?? (await activity.toJsonLd());
  const deliveries = [];
  const errors = [];
  const type = activity.constructor.name;
  for (const target of targets ?? []) {
    const since = outgoingSeq;
    if (target === "followers") {
      // Every follower's inbox (shared inboxes preferred), via the followers collection.
      try {
        await ctx.sendActivity({ identifier: USER }, "followers", activity, { immediate: true, preferSharedInbox: true });
        deliveries.push({ actor: "followers", ok: true, attempts: postAttempts(since) });
      } catch (e) {
        const attempts = postAttempts(since);
        deliveries.push({ actor: "followers", ok: false, error: safeString(e), attempts });
        errors.push(`delivering the ${type} to the followers failed: ${describeAttempts(attempts) || safeString(e)}`);
      }
      continue;
    }
    try {
      const actor = await lookupActor(ctx, target);
      await ctx.sendActivity({ identifier: USER }, actor, activity, { immediate: true });
      deliveries.push({ actor: target, inbox: actor.inboxId.href, ok: true, attempts: postAttempts(since) });
    } catch (e) {
      const attempts = postAttempts(since);
      deliveries.push({ actor: target, ok: false, error: safeString(e), attempts });
      errors.push(`delivering the ${type} to ${target} failed: ${describeAttempts(attempts) || safeString(e)}`);
    }
  }
  const out = { ok: errors.length === 0, activity: json, deliveries };
  if (errors.length) out.error = errors.join("; ");
  return out;
}

async function lookupActor(ctx, id) {
  const obj = await ctx.lookupObject(id, { documentLoader: await authLoader(ctx) });
  if (obj == null) throw new Error(`Fedify's lookupObject(${id}) returned null (see GET /log and GET /outgoing)`);
  if (!isActor(obj)) throw new Error(`${id} is a ${obj.constructor.typeId?.href}, not an actor`);
  if (obj.inboxId == null) throw new Error(`actor ${id} has no inbox`);
  return obj;
}

const control = {
  "GET /health": async () => ({ ok: true, actor: `${ORIGIN}/users/${USER}`, handle: HANDLE, origin: ORIGIN }),

  "POST /lookup": async (body) => {
    const query = body.query;
    if (typeof query !== "string" || query === "") return { ok: false, error: "body must be {\"query\": \"<url or handle>\"}" };
    const ctx = contextForControl();
    const since = outgoingSeq;
    const result = { ok: false, query };
    const isUrl = /^https?:\/\//.test(query);
    if (!isUrl) {
      // Fedify resolves acct: URIs and name@host handles with WebFinger itself
      // (its https request is rewritten to http for loopback hosts, see peerFetch).
      const acct = query.startsWith("acct:") ? query : `acct:${query.replace(/^@/, "")}`;
      try {
        result.webfinger = await ctx.lookupWebFinger(acct);
        if (result.webfinger == null) return { ...result, error: `WebFinger lookup of ${acct} found nothing (see GET /outgoing)` };
      } catch (e) {
        return { ...result, error: `WebFinger lookup of ${acct} threw: ${safeString(e)}` };
      }
    }
    let obj;
    try {
      obj = await ctx.lookupObject(query, { documentLoader: await authLoader(ctx) });
    } catch (e) {
      return { ...result, error: `Fedify's lookupObject(${query}) threw: ${safeString(e)}` };
    }
    if (obj == null) {
      return { ...result, error: `Fedify's lookupObject(${query}) returned null: ${describeGets(since) || "no request was made"}` };
    }
    result.object = await obj.toJsonLd({ contextLoader: ctx.contextLoader });
    result.type = obj.constructor.typeId?.href?.replace("https://www.w3.org/ns/activitystreams#", "") ?? null;
    result.id = obj.id?.href ?? null;
    if (!isActor(obj)) {
      result.ok = true;
      return result;
    }
    result.inbox = obj.inboxId?.href ?? null;
    result.shared_inbox = obj.endpoints?.sharedInbox?.href ?? null;
    result.outbox = obj.outboxId?.href ?? null;
    result.followers = obj.followersId?.href ?? null;
    result.preferred_username = obj.preferredUsername?.toString() ?? null;
    let key;
    try {
      key = await obj.getPublicKey({ documentLoader: await authLoader(ctx) });
    } catch (e) {
      return { ...result, error: `Fedify could not read the actor's publicKey: ${safeString(e)}` };
    }
    if (key == null || key.publicKey == null) {
      return { ...result, error: "Fedify found no usable publicKey (CryptographicKey with an RSA PEM) on the actor" };
    }
    result.key_id = key.id?.href ?? null;
    result.key_owner = key.ownerId?.href ?? null;
    result.public_key_pem = await exportPem(key.publicKey);
    result.public_key_jwk = await exportJwk(key.publicKey);
    if (result.key_owner !== result.id) {
      return { ...result, error: `publicKey.owner is ${result.key_owner}, not the actor ${result.id}` };
    }
    result.ok = true;
    return result;
  },

  "POST /fetch": async (body) => {
    if (typeof body.url !== "string") return { ok: false, error: "body must be {\"url\": \"...\"}" };
    try {
      return { ok: true, ...(await signedGet(body.url)) };
    } catch (e) {
      return { ok: false, error: `GET ${body.url} failed: ${safeString(e)}` };
    }
  },

  "POST /follow": async (body) => {
    const ctx = contextForControl();
    let actor;
    try {
      actor = await lookupActor(ctx, body.actor);
    } catch (e) {
      return { ok: false, error: safeString(e) };
    }
    const follow = new Follow({
      id: new URL(`/follows/${randomUUID()}`, ORIGIN),
      actor: ctx.getActorUri(USER),
      object: actor.id,
      to: actor.id,
    });
    const json = await follow.toJsonLd();
    const since = outgoingSeq;
    // Recorded first: the Accept may arrive before the POST of the Follow returns.
    following.set(actor.id.href, { follow, json, state: "pending", at: new Date().toISOString() });
    try {
      await ctx.sendActivity({ identifier: USER }, actor, follow, { immediate: true });
    } catch (e) {
      following.delete(actor.id.href);
      const attempts = postAttempts(since);
      return {
        ok: false,
        activity: json,
        attempts,
        error: `delivering the Follow to ${actor.inboxId.href} failed: ${describeAttempts(attempts) || safeString(e)}`,
      };
    }
    sentActivities.push(follow);
    return { ok: true, activity: json, inbox: actor.inboxId.href, attempts: postAttempts(since) };
  },

  "POST /undo_follow": async (body) => {
    const ctx = contextForControl();
    const entry = following.get(body.actor);
    if (!entry) return { ok: false, error: `this peer never followed ${body.actor}` };
    let actor;
    try {
      actor = await lookupActor(ctx, body.actor);
    } catch (e) {
      return { ok: false, error: safeString(e) };
    }
    const undo = new Undo({
      id: new URL(`/undos/${randomUUID()}`, ORIGIN),
      actor: ctx.getActorUri(USER),
      object: entry.follow,
      to: actor.id,
    });
    const json = await undo.toJsonLd();
    const since = outgoingSeq;
    try {
      await ctx.sendActivity({ identifier: USER }, actor, undo, { immediate: true });
    } catch (e) {
      const attempts = postAttempts(since);
      return {
        ok: false,
        activity: json,
        attempts,
        error: `delivering the Undo to ${actor.inboxId.href} failed: ${describeAttempts(attempts) || safeString(e)}`,
      };
    }
    following.delete(body.actor);
    sentActivities.push(undo);
    return { ok: true, activity: json };
  },

  "POST /note": async (body) => {
    const ctx = contextForControl();
    if (typeof body.content !== "string") return { ok: false, error: "body needs \"content\" (HTML)" };
    const id = randomUUID();
    let note, create;
    try {
      const to = parseList(body.to);
      const cc = parseList(body.cc);
      const tags = (body.tag ?? []).map((t) => {
        if (t.type !== "Mention") throw new Error(`unsupported tag type ${t.type}`);
        return new Mention({ href: new URL(t.href), name: t.name ?? null });
      });
      const published = Temporal.Now.instant();
      note = new Note({
        id: ctx.getObjectUri(Note, { id }),
        attribution: ctx.getActorUri(USER),
        name: typeof body.name === "string" ? body.name : null,
        content: body.content,
        mediaType: "text/html",
        replyTarget: body.in_reply_to ? new URL(body.in_reply_to) : null,
        tos: to,
        ccs: cc,
        tags,
        published,
        url: ctx.getObjectUri(Note, { id }),
      });
      create = new Create({
        id: ctx.getObjectUri(Create, { id }),
        actor: ctx.getActorUri(USER),
        object: note,
        tos: to,
        ccs: cc,
        published,
      });
    } catch (e) {
      return { ok: false, error: `bad note request: ${safeString(e)}` };
    }
    notes.set(id, { note, create });
    sentActivities.push(create);
    const noteJson = await note.toJsonLd();
    const activityJson = await create.toJsonLd();
    return { note: noteJson, ...(await deliver(ctx, create, body.deliver_to, activityJson)) };
  },

  "POST /update_note": async (body) => {
    const ctx = contextForControl();
    const id = localNoteId(body.note);
    const entry = id && notes.get(id);
    if (!entry) return { ok: false, error: `this peer has no note ${body.note}` };
    if (typeof body.content !== "string") return { ok: false, error: "body needs \"content\" (HTML)" };
    const updated = Temporal.Now.instant();
    const note = entry.note.clone({ content: body.content, updated });
    entry.note = note;
    entry.create = entry.create.clone({ object: note });
    const uid = randomUUID();
    const update = new Update({
      id: ctx.getObjectUri(Update, { id: uid }),
      actor: ctx.getActorUri(USER),
      object: note,
      tos: note.toIds,
      ccs: note.ccIds,
      published: updated,
    });
    activities.set(`updates/${uid}`, update);
    sentActivities.push(update);
    return { note: await note.toJsonLd(), ...(await deliver(ctx, update, body.deliver_to)) };
  },

  "POST /delete_note": async (body) => {
    const ctx = contextForControl();
    const id = localNoteId(body.note);
    const entry = id && notes.get(id);
    if (!entry) return { ok: false, error: `this peer has no note ${body.note}` };
    const now = Temporal.Now.instant();
    notes.delete(id);
    deletedNotes.set(id, now.toString());
    const uid = randomUUID();
    const del = new Delete({
      id: ctx.getObjectUri(Delete, { id: uid }),
      actor: ctx.getActorUri(USER),
      object: new Tombstone({ id: entry.note.id, deleted: now }),
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    activities.set(`deletes/${uid}`, del);
    sentActivities.push(del);
    return await deliver(ctx, del, body.deliver_to);
  },

  "POST /like": async (body) => {
    const ctx = contextForControl();
    if (typeof body.object !== "string") return { ok: false, error: "body needs \"object\" (the URL voted on)" };
    const dislike = body.type === "Dislike";
    const cls = dislike ? Dislike : Like;
    const kind = dislike ? "dislikes" : "likes";
    const uid = randomUUID();
    let vote;
    try {
      vote = new cls({
        id: ctx.getObjectUri(cls, { id: uid }),
        actor: ctx.getActorUri(USER),
        object: new URL(body.object),
        tos: parseList(body.to),
        ccs: parseList(body.cc),
      });
    } catch (e) {
      return { ok: false, error: `bad like request: ${safeString(e)}` };
    }
    activities.set(`${kind}/${uid}`, vote);
    sentActivities.push(vote);
    return await deliver(ctx, vote, body.deliver_to);
  },

  "POST /undo": async (body) => {
    const ctx = contextForControl();
    const found = [...activities.values()].find((a) => a.id?.href === body.activity);
    if (!found) return { ok: false, error: `this peer sent no Like/Dislike/Update/Delete ${body.activity}` };
    const uid = randomUUID();
    const undo = new Undo({
      id: ctx.getObjectUri(Undo, { id: uid }),
      actor: ctx.getActorUri(USER),
      object: found,
      tos: found.toIds,
      ccs: found.ccIds,
    });
    activities.set(`undos/${uid}`, undo);
    sentActivities.push(undo);
    return await deliver(ctx, undo, body.deliver_to);
  },

  "GET /inbox": async (_body, url) => {
    // Wait (up to 20 s) for Announce dereferencing still in progress.
    const deadline = Date.now() + 20000;
    while (pendingWork.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...pendingWork]), new Promise((r) => setTimeout(r, 500))]);
    }
    const since = Number(url.searchParams.get("since") ?? 0);
    return { ok: true, items: inboxItems.filter((i) => i.seq > since), pending: pendingWork.size };
  },

  "GET /followers": async () => ({ ok: true, items: [...followers.values()] }),

  "GET /following": async () => ({
    ok: true,
    items: [...following.entries()].map(([id, f]) => ({ id, state: f.state, follow: f.json, at: f.at })),
  }),

  "GET /outgoing": async (_body, url) => {
    const since = Number(url.searchParams.get("since") ?? 0);
    return { ok: true, items: outgoing.filter((o) => o.seq > since) };
  },

  "GET /log": async (_body, url) => {
    const since = Number(url.searchParams.get("since") ?? 0);
    return { ok: true, items: logRecords.filter((r) => r.seq > since) };
  },
};

export const controlServer = http.createServer(async (req, res) => {
  let answer;
  try {
    const url = new URL(req.url, `http://${HOST}:${CONTROL_PORT}`);
    const handler = control[`${req.method} ${url.pathname}`];
    let body = {};
    if (req.method === "POST") {
      const text = (await readBody(req)).toString("utf8");
      if (text.trim() !== "") body = JSON.parse(text);
    }
    answer = handler
      ? await handler(body, url)
      : { ok: false, error: `no control endpoint ${req.method} ${url.pathname}; see tests/interop/fedify/README.md` };
  } catch (e) {
    answer = { ok: false, error: `control API error: ${safeString(e)}` };
  }
  let text;
  try {
    text = JSON.stringify(answer);
  } catch (e) {
    text = JSON.stringify({ ok: false, error: `could not serialise the answer: ${safeString(e)}` });
  }
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(text);
});
