#!/usr/bin/env python3
"""A real SMTP server for mentord's tests (aiosmtpd), with failures on demand.

Usage: python3 tests/smtp/server.py --port P --dir DIR [--tempfail N]
       [--tempfail-code 451|421] [--reject ADDR]... [--refuse-sender-while FILE]
       [--hold ADDR] [--no-pipelining] [--one-ehlo]

Every accepted message is written to DIR as NNNNN.eml, prefixed with
"X-Envelope-To: <addr>" lines. The first N DATA commands are answered with
the --tempfail-code: 451 (try again later; the session goes on) by default,
or 421 (service not available), after which the server closes the connection
as RFC 5321 4.2.3 says. RCPT TO any --reject address is answered 550. While FILE exists, MAIL FROM is
answered "530 5.7.0 Authentication required" (a relay that wants a login).
RCPT TO a --hold address waits three seconds, then answers 451; DIR/../held
then gets a line with the number of messages accepted meanwhile by other sessions.
DIR/../sessions holds the most sessions that were open at once;
DIR/../pipelined how many MAIL commands came with more commands behind them.
EHLO offers PIPELINING (RFC 2920), as Postfix and the big relays do, unless
--no-pipelining; aiosmtpd reads commands a line at a time either way. With
--one-ehlo a second EHLO in a session is refused (503), as OpenSMTPD does.
Prints "ready" on stdout once listening, and runs until killed.
"""
import argparse
import asyncio
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Counted(SMTP):
    """An SMTP session that counts the sessions open at once."""

    open_now = 0
    most = 0
    record = None
    pipelined = 0
    record_pipelined = None

    def connection_made(self, transport):
        Counted.open_now += 1
        if Counted.open_now > Counted.most:
            Counted.most = Counted.open_now
            with open(Counted.record + ".tmp", "w") as f:
                f.write(str(Counted.most))
            os.rename(Counted.record + ".tmp", Counted.record)
        super().connection_made(transport)

    def connection_lost(self, error):
        Counted.open_now -= 1
        super().connection_lost(error)

    async def smtp_MAIL(self, arg):
        # Commands already read behind MAIL came in the same write: the client
        # pipelined. DIR/../pipelined counts those transactions.
        if self._reader is not None and len(self._reader._buffer) > 0:
            Counted.pipelined += 1
            with open(Counted.record_pipelined + ".tmp", "w") as f:
                f.write(str(Counted.pipelined))
            os.rename(Counted.record_pipelined + ".tmp", Counted.record_pipelined)
        await super().smtp_MAIL(arg)


class CountedController(Controller):
    def factory(self):
        return Counted(self.handler, **self.SMTP_kwargs)


class Handler:
    def __init__(self, directory, tempfail, tempfail_code, reject, refuse_sender_while=None,
                 hold=(), pipelining=True, one_ehlo=False):
        self.pipelining = pipelining
        self.one_ehlo = one_ehlo
        self.refuse_sender_while = refuse_sender_while
        self.hold = {h.lower() for h in hold}
        self.directory = directory
        self.tempfail = tempfail
        self.tempfail_code = tempfail_code
        self.reject = {r.lower() for r in reject}
        self.lock = threading.Lock()
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.one_ehlo and session.host_name:
            return ["503 5.5.1 Invalid command: Already identified"]
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender_while and os.path.exists(self.refuse_sender_while):
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        if address.lower() in self.hold:
            before = self.count
            await asyncio.sleep(3)
            with open(os.path.join(self.directory, "..", "held"), "a") as f:
                f.write(f"{self.count - before}\n")
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfail > 0:
                self.tempfail -= 1
                if self.tempfail_code == 421:
                    # Sent before the connection closes: the reply goes out first.
                    asyncio.get_running_loop().call_soon(server.transport.close)
                    return "421 4.3.2 Service not available, closing transmission channel"
                return "451 4.3.0 Try again later"
            self.count += 1
            name = os.path.join(self.directory, f"{self.count:05d}.eml")
        head = "".join(f"X-Envelope-To: {to}\r\n" for to in envelope.rcpt_tos)
        with open(name + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(name + ".tmp", name)
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tempfail", type=int, default=0)
    parser.add_argument("--tempfail-code", type=int, choices=[421, 451], default=451)
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--refuse-sender-while")
    parser.add_argument("--hold", action="append", default=[])
    parser.add_argument("--no-pipelining", action="store_true")
    parser.add_argument("--one-ehlo", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(
        args.dir, args.tempfail, args.tempfail_code, args.reject, args.refuse_sender_while,
        args.hold, pipelining=not args.no_pipelining, one_ehlo=args.one_ehlo,
    )
    Counted.record = os.path.join(args.dir, "..", "sessions")
    Counted.record_pipelined = os.path.join(args.dir, "..", "pipelined")
    controller = CountedController(handler, hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
