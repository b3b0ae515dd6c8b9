"""A deliberately stateless /v1/responses stub (stdlib only), like many local servers: it answers
every create from that request's input alone, ignores previous_response_id and conversation,
stores nothing (GET and DELETE of any response are 404) and has no Conversations routes.
Prints "PORT n" on start."""
import json
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stub_http import send_body, send_json


def error(message, code=None, param=None):
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        send_json(self, status, obj)

    def do_GET(self):
        self.send_json(404, error(f"Not found: {self.path}"))

    def do_DELETE(self):
        self.send_json(404, error(f"Not found: {self.path}"))

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.rstrip("/") != "/v1/responses":
            return self.send_json(404, error(f"Not found: {self.path}"))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(400, error("bad json"))
        inp = body.get("input")
        texts = [inp] if isinstance(inp, str) else [i.get("content") if isinstance(i.get("content"), str) else "" for i in inp or []]
        text = "I only see: " + " | ".join(texts)
        out = {"type": "message", "id": "msg_" + uuid.uuid4().hex, "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
        resp = {"id": "resp_" + uuid.uuid4().hex, "object": "response", "created_at": int(time.time()), "status": "completed",
                "model": body.get("model"), "output": [out], "usage": {"input_tokens": 5, "output_tokens": 5, "total_tokens": 10}}
        if not body.get("stream"):
            return self.send_json(200, resp)
        events = [{"type": "response.created", "response": dict(resp, status="in_progress", output=[])},
                  {"type": "response.output_text.delta", "item_id": out["id"], "output_index": 0, "content_index": 0, "delta": text},
                  {"type": "response.completed", "response": resp}]
        payload = "".join(f"event: {e['type']}\ndata: {json.dumps(dict(e, sequence_number=n))}\n\n" for n, e in enumerate(events)).encode()
        send_body(self, 200, payload, "text/event-stream")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
