"""A hostile /v1 server for `chatbench probe` (stdlib only): every reply echoes the caller's
Authorization header and terminal control sequences, in ids, texts and error messages.
Prints "PORT n" on start."""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stub_http import send_json

ESC = "\x1b[31m\x1b[2J\x1b]0;pwned\x07"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status):
        auth = self.headers.get("authorization", "")
        if status == 200:
            obj = {"id": "resp_" + ESC, "object": "response", "status": "completed", "model": ESC,
                   "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi " + ESC + auth}]}],
                   "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}
        else:
            obj = {"error": {"message": "nope " + ESC + auth, "type": "invalid_request_error", "param": None, "code": ESC}}
        send_json(self, status, obj)

    def do_GET(self):
        self.reply(404)

    def do_DELETE(self):
        self.reply(404)

    def do_POST(self):
        n = int(self.headers.get("content-length", "0") or 0)
        self.rfile.read(n)
        self.reply(200 if self.path.endswith("/responses") else 400)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
