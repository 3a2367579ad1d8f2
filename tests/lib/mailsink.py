#!/usr/bin/env python3
"""A real SMTP receiver for the center's tests (Debian python3-aiosmtpd).

    mailsink.py DIR PORT_FILE [PORT]

Listens on 127.0.0.1 (PORT, or a free port), writes the bound port to PORT_FILE once
it accepts connections, and stores each message it accepts as DIR/NNNN.eml (the bytes
as received) with DIR/NNNN.env (MAIL FROM, then one RCPT TO per line). Runs until
SIGTERM/SIGINT.
"""
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, d):
        self.d = d
        self.n = len([f for f in os.listdir(d) if f.endswith(".eml")])
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            base = os.path.join(self.d, "%04d" % self.n)
        with open(base + ".env.tmp", "w") as f:
            f.write(envelope.mail_from + "\n")
            for r in envelope.rcpt_tos:
                f.write(r + "\n")
        data = envelope.original_content or envelope.content
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        os.rename(base + ".env.tmp", base + ".env")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"


def main():
    d, port_file = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if port == 0:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    os.makedirs(d, exist_ok=True)
    # decode_data=False keeps the bytes as sent; the test parses them itself.
    c = Controller(Store(d), hostname="127.0.0.1", port=port, decode_data=False)
    c.start()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    c.stop()


if __name__ == "__main__":
    main()
