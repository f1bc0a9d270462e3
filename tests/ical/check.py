#!/usr/bin/env python3
"""Independent check of one iCalendar invite with two third-party libraries.

Usage:
    python3 tests/ical/check.py FILE.ics --from 2027-01-01T00:00:00Z --until 2028-01-01T00:00:00Z

Prints ONE JSON object on stdout:
    {"icalendar": {...}, "vobject": {...}, "problems": [...]}
Exit status: 0 when "problems" is empty, 1 otherwise, 2 on usage/IO error.

"icalendar" is what PyPI icalendar decodes (occurrences expanded by
recurring_ical_events); "vobject" is what PyPI vobject decodes (occurrences
from its own dateutil rruleset, getrruleset(addRDate=True)).  Both objects have
the same keys; every key is compared and any difference is a problem.
"problems" also holds what the libraries report and the cheap independent
checks of this script.  See tests/ical/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import warnings
import zoneinfo

UTC = dt.timezone.utc
DATE_PROPS = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE")
TEXT_PROPS = ("SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CONTACT")
EVENT_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
KEY_ORDER = ("method", "uid", "sequence", "tzids", "vtimezones", "occurrences", "recurrence_ids",
             "attendees", "organizer", "summary", "description", "location", "status", "dtstart", "dtend")
SINGLE_VALUED_PARAMS = ("CN", "ROLE", "PARTSTAT", "RSVP", "CUTYPE", "TZID", "VALUE", "RANGE",
                        "LANGUAGE", "ENCODING", "FMTTYPE", "RELATED", "SCHEDULE-AGENT", "SENT-BY", "DIR")


# --------------------------------------------------------------------------
# helpers


def parse_instant(text: str) -> dt.datetime:
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(t)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def sort_key(value) -> dt.datetime:
    """Comparable UTC instant: floating times and dates are taken as UTC."""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"not a date or date-time: {value!r}")


def fmt(value) -> str | None:
    """UTC ISO 8601 with Z; floating time without Z; a DATE as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def in_window(value, start: dt.datetime, end: dt.datetime) -> bool:
    return start <= sort_key(value) < end


def plain_params(items) -> dict:
    out = {}
    for key, val in items:
        if isinstance(val, (list, tuple)):
            vals = [str(v) for v in val]
            out[key.upper()] = vals[0] if len(vals) == 1 else vals
        else:
            out[key.upper()] = str(val)
    return out


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


# --------------------------------------------------------------------------
# independent raw checks (bytes and content lines; no library involved)


def split_content_line(line: str):
    """name, [(param, [values])], value of one unfolded content line."""
    i, n = 0, len(line)
    while i < n and line[i] not in ";:":
        i += 1
    name = line[:i].upper()
    params = []
    while i < n and line[i] == ";":
        i += 1
        j = i
        while j < n and line[j] not in "=;:":
            j += 1
        pname = line[i:j].upper()
        values = []
        i = j
        if i < n and line[i] == "=":
            i += 1
            while True:
                if i < n and line[i] == '"':
                    j = line.find('"', i + 1)
                    if j < 0:
                        raise ValueError(f"unterminated quoted parameter value in {name}")
                    values.append(line[i + 1 : j])
                    i = j + 1
                else:
                    j = i
                    while j < n and line[j] not in ",;:":
                        j += 1
                    values.append(line[i:j])
                    i = j
                if i < n and line[i] == ",":
                    i += 1
                    continue
                break
        params.append((pname, values))
    if i >= n or line[i] != ":":
        raise ValueError(f"no ':' after the name and parameters of {name or line[:20]!r}")
    return name, params, line[i + 1 :]


def raw_checks(data: bytes, problems: list[str]) -> None:
    """Byte- and line-level checks, and iTIP cardinalities, without any library."""
    if not data.strip():
        problems.append("raw: file is empty")
        return
    terminated = data.endswith(b"\n")
    physical = data.split(b"\n")
    if terminated:
        physical.pop()  # the empty piece after the final LF
    if data and not data.endswith(b"\r\n"):
        problems.append("raw: file does not end with CRLF")
    n_terminated = len(physical) if terminated else len(physical) - 1
    bare_lf = [i + 1 for i in range(n_terminated) if not physical[i].endswith(b"\r")]
    if bare_lf:
        problems.append(
            f"raw: {len(bare_lf)} line(s) end with a bare LF instead of CRLF (first at line {bare_lf[0]})"
        )
    lines = [l[:-1] if l.endswith(b"\r") else l for l in physical]
    bare_cr = [i + 1 for i, l in enumerate(lines) if b"\r" in l]
    if bare_cr:
        problems.append(f"raw: bare CR inside line(s) {bare_cr[:5]}")
    for i, l in enumerate(lines):
        if len(l) > 75:
            problems.append(f"raw: line {i + 1} is {len(l)} octets long (limit 75 without CRLF)")
    for i, l in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if nxt[:1] not in (b" ", b"\t"):
            continue
        try:
            l.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":
                problems.append(f"raw: fold after line {i + 1} splits a UTF-8 character")
        if 0x80 <= (nxt[1:2] or b"\0")[0] <= 0xBF:
            problems.append(f"raw: continuation line {i + 2} starts inside a UTF-8 character")
    # unfold exactly as RFC 5545 3.1 says, then decode
    logical_bytes: list[bytes] = []
    for l in lines:
        if l[:1] in (b" ", b"\t") and logical_bytes:
            logical_bytes[-1] += l[1:]
        else:
            logical_bytes.append(l)
    unfolded = b"\n".join(logical_bytes)
    try:
        unfolded.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"raw: not valid UTF-8 after unfolding (offset {exc.start})")
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append("raw: file starts with a UTF-8 byte order mark")

    stack: list[str] = []
    calendars = 0
    tz_used: dict[str, str] = {}
    tz_defined: set[str] = set()
    event: dict | None = None
    events: list[dict] = []
    cal_props: dict[str, list[str]] = {}
    for number, raw in enumerate(logical_bytes, 1):
        line = raw.decode("utf-8", "replace")
        if line == "":
            problems.append(f"raw: empty content line (logical line {number})")
            continue
        ctl = sorted({f"U+{ord(c):04X}" for c in line if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F})
        if ctl:
            problems.append(f"raw: control character(s) {', '.join(ctl)} in logical line {number}")
        try:
            name, params, value = split_content_line(line)
        except ValueError as exc:
            problems.append(f"raw: logical line {number}: {exc}")
            continue
        pmap = {k: v for k, v in params}
        where = stack[-1] if stack else "(top level)"
        if name == "BEGIN":
            comp = value.strip().upper()
            if not stack and comp != "VCALENDAR":
                problems.append(f"raw: top-level component {comp} is not VCALENDAR")
            if comp == "VCALENDAR" and not stack:
                calendars += 1
            stack.append(comp)
            if comp in EVENT_COMPONENTS and stack[:-1] == ["VCALENDAR"]:
                event = {"name": comp, "dtstart": None, "until": [], "props": {}}
                events.append(event)
            continue
        if name == "END":
            comp = value.strip().upper()
            if not stack or stack[-1] != comp:
                problems.append(f"raw: END:{comp} does not close {where}")
            else:
                stack.pop()
            if comp in EVENT_COMPONENTS and event is not None:
                check_until(event, problems)
                event = None
            continue
        if not stack:
            problems.append(f"raw: property {name} outside any component")
            continue
        if stack == ["VCALENDAR"]:
            cal_props.setdefault(name, []).append(value)
        if event is not None and stack[-1] == event["name"]:
            event["props"].setdefault(name, []).append(value)
        if "TZID" in pmap:
            for tzid in pmap["TZID"]:
                tz_used.setdefault(tzid, name)
        if name == "TZID" and where == "VTIMEZONE":
            tz_defined.add(value)
        if where in EVENT_COMPONENTS and name in DATE_PROPS:
            kinds = []
            is_date = [v.upper() for v in pmap.get("VALUE", [])] == ["DATE"]
            for item in value.split(","):
                if is_date or re.fullmatch(r"\d{8}", item):
                    kinds.append("date")
                elif item.endswith("Z"):
                    kinds.append("utc")
                elif "TZID" in pmap:
                    kinds.append("zoned")
                elif re.fullmatch(r"\d{8}T\d{6}", item):
                    kinds.append("floating")
                    problems.append(
                        f"raw: {where} {name}:{item} is a floating time (no TZID and no Z)"
                    )
                else:
                    kinds.append("other")
            if name == "DTSTART" and event is not None and kinds:
                event["dtstart"] = kinds[0]
        if where in EVENT_COMPONENTS and name == "RRULE" and event is not None:
            m = re.search(r"(?:^|;)UNTIL=([^;]*)", value, re.I)
            if m:
                event["until"].append(m.group(1))
        if name in TEXT_PROPS:
            check_text_escapes(name, value, problems)
        for pname, values in params:
            if pname in SINGLE_VALUED_PARAMS and len(values) != 1:
                problems.append(
                    f"raw: {name} parameter {pname} has {len(values)} values {values} (unquoted comma?)"
                )
        if name in ("ORGANIZER", "ATTENDEE") and not value.lower().startswith("mailto:"):
            problems.append(f"raw: {name} value {value!r} is not a mailto: URI")
    if stack:
        problems.append(f"raw: components not closed: {' > '.join(stack)}")
    if calendars != 1:
        problems.append(f"raw: expected exactly one VCALENDAR, found {calendars}")
    itip_checks(cal_props, events, problems)
    for tzid, prop in sorted(tz_used.items()):
        if tzid not in tz_defined:
            problems.append(f"raw: TZID={tzid} (used by {prop}) has no matching VTIMEZONE")


ONCE_ONLY = ("UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION",
             "LOCATION", "SEQUENCE", "STATUS", "ORGANIZER", "RECURRENCE-ID", "CLASS", "CREATED",
             "LAST-MODIFIED", "PRIORITY", "TRANSP", "URL", "GEO")


def itip_checks(cal_props: dict, events: list[dict], problems: list[str]) -> None:
    """The RFC 5545 / 5546 / 6047 cardinalities an invite from mentord must meet."""
    for name in ("PRODID", "VERSION", "METHOD"):
        count = len(cal_props.get(name, []))
        if count != 1:
            why = " (iMIP, RFC 6047 2.4: an invite MUST carry METHOD)" if name == "METHOD" else ""
            problems.append(f"itip: VCALENDAR has {count} {name} properties, expected 1{why}")
    if cal_props.get("VERSION", ["2.0"])[0].strip() != "2.0":
        problems.append(f"itip: VERSION is {cal_props['VERSION'][0]!r}, expected 2.0")
    method = (cal_props.get("METHOD") or [""])[0].strip().upper()
    if not events:
        problems.append("itip: no VEVENT/VTODO/VJOURNAL in the VCALENDAR")
    for ev in events:
        props, label = ev["props"], ev["name"]
        if "RECURRENCE-ID" in props:
            label += " RECURRENCE-ID " + props["RECURRENCE-ID"][0]

        def count(n, props=props):
            return len(props.get(n, []))

        required = ["UID", "DTSTAMP"]
        if method in ("", "PUBLISH", "REQUEST", "ADD") and ev["name"] == "VEVENT":
            required.append("DTSTART")
        if method in ("REQUEST", "CANCEL", "ADD", "DECLINECOUNTER", "PUBLISH"):
            required.append("ORGANIZER")
        if method in ("CANCEL", "ADD"):
            required.append("SEQUENCE")
        if method == "REQUEST" and ev["name"] == "VEVENT":
            required.append("SUMMARY")
        for n in required:
            if count(n) == 0:
                problems.append(f"itip: {label} lacks {n}" + (f" (required for METHOD:{method})" if method else ""))
        for n in ONCE_ONLY:
            if count(n) > 1:
                problems.append(f"itip: {label} has {count(n)} {n} properties, at most 1 allowed")
        if count("DTEND") and count("DURATION"):
            problems.append(f"itip: {label} has both DTEND and DURATION")
        if method == "REQUEST" and count("ATTENDEE") == 0:
            problems.append(f"itip: {label} has no ATTENDEE (METHOD:REQUEST needs at least one)")
        status = [v.strip().upper() for v in props.get("STATUS", [])]
        allowed = {"REQUEST": {"TENTATIVE", "CONFIRMED"}, "CANCEL": {"CANCELLED"}}.get(method)
        if allowed and ev["name"] == "VEVENT" and any(st not in allowed for st in status):
            problems.append(f"itip: {label} STATUS {status} not allowed with METHOD:{method} ({sorted(allowed)})")
        seq = props.get("SEQUENCE", [])
        if seq and not re.fullmatch(r"\d+", seq[0].strip()):
            problems.append(f"itip: {label} SEQUENCE {seq[0]!r} is not a non-negative integer")


def check_until(event: dict, problems: list[str]) -> None:
    """RFC 5545 3.3.10: UNTIL has DTSTART's value type; UTC when DTSTART has a zone."""
    kind = event["dtstart"]
    for until in event["until"]:
        if kind == "date" and not re.fullmatch(r"\d{8}", until):
            problems.append(f"raw: RRULE UNTIL={until} must be a DATE because DTSTART is a DATE")
        elif kind in ("utc", "zoned") and not re.fullmatch(r"\d{8}T\d{6}Z", until):
            problems.append(f"raw: RRULE UNTIL={until} must be a UTC date-time (…Z) because DTSTART has a time zone")
        elif kind == "floating" and not re.fullmatch(r"\d{8}T\d{6}", until):
            problems.append(f"raw: RRULE UNTIL={until} must be a floating date-time like DTSTART")


def check_text_escapes(name: str, value: str, problems: list[str]) -> None:
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            nxt = value[i + 1 : i + 2]
            if nxt not in ("\\", ";", ",", "n", "N"):
                problems.append(f"raw: {name} has an invalid escape '\\{nxt}' at character {i}")
            i += 2
            continue
        if c in ",;":
            problems.append(f"raw: {name} has an unescaped '{c}' at character {i}")
        i += 1


# --------------------------------------------------------------------------
# icalendar + recurring_ical_events


def ical_side(data: bytes, start, end, problems: list[str]) -> tuple[dict, dict]:
    import icalendar
    import recurring_ical_events

    out: dict = {}
    extra: dict = {"events": []}
    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # noqa: BLE001 - report anything the library raises
        problems.append(f"icalendar: cannot parse: {first_line(exc)}")
        return out, extra
    for comp in cal.walk():
        for prop, msg in getattr(comp, "errors", []) or []:
            problems.append(f"icalendar: {comp.name} {prop}: {msg}")

    def get(comp, key, decode=True):
        if key not in comp:
            return None
        try:
            return comp.decoded(key) if decode else comp[key]
        except Exception as exc:  # noqa: BLE001
            problems.append(f"icalendar: cannot decode {comp.name} {key}: {first_line(exc)}")
            return None

    def person(prop):
        return {"address": str(prop), **plain_params(prop.params.items())}

    events = [c for c in cal.walk() if c.name == "VEVENT"]
    master = next((e for e in events if "RECURRENCE-ID" not in e), events[0] if events else None)
    method = cal.get("METHOD")
    out["method"] = str(method) if method is not None else None
    tzids = set()
    for comp in cal.walk():
        for _key, val in comp.property_items(recursive=False):
            for v in val if isinstance(val, list) else [val]:
                params = getattr(v, "params", None)
                if params and "TZID" in params:
                    tzids.add(str(params["TZID"]))
    out["tzids"] = sorted(tzids)
    out["vtimezones"] = sorted(str(c.get("TZID")) for c in cal.walk("VTIMEZONE"))
    out["uid"] = str(master["UID"]) if master is not None and "UID" in master else None
    seq = master.get("SEQUENCE") if master is not None else None
    out["sequence"] = seq if isinstance(seq, int) or seq is None else str(seq)
    rids = [get(e, "RECURRENCE-ID") for e in events if "RECURRENCE-ID" in e]
    rids = [r for r in rids if r is not None]
    out["recurrence_ids"] = [fmt(r) for r in sorted(rids, key=sort_key)]
    out["occurrences"] = []
    is_cancel = out["method"] is not None and out["method"].upper() == "CANCEL"
    if is_cancel and rids:
        out["occurrences"] = [fmt(r) for r in sorted(rids, key=sort_key) if in_window(r, start, end)]
    else:
        try:
            occ = recurring_ical_events.of(cal).between(start, end)
            starts = [o.decoded("DTSTART") for o in occ if o.name == "VEVENT"]
            starts = sorted((s for s in starts if in_window(s, start, end)), key=sort_key)
            out["occurrences"] = [fmt(s) for s in starts]
            extra["starts"] = starts
        except Exception as exc:  # noqa: BLE001
            problems.append(f"recurring_ical_events: cannot expand: {first_line(exc)}")
    out["organizer"] = person(master["ORGANIZER"]) if master is not None and "ORGANIZER" in master else None
    attendees = master.get("ATTENDEE", []) if master is not None else []
    if not isinstance(attendees, list):
        attendees = [attendees]
    out["attendees"] = [person(a) for a in attendees]
    for key in ("summary", "description", "location", "status"):
        val = master.get(key.upper()) if master is not None else None
        out[key] = str(val) if val is not None else None
    out["dtstart"] = fmt(get(master, "DTSTART")) if master is not None else None
    out["dtend"] = fmt(get(master, "DTEND")) if master is not None else None
    extra["events"] = events
    extra["cal"] = cal
    extra["get"] = get
    return out, extra


# --------------------------------------------------------------------------
# vobject


def vobject_side(text: str, start, end, problems: list[str]) -> dict:
    import vobject

    out: dict = {}
    try:
        cal = vobject.readOne(text)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"vobject: cannot parse: {first_line(exc)}")
        return out
    try:
        cal.validate()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"vobject: validate: {first_line(exc)}")

    def params_of(line):
        return plain_params(
            (k, v) for k, v in line.params.items() if not k.upper().startswith("X-VOBJ-")
        )

    def person(line):
        return {"address": str(line.value), **params_of(line)}

    def value(comp, key):
        line = comp.contents.get(key)
        return line[0].value if line else None

    events = list(cal.contents.get("vevent", []))
    master = next((e for e in events if "recurrence-id" not in e.contents), events[0] if events else None)
    method = value(cal, "method")
    out["method"] = str(method) if method is not None else None
    tzids = set()

    def walk(comp):
        for child in comp.getChildren():
            if isinstance(child, vobject.base.Component):
                yield from walk(child)
            else:
                yield child

    for line in walk(cal):
        for key in ("TZID", "X-VOBJ-ORIGINAL-TZID"):
            for tzid in line.params.get(key, []):
                tzids.add(str(tzid))
    out["tzids"] = sorted(tzids)
    out["vtimezones"] = sorted(str(value(tz, "tzid")) for tz in cal.contents.get("vtimezone", []))
    out["uid"] = str(value(master, "uid")) if master is not None and value(master, "uid") is not None else None
    seq = value(master, "sequence") if master is not None else None
    if isinstance(seq, str) and re.fullmatch(r"[+-]?\d+", seq.strip()):
        seq = int(seq)
    out["sequence"] = seq
    rids = [value(e, "recurrence-id") for e in events if "recurrence-id" in e.contents]
    out["recurrence_ids"] = [fmt(r) for r in sorted(rids, key=sort_key)]
    out["occurrences"] = []
    is_cancel = out["method"] is not None and out["method"].upper() == "CANCEL"
    try:
        if is_cancel and rids:
            occ = [r for r in rids if in_window(r, start, end)]
        else:
            occ = vobject_occurrences(events, start, end)
        out["occurrences"] = [fmt(s) for s in sorted(occ, key=sort_key)]
    except Exception as exc:  # noqa: BLE001
        problems.append(f"vobject: cannot expand: {first_line(exc)}")
    org = master.contents.get("organizer") if master is not None else None
    out["organizer"] = person(org[0]) if org else None
    out["attendees"] = [person(a) for a in (master.contents.get("attendee", []) if master is not None else [])]
    for key in ("summary", "description", "location", "status"):
        val = value(master, key) if master is not None else None
        out[key] = str(val) if val is not None else None
    out["dtstart"] = fmt(value(master, "dtstart")) if master is not None else None
    out["dtend"] = fmt(value(master, "dtend")) if master is not None else None
    return out


def vobject_occurrences(events, start, end) -> list:
    """Expand with vobject's own rruleset; RECURRENCE-ID overrides replace instances."""
    result = []
    by_uid: dict = {}
    for ev in events:
        uid = ev.contents["uid"][0].value if "uid" in ev.contents else None
        by_uid.setdefault(uid, []).append(ev)
    for group in by_uid.values():
        masters = [e for e in group if "recurrence-id" not in e.contents]
        overrides = [e for e in group if "recurrence-id" in e.contents]
        moved = {sort_key(e.contents["recurrence-id"][0].value) for e in overrides}
        for ev in masters:
            dtstart = ev.contents["dtstart"][0].value
            rset = ev.getrruleset(addRDate=True)
            if rset is None:
                items = [dtstart]
            else:
                aware = isinstance(dtstart, dt.datetime) and dtstart.tzinfo is not None
                lo, hi = (start, end) if aware else (start.replace(tzinfo=None), end.replace(tzinfo=None))
                items = list(rset.between(lo, hi, inc=True))
                if not isinstance(dtstart, dt.datetime):  # all-day: back to DATE
                    items = [i.date() if isinstance(i, dt.datetime) else i for i in items]
            result += [i for i in items if in_window(i, start, end) and sort_key(i) not in moved]
        for ev in overrides:
            dtstart = ev.contents["dtstart"][0].value
            if in_window(dtstart, start, end):
                result.append(dtstart)
    return result


# --------------------------------------------------------------------------
# semantic checks on what icalendar decoded


def semantic_checks(extra: dict, problems: list[str]) -> None:
    from dateutil import rrule as du_rrule

    events = extra.get("events") or []
    get = extra.get("get")
    uids = {str(e.get("UID")) for e in events}
    if len(uids) > 1:
        problems.append(f"check: one iTIP message carries several UIDs: {sorted(uids)}")
    for ev in events:
        label = f"VEVENT{' RECURRENCE-ID' if 'RECURRENCE-ID' in ev else ''}"
        dtstart = get(ev, "DTSTART") if "DTSTART" in ev else None
        dtend = get(ev, "DTEND") if "DTEND" in ev else None
        if dtstart is not None and dtend is not None:
            try:
                if sort_key(dtend) <= sort_key(dtstart):
                    problems.append(f"check: {label} DTEND {fmt(dtend)} is not after DTSTART {fmt(dtstart)}")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"check: {label} cannot compare DTSTART and DTEND: {first_line(exc)}")
        for key in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            value = get(ev, key) if key in ev else None
            local_time_check(f"{label} {key}", value, problems)
        rid = ev.get("RECURRENCE-ID")
        if rid is not None and str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE":
            problems.append("check: RANGE=THISANDFUTURE: only the RECURRENCE-ID instant is reported")
        if dtstart is None or "RRULE" not in ev or not isinstance(dtstart, dt.datetime):
            continue
        rules = ev["RRULE"] if isinstance(ev["RRULE"], list) else [ev["RRULE"]]
        try:
            rset = du_rrule.rruleset()
            for r in rules:
                if type(r).__name__ != "vRecur":
                    raise ValueError(f"RRULE not decoded by icalendar ({type(r).__name__})")
                rset.rrule(du_rrule.rrulestr(r.to_ical().decode(), dtstart=dtstart))
        except Exception as exc:  # noqa: BLE001
            problems.append(f"check: dateutil cannot build the RRULE: {first_line(exc)}")
            continue
        try:
            first = rset.after(dtstart, inc=True)
            if first is None or sort_key(first) != sort_key(dtstart):
                problems.append(
                    f"check: DTSTART {fmt(dtstart)} is not itself an occurrence of the RRULE "
                    "(RFC 5545: behaviour undefined; both libraries add it as an extra occurrence)"
                )
            rdates = [p.dt for r in as_list(ev.get("RDATE")) for p in r.dts]
            exdates = [p.dt for e in as_list(ev.get("EXDATE")) for p in e.dts]
            for ex in exdates:
                local_time_check(f"{label} EXDATE", ex, problems)
                if not isinstance(ex, dt.datetime) or (ex.tzinfo is None) != (dtstart.tzinfo is None):
                    problems.append(f"check: EXDATE {fmt(ex)} is not of the same kind as DTSTART {fmt(dtstart)}")
                    continue
                win = rset.between(ex - dt.timedelta(seconds=1), ex + dt.timedelta(seconds=1), inc=True)
                hit = [w for w in win if sort_key(w) == sort_key(ex)]
                if not hit and sort_key(ex) not in {sort_key(r) for r in rdates} and sort_key(ex) != sort_key(dtstart):
                    problems.append(f"check: EXDATE {fmt(ex)} matches no occurrence, so it excludes nothing")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"check: cannot check RRULE/EXDATE: {first_line(exc)}")
    for occ in extra.get("starts") or []:
        local_time_check("occurrence", occ, problems)


def tz_database_zone(tzid: str, comp) -> str | None:
    """The tz database zone a VTIMEZONE claims to be, if it can be told."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    for cand in (tzid, tzid.strip("/"), WINDOWS_TO_OLSON.get(tzid), str(comp.get("X-LIC-LOCATION") or "")):
        if not cand:
            continue
        try:
            zoneinfo.ZoneInfo(cand)
            return cand
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return None


def vtimezone_checks(extra: dict, instants: list[dt.datetime], problems: list[str]) -> None:
    """Compare each VTIMEZONE with the tz database zone it stands for, at every
    occurrence, DTSTART, DTEND and EXDATE instant.  Both libraries trust a
    VTIMEZONE whose TZID is not an IANA name (e.g. Outlook's "W. Europe Standard
    Time"), so a wrong VTIMEZONE would otherwise go unnoticed."""
    cal = extra.get("cal")
    if cal is None:
        return
    get = extra["get"]
    for ev in extra.get("events") or []:
        for key in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            v = get(ev, key) if key in ev else None
            if isinstance(v, dt.datetime) and v.tzinfo is not None:
                instants.append(v.astimezone(UTC))
        for e in as_list(ev.get("EXDATE")):
            instants += [p.dt.astimezone(UTC) for p in getattr(e, "dts", [])
                         if isinstance(p.dt, dt.datetime) and p.dt.tzinfo is not None]
    instants = sorted(set(instants))
    for comp in cal.walk("VTIMEZONE"):
        tzid = str(comp.get("TZID"))
        key = tz_database_zone(tzid, comp)
        if key is None:
            problems.append(f"check: VTIMEZONE {tzid!r} names no tz database zone (IANA, Windows or "
                            "X-LIC-LOCATION), so its rules cannot be verified")
            continue
        if not instants:
            continue
        try:
            vtz = comp.to_tz(lookup_tzid=False)  # from the VTIMEZONE's own rules
        except Exception as exc:  # noqa: BLE001
            problems.append(f"icalendar: cannot build VTIMEZONE {tzid!r}: {first_line(exc)}")
            continue
        ref = zoneinfo.ZoneInfo(key)
        for inst in instants:
            mine, theirs = inst.astimezone(vtz).utcoffset(), inst.astimezone(ref).utcoffset()
            if mine != theirs:
                problems.append(
                    f"check: VTIMEZONE {tzid!r} gives UTC{fmt_offset(mine)} at {fmt(inst)}, "
                    f"but the tz database zone {key} gives UTC{fmt_offset(theirs)}"
                )
                break


def fmt_offset(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "?"
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_time_check(label: str, value, problems: list[str]) -> None:
    """Flag a local time that does not exist (DST gap) or exists twice (overlap)."""
    if not isinstance(value, dt.datetime) or not isinstance(value.tzinfo, zoneinfo.ZoneInfo):
        return
    naive = value.replace(tzinfo=None)
    tz = value.tzinfo
    a, b = value.replace(fold=0), value.replace(fold=1)
    if a.utcoffset() == b.utcoffset():
        return
    back = a.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    kind = "does not exist (DST gap)" if back != naive else "is ambiguous (DST overlap)"
    msg = f"check: {label} local time {naive.isoformat()} {tz.key} {kind}"
    if msg not in problems:
        problems.append(msg)


# --------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--from", dest="start", required=True, help="window start, e.g. 2027-01-01T00:00:00Z")
    parser.add_argument("--until", dest="end", required=True, help="window end (exclusive)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        start, end = parse_instant(args.start), parse_instant(args.end)
    except ValueError as exc:
        print(f"check.py: bad --from/--until: {exc}", file=sys.stderr)
        return 2
    try:
        with open(args.file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        print(f"check.py: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2

    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw_checks(data, problems)
        text = data.decode("utf-8", "replace")
        ical, extra = ical_side(data, start, end, problems)
        vobj = vobject_side(text, start, end, problems)
        try:
            semantic_checks(extra, problems)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"check: semantic checks failed: {first_line(exc)}")
        try:
            instants = [parse_instant(o) for side in (ical, vobj) for o in side.get("occurrences", [])
                        if o.endswith("Z")]
            vtimezone_checks(extra, instants, problems)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"check: VTIMEZONE checks failed: {first_line(exc)}")
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
            problems.append(f"warning: {w.category.__name__}: {w.message}")

    ical = {k: ical[k] for k in KEY_ORDER if k in ical}
    vobj = {k: vobj[k] for k in KEY_ORDER if k in vobj}
    if ical and vobj:
        for key in ical:
            if ical.get(key) != vobj.get(key):
                if key == "occurrences":
                    a, b = set(ical[key]), set(vobj.get(key) or [])
                    problems.append(
                        f"disagree: occurrences: only icalendar {sorted(a - b)}, only vobject {sorted(b - a)}"
                        if a != b else "disagree: occurrences (order or duplicates differ)"
                    )
                else:
                    problems.append(
                        f"disagree: {key}: icalendar {json.dumps(ical.get(key), ensure_ascii=False)} "
                        f"vs vobject {json.dumps(vobj.get(key), ensure_ascii=False)}"
                    )
    result = {"icalendar": ical, "vobject": vobj, "problems": problems}
    sys.stdout.reconfigure(encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
