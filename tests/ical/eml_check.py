#!/usr/bin/env python3
"""Check the MIME layout of one mentord message with Python's own email parser.

Usage: python3 tests/ical/eml_check.py FILE.eml

Prints one JSON object: {"subject", "from", "to", "message_id", "headers", "text", "html",
"calendar" (decoded text/calendar part or null), "method" (its Content-Type method
parameter), "attachment" (decoded invite.ics or null), "problems": [...]}. Exit 0 when
"problems" is empty.

The layout every client reads as an invite:
  multipart/mixed
    multipart/alternative: text/plain, text/html, text/calendar; method=M
    invite.ics attachment
Mail without a calendar is a single multipart/alternative of text/plain and text/html.
"""
import email
import email.policy
import json
import re
import sys


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    raw = open(sys.argv[1], "rb").read()
    problems = []
    if re.search(rb"(?<!\r)\n", raw):
        problems.append("bare LF in the message")
    if re.search(rb"\r\n\.\r\n", raw):
        problems.append("a lone dot line would end the SMTP DATA early")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "subject": str(msg["subject"]),
        "from": str(msg["from"]),
        "to": str(msg["to"]),
        "message_id": str(msg["message-id"]),
        "text": None,
        "html": None,
        "calendar": None,
        "method": None,
        "attachment": None,
        # Headers some tests look at, as a reader decodes them.
        "headers": {
            name: str(msg[name])
            for name in ("Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted")
            if msg[name] is not None
        },
    }
    if msg.defects:
        problems.append(f"message defects: {msg.defects}")
    top = msg.get_content_type()
    if top == "multipart/mixed":
        parts = list(msg.iter_parts())
        if len(parts) != 2 or parts[0].get_content_type() != "multipart/alternative":
            problems.append("multipart/mixed must hold multipart/alternative and one attachment")
            return finish(out, problems)
        alternative, attachment = parts
        if attachment.get_content_disposition() != "attachment" or attachment.get_filename() != "invite.ics":
            problems.append("the second part must be the invite.ics attachment")
        if attachment["content-transfer-encoding"].lower() != "base64":
            problems.append("the attachment must be base64")
        out["attachment"] = attachment.get_payload(decode=True).decode("utf-8")
    elif top == "multipart/alternative":
        alternative = msg
    else:
        problems.append(f"unexpected top-level type {top}")
        return finish(out, problems)
    kinds = [p.get_content_type() for p in alternative.iter_parts()]
    expected = ["text/plain", "text/html"] + (["text/calendar"] if top == "multipart/mixed" else [])
    if kinds != expected:
        problems.append(f"alternative parts {kinds}, expected {expected}")
    for part in alternative.iter_parts():
        kind = part.get_content_type()
        if part.get("content-id") or part.get_content_disposition() == "inline":
            problems.append(f"{kind} part is inline or has a Content-ID (Thunderbird hides the invite)")
        if kind == "text/plain":
            out["text"] = part.get_content()
        elif kind == "text/html":
            out["html"] = part.get_content()
        elif kind == "text/calendar":
            if part["content-transfer-encoding"].lower() != "base64":
                problems.append("the calendar part must be base64")
            out["method"] = part.get_param("method")
            out["calendar"] = part.get_payload(decode=True).decode("utf-8")
            charset = (part.get_param("charset") or "").lower()
            if charset != "utf-8":
                problems.append(f"calendar charset {charset!r}")
    if out["calendar"] is not None:
        m = re.search(r"^METHOD:(.*)\r$", out["calendar"], re.M)
        inner = m.group(1) if m else None
        if inner != out["method"]:
            problems.append(f"Content-Type method {out['method']!r} differs from METHOD {inner!r}")
        if out["attachment"] != out["calendar"]:
            problems.append("the attachment differs from the calendar part")
    return finish(out, problems)


def finish(out, problems):
    out["problems"] = problems
    json.dump(out, sys.stdout, ensure_ascii=False)
    print()
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
