"""A fake OpenAI server for chatbench's tests (stdlib only). 127.0.0.1, a random port printed as
"PORT n". It keeps Responses chains and Conversations like the real API, and its model's reply says
which context it received: "context N items; user said: a | b | c". It also speaks Chat Completions.

Test controls:
  POST /_faults   {"faults": [...]}  queue faults, each consumed by the next API request:
      {"kind": "status", "status": 429, "headers": {"retry-after-ms": "50"}, "body": {...}}
      {"kind": "malformed"}            200 with a body that is not JSON
      {"kind": "truncate"}             a stream that stops after two deltas (no terminal event)
      {"kind": "stall", "seconds": 3}  a stream that stalls after its first delta
      {"kind": "reset"}                a stream whose connection is closed mid-way
      {"kind": "slow", "delay_ms": 200} events this far apart
      {"kind": "big", "mb": 20}        a streamed reply of that many megabytes (64 KB deltas)
      {"kind": "text", "text": "..."}  the reply says exactly this (e.g. with escape sequences)
      {"kind": "usage", "usage": {...}} the reply reports this usage
      {"kind": "hold"}                 a chat stream that waits after its first delta until POST /_release
                                       ("trickle": true: then a delta every 50 ms for 30 s, so
                                       it is still sending when a client that left is noticed)
                                       (the request records "hold_expired": true if it waited 30 s instead)
  GET  /_requests  every API request: method, path, query, headers (lower-case), body, disconnected
  POST /_reset     forget requests and faults
  POST /_release   let a held stream go on
  GET  /_state     {"responses": n, "conversations": n}: what is stored and not deleted
"""
import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from stub_http import send_body, send_json

LOCK = threading.Lock()
STATE = {"responses": {}, "conversations": {}, "faults": [], "requests": []}
RELEASE = threading.Event()
DEFAULT_DELAY = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0
# argv[2] "other_conversation_items": a conversation's item list returns its items with other text.
OTHER_CONVERSATION_ITEMS = len(sys.argv) > 2 and sys.argv[2] == "other_conversation_items"


def new_id(prefix):
    return f"{prefix}_{uuid.uuid4().hex}"


def text_of(item):
    c = item.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "".join(p.get("text", "") for p in c if isinstance(p, dict))
    return ""


def normalise(item):
    item = dict(item)
    if "role" in item:
        item.setdefault("type", "message")
        item.setdefault("id", new_id("msg"))
        item.setdefault("status", "completed")
        if isinstance(item.get("content"), str):
            kind = "output_text" if item["role"] == "assistant" else "input_text"
            item["content"] = [{"type": kind, "text": item["content"]}]
    return item


def chain_context(prev):
    items = []
    while prev:
        r = STATE["responses"][prev]
        items = r["input"] + r["output"] + items
        prev = r["previous_response_id"]
    return items


def reply_text(context):
    users = [text_of(i) for i in context if i.get("role") == "user"]
    return f"context {len(context)} items; user said: " + " | ".join(users)


def usage(context, text):
    inp = sum(1 + len(text_of(i)) // 4 for i in context)
    out = max(1, len(text) // 4)
    return {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": inp + out}


def error_body(message, type_="invalid_request_error", code=None, param=None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    # -- plumbing -------------------------------------------------------------------------------
    def body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return "<<malformed>>"

    def send_json(self, status, obj, headers=None):
        send_json(self, status, obj, {"x-request-id": "req_" + uuid.uuid4().hex[:12], **(headers or {})})

    def record(self, method, body):
        url = urlparse(self.path)
        entry = {"method": method, "path": url.path, "query": parse_qs(url.query),
                 "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "disconnected": False}
        with LOCK:
            STATE["requests"].append(entry)
            fault = STATE["faults"].pop(0) if STATE["faults"] else None
        return entry, fault

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts and parts[0].startswith("_"):
            return self.control(method, parts[0])
        body = self.body() if method == "POST" else None
        entry, fault = self.record(method, body)
        if fault and fault["kind"] == "status":
            return self.send_json(fault["status"], fault.get("body", error_body("injected fault", "server_error")), fault.get("headers"))
        if fault and fault["kind"] == "malformed":
            return send_body(self, 200, b"{this is not json")
        if body == "<<malformed>>":
            return self.send_json(400, error_body("We could not parse the JSON body of your request."))
        if parts[:1] != ["v1"]:
            return self.send_json(404, error_body(f"Unknown path {url.path}"))
        parts = parts[1:]
        q = parse_qs(url.query)
        try:
            if parts == ["responses"] and method == "POST":
                return self.create_response(body, fault, entry)
            if parts == ["chat", "completions"] and method == "POST":
                return self.chat(body, fault, entry)
            if len(parts) == 2 and parts[0] == "responses":
                return self.response_ops(method, parts[1])
            if len(parts) == 3 and parts[0] == "responses" and parts[2] == "input_items":
                r = STATE["responses"].get(parts[1])
                if not r or not r["store"]:
                    return self.send_json(404, error_body(f"Response with id '{parts[1]}' not found."))
                return self.send_json(200, self.page(r["input"], q))
            if parts[0] == "conversations":
                return self.conversations(method, parts[1:], body, q)
        except Exception as e:  # a bug in the fake must be visible, not a hang
            return self.send_json(500, error_body(f"fake server error: {e!r}", "server_error"))
        return self.send_json(404, error_body(f"Unknown path {url.path}"))

    def control(self, method, what):
        if what == "_faults":
            with LOCK:
                STATE["faults"] += self.body()["faults"]
            return self.send_json(200, {"ok": True})
        if what == "_requests":
            with LOCK:
                return self.send_json(200, STATE["requests"])
        if what == "_release":
            RELEASE.set()
            return self.send_json(200, {"ok": True})
        if what == "_state":
            with LOCK:
                live = [r for r in STATE["responses"].values() if r["store"]]
                convs = [c for c in STATE["conversations"].values() if not c["deleted"]]
                return self.send_json(200, {"responses": len(live), "conversations": len(convs)})
        if what == "_reset":
            with LOCK:
                STATE["faults"].clear()
                STATE["requests"].clear()
            return self.send_json(200, {"ok": True})
        return self.send_json(404, error_body("unknown control"))

    def page(self, items, q):
        order = q.get("order", ["desc"])[0]
        limit = int(q.get("limit", ["20"])[0])
        data = list(items) if order == "asc" else list(reversed(items))
        after = q.get("after", [None])[0]
        if after:
            ids = [i.get("id") for i in data]
            data = data[ids.index(after) + 1:] if after in ids else []
        page = data[:limit]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(data) > limit}

    # -- Responses ------------------------------------------------------------------------------
    def create_response(self, body, fault, entry):
        prev, conv = body.get("previous_response_id"), body.get("conversation")
        if isinstance(conv, dict):
            conv = conv.get("id")
        if prev and conv:
            return self.send_json(400, error_body("Cannot use both previous_response_id and conversation.", param="conversation"))
        raw = body.get("input", [])
        items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
        items = [normalise(i) for i in items]
        with LOCK:
            if prev and (prev not in STATE["responses"] or not STATE["responses"][prev]["store"]):
                return self.send_json(400, error_body(f"Previous response with id '{prev}' not found.",
                                                      code="previous_response_not_found", param="previous_response_id"))
            if conv and (conv not in STATE["conversations"] or STATE["conversations"][conv]["deleted"]):
                return self.send_json(404, error_body(f"Conversation with id '{conv}' not found.", param="conversation"))
            context = (chain_context(prev) if prev else list(STATE["conversations"][conv]["items"]) if conv else []) + items
        text = fault["text"] if fault and fault["kind"] == "text" else reply_text(context)
        rid = new_id("resp")
        out = {"type": "message", "id": new_id("msg"), "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}
        resp = {"id": rid, "object": "response", "created_at": int(time.time()), "status": "completed", "model": body.get("model"),
                "output": [out], "previous_response_id": prev, "conversation": {"id": conv} if conv else None,
                "instructions": body.get("instructions"),
                "usage": fault["usage"] if fault and fault["kind"] == "usage" else usage(context, text), "error": None, "incomplete_details": None,
                "metadata": {}, "tools": [], "parallel_tool_calls": True, "tool_choice": "auto", "temperature": 1, "top_p": 1}

        def commit():
            with LOCK:
                STATE["responses"][rid] = {"input": items, "output": [out], "previous_response_id": prev,
                                           "store": body.get("store", True) is not False, "object": resp}
                if conv:
                    STATE["conversations"][conv]["items"] += items + [out]

        if not body.get("stream"):
            commit()
            return self.send_json(200, resp)
        return self.stream_response(resp, out, text, fault, entry, commit)

    def stream_response(self, resp, out, text, fault, entry, commit):
        delay = fault["delay_ms"] / 1000 if fault and fault["kind"] == "slow" else DEFAULT_DELAY
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        seq = [0]

        def send(event):
            event["sequence_number"] = seq[0]
            seq[0] += 1
            payload = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        pending = dict(resp, status="in_progress", output=[], usage=None)
        try:
            send({"type": "response.created", "response": pending})
            send({"type": "response.in_progress", "response": pending})
            send({"type": "response.output_item.added", "output_index": 0, "item": dict(out, status="in_progress", content=[])})
            send({"type": "response.content_part.added", "item_id": out["id"], "output_index": 0, "content_index": 0,
                  "part": {"type": "output_text", "text": "", "annotations": []}})
            words = [w + " " for w in text.split(" ")]
            words[-1] = words[-1][:-1]
            if fault and fault["kind"] == "big":
                block = ("lorem ipsum " * 6000)[:65536]
                words = [block] * (fault.get("mb", 20) * 16)
                text = "".join(words)
                out["content"][0]["text"] = text
            for n, w in enumerate(words):
                if delay:
                    time.sleep(delay)
                send({"type": "response.output_text.delta", "item_id": out["id"], "output_index": 0, "content_index": 0,
                      "delta": w, "logprobs": []})
                if fault and fault.get("trickle") and n > 0:
                    time.sleep(0.05)
                if fault and fault["kind"] == "stall" and n == 0:
                    time.sleep(fault.get("seconds", 3))
                if fault and fault["kind"] == "truncate" and n == 1:
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if fault and fault["kind"] == "reset" and n == 1:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
            send({"type": "response.output_text.done", "item_id": out["id"], "output_index": 0, "content_index": 0, "text": text, "logprobs": []})
            send({"type": "response.content_part.done", "item_id": out["id"], "output_index": 0, "content_index": 0,
                  "part": {"type": "output_text", "text": text, "annotations": []}})
            send({"type": "response.output_item.done", "output_index": 0, "item": out})
            commit()
            send({"type": "response.completed", "response": resp})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with LOCK:
                entry["disconnected"] = True
            self.close_connection = True

    def response_ops(self, method, rid):
        with LOCK:
            r = STATE["responses"].get(rid)
            if not r or not r["store"]:
                return self.send_json(404, error_body(f"Response with id '{rid}' not found."))
            if method == "DELETE":
                del STATE["responses"][rid]
                return self.send_json(200, {"id": rid, "object": "response", "deleted": True})
            return self.send_json(200, r["object"])

    # -- Conversations --------------------------------------------------------------------------
    def conversations(self, method, rest, body, q):
        with LOCK:
            convs = STATE["conversations"]
            if not rest and method == "POST":
                items = [normalise(i) for i in (body or {}).get("items") or []]
                if len(items) > 20:
                    return self.send_json(400, error_body("Invalid 'items': array too long.", param="items"))
                cid = new_id("conv")
                convs[cid] = {"items": items, "metadata": (body or {}).get("metadata") or {}, "deleted": False, "created_at": int(time.time())}
                return self.send_json(200, self.conv_obj(cid))
            cid = rest[0]
            c = convs.get(cid)
            if not c or c["deleted"]:
                return self.send_json(404, error_body(f"Conversation with id '{cid}' not found."))
            if len(rest) == 1:
                if method == "DELETE":
                    c["deleted"] = True
                    return self.send_json(200, {"id": cid, "object": "conversation.deleted", "deleted": True})
                if method == "POST":
                    c["metadata"] = body.get("metadata", {})
                return self.send_json(200, self.conv_obj(cid))
            if len(rest) == 2 and rest[1] == "items":
                if method == "POST":
                    items = [normalise(i) for i in body.get("items", [])]
                    if len(items) > 20:
                        return self.send_json(400, error_body("Invalid 'items': array too long.", param="items"))
                    c["items"] += items
                    return self.send_json(200, {"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
                                                "last_id": items[-1]["id"] if items else None, "has_more": False})
                if OTHER_CONVERSATION_ITEMS:
                    other = [dict(i, content=[{"type": "input_text", "text": "something else"}]) for i in c["items"]]
                    return self.send_json(200, self.page(other, q))
                return self.send_json(200, self.page(c["items"], q))
            if len(rest) == 3:
                found = [i for i in c["items"] if i.get("id") == rest[2]]
                if not found:
                    return self.send_json(404, error_body(f"Item '{rest[2]}' not found."))
                if method == "DELETE":
                    c["items"].remove(found[0])
                    return self.send_json(200, self.conv_obj(cid))
                return self.send_json(200, found[0])
        return self.send_json(404, error_body("unknown conversation route"))

    def conv_obj(self, cid):
        c = STATE["conversations"][cid]
        return {"id": cid, "object": "conversation", "created_at": c["created_at"], "metadata": c["metadata"]}

    # -- Chat Completions -----------------------------------------------------------------------
    def chat(self, body, fault, entry):
        context = [{"role": m["role"], "content": m.get("content", "")} for m in body.get("messages", [])]
        text = reply_text(context)
        cid = "chatcmpl-" + uuid.uuid4().hex[:12]
        u = usage(context, text)
        cu = {"prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"], "total_tokens": u["total_tokens"]}
        if not body.get("stream"):
            return self.send_json(200, {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
                                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                                                     "logprobs": None, "finish_reason": "stop"}], "usage": cu})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def send(obj):
            payload = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        base = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": body.get("model")}
        try:
            send(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}]))
            words = text.split(" ")
            if fault and fault.get("trickle"):   # after the held first delta: one more every 50 ms, for 30 s
                words = words[:1] + ["more"] * 600
            for n, w in enumerate(words):
                if DEFAULT_DELAY:
                    time.sleep(DEFAULT_DELAY)
                send(dict(base, choices=[{"index": 0, "delta": {"content": (w if n == 0 else " " + w)}, "logprobs": None, "finish_reason": None}]))
                if fault and fault["kind"] == "hold" and n == 0:
                    released = RELEASE.wait(30)
                    RELEASE.clear()
                    with LOCK:
                        entry["hold_expired"] = not released
                if fault and fault.get("trickle") and n > 0:
                    time.sleep(0.05)
                if fault and fault["kind"] == "stall" and n == 0:
                    time.sleep(fault.get("seconds", 3))
                if fault and fault["kind"] == "truncate" and n == 1:
                    self.wfile.write(b"0\r\n\r\n")
                    return
            send(dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
            if (body.get("stream_options") or {}).get("include_usage"):
                send(dict(base, choices=[], usage=cu))
            send(b"[DONE]")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            with LOCK:
                entry["disconnected"] = True


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
