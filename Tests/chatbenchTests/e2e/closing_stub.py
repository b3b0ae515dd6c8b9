"""A server that accepts each connection, reads the request and closes it without a reply.
argv[2] == "garbage": it answers with bytes that are not HTTP instead. Prints "PORT n" first."""
import socket
import sys
import threading


def serve(conn, garbage):
    try:
        conn.settimeout(5)
        conn.recv(65536)
        if garbage:
            conn.sendall(b"this is not HTTP at all\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()


if __name__ == "__main__":
    garbage = len(sys.argv) > 2 and sys.argv[2] == "garbage"
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print(f"PORT {s.getsockname()[1]}", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, garbage), daemon=True).start()
