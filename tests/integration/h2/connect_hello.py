#!/usr/bin/python3
"""One HTTP/2 CONNECT stream (RFC 9113 §8.5) through ferry, prior knowledge on a plain
listener, for tunnel_sni_test.cpp: sends the bytes of FILE (a TLS ClientHello) as the
tunnel's first DATA, then reads until the origin has echoed them all, the stream is reset,
or 5 s pass. Prints one line: status=N echoed=BYTES reset=CODE|none

    connect_hello.py HOST:PORT AUTHORITY FILE
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events


def main():
    target, authority, path = sys.argv[1:4]
    with open(path, "rb") as f:
        hello = f.read()
    host, port = target.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    # python3-h2 4.1 wants a :path on every request: CONNECT has none (RFC 9113 §8.5).
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "CONNECT"), (":authority", authority)])
    sock.sendall(conn.data_to_send())
    status, echoed, reset, sent = None, 0, "none", False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and reset == "none" and (not sent or echoed < len(hello)):
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            reset = "connection"
            break
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers).get(b":status", b"?").decode()
                if status == "200" and not sent:
                    step = conn.max_outbound_frame_size
                    for at in range(0, len(hello), step):
                        conn.send_data(1, hello[at:at + step])
                    sent = True
            elif isinstance(event, h2.events.DataReceived):
                echoed += len(event.data)
                conn.acknowledge_received_data(event.flow_controlled_length, 1)
            elif isinstance(event, h2.events.StreamReset):
                reset = str(int(event.error_code))
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    print("status=%s echoed=%d reset=%s" % (status, echoed, reset))


if __name__ == "__main__":
    main()
