"""What the test servers share (stdlib only): a whole reply, with its length, on a keep-alive connection."""
import json


def send_body(handler, status, data, content_type="application/json", headers=None):
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


def send_json(handler, status, obj, headers=None):
    send_body(handler, status, json.dumps(obj).encode(), headers=headers)
