"""An SMTP server for the tests that keeps every message it receives as files.

    python smtp_capture.py --port 0 --dir DIR [--fail-first N] [--watch-stdin]

Listens on 127.0.0.1 (port 0 picks a free port), prints `READY <port>` on one line once
it accepts connections, and runs until killed. Message n (from 1, in the order the
server accepted them) becomes `DIR/<n>.json` ({"mail_from", "rcpt_tos", "received_at"})
and `DIR/<n>.eml` (the raw RFC 5322 data as received). Both are written under a
temporary name and renamed, and the .eml is renamed last: a reader that sees `<n>.eml`
finds both files complete.

For the tests of failed deliveries:
- `--fail-first N` answers the first N messages' end of data with `451 4.3.0` (a
  transient failure the sender should retry); they are not stored or counted.
- A recipient whose address starts with `reject-` is refused with `550 5.1.1` at RCPT
  (a permanent failure).

`--watch-stdin` exits when standard input reaches its end, so a test that dies without
killing the server (a SIGKILLed test binary) does not leave it running: the test keeps
the pipe open for the server's lifetime.
"""

import argparse
import asyncio
import json
import os
import sys
import threading
from datetime import datetime, timezone

from aiosmtpd.smtp import SMTP


class Capture:
    """aiosmtpd handler: stores accepted messages, refuses the ones the options say."""

    def __init__(self, directory: str, fail_first: int) -> None:
        self.directory = directory
        self.fail_first = fail_first
        self.stored = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject-"):
            return "550 5.1.1 Mailbox does not exist (smtp_capture: reject- address)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_first > 0:
            self.fail_first -= 1
            return "451 4.3.0 Try again later (smtp_capture: --fail-first)"
        # One event loop runs every handler, so the counter needs no lock.
        self.stored += 1
        n = self.stored
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": datetime.now(timezone.utc).isoformat(),
        }
        self._publish(f"{n}.json", json.dumps(meta).encode())
        self._publish(f"{n}.eml", envelope.original_content or envelope.content)
        return "250 2.0.0 Message accepted"

    def _publish(self, name: str, data: bytes) -> None:
        # Write then rename (atomic on one file system): a reader never sees half a file.
        final = os.path.join(self.directory, name)
        temporary = os.path.join(self.directory, f".{name}.tmp")
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, final)


def exit_at_end_of_stdin() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--dir", required=True, help="where received messages are written")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N")
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    handler = Capture(args.dir, args.fail_first)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-capture", enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=args.port,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    if args.watch_stdin:
        threading.Thread(target=exit_at_end_of_stdin, daemon=True).start()
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
