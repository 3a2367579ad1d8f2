#!/usr/bin/env python3
"""Parses the mails a test's SMTP receiver (mailsink.py) collected and prints them as
one JSON array, oldest first: for each, the decoded subject and body, the headers
the center must write, the envelope, and "problems": what is wrong with the message
as MIME (empty when it is correct).

    mailcheck.py DIR
"""
import email
import email.header
import email.policy
import email.utils
import glob
import json
import os
import re
import sys

out = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.eml"))):
    raw = open(path, "rb").read()
    env = open(path[:-4] + ".env").read().split("\n")
    problems = []
    head, _, _ = raw.partition(b"\r\n\r\n")
    if not _:
        problems.append("no CRLF CRLF between header and body")
    lines = raw.split(b"\r\n")
    if any(b"\n" in l or b"\r" in l for l in lines):
        problems.append("bare LF or CR")
    if max(len(l) for l in lines) > 78:
        problems.append("line longer than 78")
    try:
        head.decode("ascii")
    except UnicodeDecodeError:
        problems.append("8-bit header")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type",
              "Content-Transfer-Encoding"):
        if len(msg.get_all(h) or []) != 1:
            problems.append("header %s not exactly once" % h)
    try:
        email.utils.parsedate_to_datetime(str(msg["Date"]))
    except Exception:
        problems.append("bad Date")
    if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(msg["Message-ID"] or "")):
        problems.append("bad Message-ID")
    if msg.get_content_type() != "text/plain" or msg.get_content_charset() != "utf-8":
        problems.append("not text/plain; charset=UTF-8")
    for w in re.findall(rb"=\?[^?]+\?[BbQq]\?[^?]*\?=", head):
        if len(w) > 75:
            problems.append("encoded word longer than 75")
        try:
            email.header.decode_header(w.decode())[0][0].decode("utf-8")
        except Exception:
            problems.append("encoded word is not whole UTF-8 characters")
    try:
        body = msg.get_content()
    except Exception as e:
        body = ""
        problems.append("body does not decode: %s" % e)
    out.append({
        "file": os.path.basename(path),
        "subject": str(msg["Subject"]),
        "to": str(msg["To"]),
        "from": str(msg["From"]),
        "message_id": str(msg["Message-ID"]),
        "incident": str(msg["X-Otasuke-Incident"]),
        "mail_from": env[0],
        "rcpt": [r for r in env[1:] if r],
        "body": body,
        "problems": problems,
    })
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
