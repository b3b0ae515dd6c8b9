"""Drives `chatbench serve` over real sockets. Usage: serve_e2e.py PORT KEY  (the server was started with --api-key KEY).
Prints "ok NAME" per check, "skip NAME: why" when the openai package is missing; exits 1 on any failure."""
import http.client
import json
import socket
import sys
import threading
import time

PORT, KEY = int(sys.argv[1]), sys.argv[2]
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def conn():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)


def call(c, method, path, body=None, headers=AUTH):
    c.request(method, path, body=json.dumps(body) if isinstance(body, (dict, list)) else body, headers=headers)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data and r.getheader("content-type", "").startswith("application/json") else data)


def routes_and_errors():
    c = conn()
    s, m = call(c, "GET", "/v1/models")
    assert s == 200 and m["data"][0]["id"] == "offline-model", m
    s, r1 = call(c, "POST", "/v1/responses", {"model": "m", "input": "My name is Priya and I'm moving to Lisbon."})
    assert s == 200 and r1["id"].startswith("resp_"), r1
    s, r2 = call(c, "POST", "/v1/responses", {"model": "m", "input": "Where am I moving?", "previous_response_id": r1["id"], "some_unknown_field": 1})
    assert s == 200 and "Lisbon" in r2["output"][0]["content"][0]["text"], r2
    s, got = call(c, "GET", f"/v1/responses/{r2['id']}")
    assert s == 200 and got["id"] == r2["id"]
    s, items = call(c, "GET", f"/v1/responses/{r2['id']}/input_items?include%5B%5D=message.input_image.image_url&limit=5&order=asc")
    assert s == 200 and items["data"][0]["content"][0]["text"] == "Where am I moving?", items
    s, conv = call(c, "POST", "/v1/conversations", {"items": [{"role": "user", "content": "I have a cat named Miso."}], "metadata": {"topic": "demo"}})
    assert s == 200 and conv["id"].startswith("conv_") and conv["metadata"] == {"topic": "demo"}
    s, r3 = call(c, "POST", "/v1/responses", {"model": "m", "input": "What's my cat's name?", "conversation": conv["id"]})
    assert "Miso" in r3["output"][0]["content"][0]["text"], r3
    s, page = call(c, "GET", f"/v1/conversations/{conv['id']}/items?limit=2&order=asc")
    assert s == 200 and len(page["data"]) == 2 and page["has_more"] is True
    s, page2 = call(c, "GET", f"/v1/conversations/{conv['id']}/items?limit=2&order=asc&after={page['last_id']}")
    assert s == 200 and len(page2["data"]) == 1 and page2["has_more"] is False
    s, added = call(c, "POST", f"/v1/conversations/{conv['id']}/items", {"items": [{"role": "user", "content": "extra"}]})
    assert s == 200 and added["data"][0]["content"][0]["text"] == "extra"
    s, one = call(c, "GET", f"/v1/conversations/{conv['id']}/items/{added['data'][0]['id']}")
    assert s == 200 and one["id"] == added["data"][0]["id"]
    s, after = call(c, "DELETE", f"/v1/conversations/{conv['id']}/items/{added['data'][0]['id']}")
    assert s == 200 and after["object"] == "conversation"
    s, upd = call(c, "POST", f"/v1/conversations/{conv['id']}", {"metadata": {"topic": "x"}})
    assert s == 200 and upd["metadata"] == {"topic": "x"}
    s, d = call(c, "DELETE", f"/v1/conversations/{conv['id']}")
    assert s == 200 and d == {"id": conv["id"], "object": "conversation.deleted", "deleted": True}
    s, _ = call(c, "GET", f"/v1/conversations/{conv['id']}")
    assert s == 404
    s, d = call(c, "DELETE", f"/v1/responses/{r1['id']}")
    assert s == 200 and d["deleted"] is True
    s, e = call(c, "POST", "/v1/responses", {"model": "m", "input": "x", "previous_response_id": r2["id"]})
    assert s == 400 and e["error"]["code"] == "previous_response_not_found" and e["error"]["param"] == "previous_response_id", e
    s, e = call(c, "POST", "/v1/responses", {"model": "m", "input": "x", "previous_response_id": r2["id"], "conversation": "conv_x"})
    assert s == 400, e
    s, e = call(c, "GET", "/v1/responses/resp_nope")
    assert s == 404 and "error" in e
    s, e = call(c, "POST", "/v1/responses", "{not json")
    assert s == 400 and "parse" in e["error"]["message"], e
    s, e = call(c, "PUT", "/v1/responses", {})
    assert s == 405, e
    s, e = call(c, "GET", "/v1/nothing-here")
    assert s == 404 and "error" in e
    s, e = call(c, "GET", f"/v1/conversations/conv_x/items?limit=500")
    assert s in (400, 404), e
    s, e = call(c, "GET", "/v1/models", headers={})
    assert s == 401 and e["error"]["code"] == "invalid_api_key", e
    s, e = call(c, "GET", "/v1/models", headers={"Authorization": "Bearer wrong"})
    assert s == 401, e
    s, chat = call(c, "POST", "/v1/chat/completions", {"model": "m", "messages": [{"role": "system", "content": "My name is Ana."}, {"role": "user", "content": "What's my name?"}]})
    assert s == 200 and "Ana" in chat["choices"][0]["message"]["content"] and chat["usage"]["prompt_tokens"] > 0, chat


def keep_alive_chunked_and_continue():
    # Several requests over one connection (keep-alive reuse), one with a chunked body, one with Expect: 100-continue.
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    f = sock.makefile("rb")

    def read_reply():
        status = f.readline()
        headers = {}
        while True:
            line = f.readline().decode().strip()
            if not line:
                break
            k, v = line.split(":", 1)
            headers[k.lower()] = v.strip()
        body = f.read(int(headers.get("content-length", 0)))
        return int(status.split()[1]), headers, body

    body = json.dumps({"model": "m", "input": "I'm 34."}).encode()
    auth = f"Authorization: Bearer {KEY}\r\n".encode()
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert read_reply()[0] == 200
    chunks = [body[:10], body[10:]]
    payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n" + payload)
    status, _, reply = read_reply()
    assert status == 200 and b"34" in reply, reply
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    assert f.readline().startswith(b"HTTP/1.1 100")
    f.readline()
    sock.sendall(body)
    assert read_reply()[0] == 200
    sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"Connection: close\r\n\r\n")
    assert read_reply()[0] == 200
    assert f.read() == b""  # the server closed after Connection: close
    sock.close()


def oversized_and_malformed():
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\n\r\n")
    assert sock.recv(100).startswith(b"HTTP/1.1 413"), "oversized"
    sock.close()
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    assert sock.recv(100).startswith(b"HTTP/1.1 400"), "malformed request line"
    sock.close()
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n")
    assert sock.recv(100).startswith(b"HTTP/1.1 431"), "header too large"
    sock.close()


def disconnect_mid_stream_leaves_server_healthy():
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    body = json.dumps({"model": "m", "input": "Tell me everything you know about me and what I should pack.", "stream": True}).encode()
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY.encode() + b"\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    first = sock.recv(200)
    assert first.startswith(b"HTTP/1.1 200") and b"text/event-stream" in first, first
    sock.close()
    time.sleep(0.2)
    c = conn()
    assert call(c, "GET", "/v1/models")[0] == 200


def concurrent_clients():
    errors = []

    def worker(n):
        try:
            c = conn()
            prev = None
            for i in range(20):
                body = {"model": "m", "input": f"I'm {20 + i}."}
                if prev:
                    body["previous_response_id"] = prev
                s, r = call(c, "POST", "/v1/responses", body)
                if s != 200:
                    errors.append((n, i, s, r))
                    return
                prev = r["id"]
        except Exception as e:  # any exception is a failure of this check
            errors.append((n, repr(e)))

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    print(f"info 50 connections x 20 chained creates in {time.monotonic() - started:.2f}s")


def official_sdk():
    try:
        import openai
    except ImportError:
        print("skip official_sdk: the 'openai' Python package is not installed (pip install openai to run it)")
        return None
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{PORT}/v1", api_key=KEY, max_retries=0)
    conv = client.conversations.create()
    assert conv.id.startswith("conv_")
    r1 = client.responses.create(model="gpt-4.1", input="My name is Priya and I'm moving to Lisbon.")
    r2 = client.responses.create(model="gpt-4.1", input="I have a cat named Miso.", previous_response_id=r1.id)
    r3 = client.responses.create(model="gpt-4.1", input="Where am I moving?", previous_response_id=r2.id)
    assert "Lisbon" in r3.output_text, r3.output_text
    text = ""
    with client.responses.stream(model="gpt-4.1", input="What's my cat's name?", previous_response_id=r3.id) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
        final = stream.get_final_response()
    assert "Miso" in text and final.output_text == text, (text, final.output_text)
    items = client.responses.input_items.list(r3.id)
    assert items.data[0].content[0].text == "Where am I moving?"
    client.responses.delete(r2.id)
    try:
        client.responses.create(model="gpt-4.1", input="x", previous_response_id=r3.id)
        raise AssertionError("expected BadRequestError")
    except openai.BadRequestError as e:
        assert e.code == "previous_response_not_found", e
    return True


if __name__ == "__main__":
    failures = 0
    for check in [routes_and_errors, keep_alive_chunked_and_continue, oversized_and_malformed, disconnect_mid_stream_leaves_server_healthy,
                  concurrent_clients, official_sdk]:
        try:
            if check() is not None or check.__name__ != "official_sdk":
                print(f"ok {check.__name__}")
        except Exception as e:
            failures += 1
            print(f"FAIL {check.__name__}: {e!r}")
    sys.exit(1 if failures else 0)
