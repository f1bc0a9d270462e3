#!/usr/bin/env python3
"""Write the sample invites in this folder (hand-written content, folded here).

The .ics files are committed; this script only documents how they were made
and lets you regenerate them:  python3 tests/ical/samples/make_samples.py

good_*    must pass both checkers (exit 0).
broken_*  each breaks one thing; README.md says which checker catches it.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fold(line: str, limit: int = 75) -> bytes:
    """RFC 5545 3.1: fold at <= 75 octets, never inside a UTF-8 sequence."""
    out, cur, width = [], b"", limit
    for ch in line:
        b = ch.encode("utf-8")
        if len(cur) + len(b) > width:
            out.append(cur)
            cur, width = b" ", limit
        cur += b
    out.append(cur)
    return b"\r\n".join(out)


def write(name: str, lines: list[str], *, raw: bytes | None = None) -> None:
    data = raw if raw is not None else b"".join(fold(l) + b"\r\n" for l in lines)
    (HERE / name).write_bytes(data)


VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
]

# Decoded values (what the checkers must print back):
#   SUMMARY     Mentoring: Zoë, O'Brien; "Ops" \ 山田太郎 & Ζωή 🚀
#   DESCRIPTION Agenda:\n1. Intro, goals; "why"\n2. Notes in C:\mentord\notes\n3. ...
#   LOCATION    Room 3, Building "B"; 2nd floor
UID = "weekly-0001@mentord.example"
SUMMARY = r'''SUMMARY:Mentoring: Zoë\, O'Brien\; "Ops" \\ 山田太郎 & Ζωή 🚀'''
DESCRIPTION = (
    r'''DESCRIPTION:Agenda:\n1. Intro\, goals\; "why"\n2. Notes in C:\\mentord\\notes\n'''
    r'''3. Большое спасибо — 非常感谢 — شكرا جزيلا — 🎉👩‍💻 and a long tail to force '''
    r'''several folds of this line across multi-byte characters ✓✓✓✓✓✓✓✓'''
)
LOCATION = r'''LOCATION:Room 3\, Building "B"\; 2nd floor'''
PEOPLE = [
    'ORGANIZER;CN="Müller, Anna":mailto:anna.mueller@example.org',
    "ATTENDEE;CN=\"Zoë O'Brien\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
    ":mailto:zoe@example.org",
    "ATTENDEE;CN=山田太郎;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
    ":mailto:taro@example.jp",
]


def calendar(method: str, event: list[str], tz: bool = True) -> list[str]:
    return (
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mentord tests//ical samples//EN",
         "CALSCALE:GREGORIAN", f"METHOD:{method}"]
        + (VTIMEZONE if tz else [])
        + ["BEGIN:VEVENT"] + event + ["END:VEVENT", "END:VCALENDAR"]
    )


# Tuesdays 10:00-11:00 Berlin, 2027-01-12 .. 2027-05-25 (UNTIL is exactly the
# last occurrence, in UTC), DST starts 2027-03-28, two EXDATEs (one winter,
# one summer).  18 occurrences.
WEEKLY = [
    f"UID:{UID}",
    "DTSTAMP:20261201T120000Z",
    "SEQUENCE:0",
    "DTSTART;TZID=Europe/Berlin:20270112T100000",
    "DTEND;TZID=Europe/Berlin:20270112T110000",
    "RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20270525T080000Z",
    "EXDATE;TZID=Europe/Berlin:20270216T100000",
    "EXDATE;TZID=Europe/Berlin:20270406T100000",
    SUMMARY, DESCRIPTION, LOCATION, *PEOPLE,
    "STATUS:CONFIRMED",
    "TRANSP:OPAQUE",
]


def replace(lines, old_prefix, new):
    out = []
    for l in lines:
        if l.startswith(old_prefix):
            if new is not None:
                out.append(new)
        else:
            out.append(l)
    assert out != lines or new is None and not any(l.startswith(old_prefix) for l in lines)
    return out


def without(lines, prefix):
    out = [l for l in lines if not l.startswith(prefix)]
    assert len(out) < len(lines), prefix
    return out


CANCEL_ONE = [
    f"UID:{UID}",
    "DTSTAMP:20261215T090000Z",
    "SEQUENCE:1",
    "RECURRENCE-ID;TZID=Europe/Berlin:20270323T100000",
    "DTSTART;TZID=Europe/Berlin:20270323T100000",
    "DTEND;TZID=Europe/Berlin:20270323T110000",
    SUMMARY, *PEOPLE,
    "STATUS:CANCELLED",
]

SAMPLES = {
    "good_weekly_berlin.ics": calendar("REQUEST", WEEKLY),
    "good_cancel_one.ics": calendar("CANCEL", CANCEL_ONE),
    "good_cancel_series.ics": calendar("CANCEL", [
        f"UID:{UID}", "DTSTAMP:20261215T090000Z", "SEQUENCE:2",
        "DTSTART;TZID=Europe/Berlin:20270112T100000",
        "RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20270525T080000Z", SUMMARY, *PEOPLE,
        "STATUS:CANCELLED"]),
    # Series plus one moved instance (23 March 10:00 -> 24 March 15:00 Berlin).
    "good_request_with_override.ics": calendar("REQUEST", WEEKLY)[:-1] + [
        "BEGIN:VEVENT", f"UID:{UID}", "DTSTAMP:20261201T120000Z", "SEQUENCE:0",
        "RECURRENCE-ID;TZID=Europe/Berlin:20270323T100000",
        "DTSTART;TZID=Europe/Berlin:20270324T150000",
        "DTEND;TZID=Europe/Berlin:20270324T160000",
        SUMMARY, *PEOPLE, "STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR"],
    # One meeting in UTC: no VTIMEZONE needed.
    "good_single_utc.ics": calendar("REQUEST", [
        "UID:single-0001@mentord.example", "DTSTAMP:20261201T120000Z", "SEQUENCE:3",
        "DTSTART:20270701T133000Z", "DURATION:PT45M", "SUMMARY:Kick-off", *PEOPLE,
        "STATUS:TENTATIVE"], tz=False),
    # --- iTIP / RFC 5545 structure (libical's field) ---
    "broken_no_organizer.ics": calendar("REQUEST", without(WEEKLY, "ORGANIZER")),
    "broken_no_dtstamp.ics": calendar("REQUEST", without(WEEKLY, "DTSTAMP")),
    "broken_no_uid.ics": calendar("REQUEST", without(WEEKLY, "UID")),
    "broken_cancel_no_sequence.ics": calendar("CANCEL", without(CANCEL_ONE, "SEQUENCE")),
    "broken_bad_dtstart_value.ics": calendar(
        "REQUEST", replace(WEEKLY, "DTSTART", "DTSTART;TZID=Europe/Berlin:2027011210000")),
    "broken_bad_rrule.ics": calendar(
        "REQUEST", replace(WEEKLY, "RRULE", "RRULE:FREQ=WEEKLY;BYDAY=XX;UNTIL=20270525T080000Z")),
    "broken_bad_sequence.ics": calendar("REQUEST", replace(WEEKLY, "SEQUENCE", "SEQUENCE:one")),
    "broken_dtend_and_duration.ics": calendar("REQUEST", WEEKLY + ["DURATION:PT1H"]),
    "broken_no_method_line.ics": [l for l in calendar("REQUEST", WEEKLY) if l != "METHOD:REQUEST"],
    # --- time zones and recurrence (check.py's field) ---
    "broken_missing_vtimezone.ics": calendar("REQUEST", WEEKLY, tz=False),
    "broken_floating_dtstart.ics": calendar("REQUEST", replace(
        replace(WEEKLY, "DTSTART", "DTSTART:20270112T100000"), "DTEND", "DTEND:20270112T110000")),
    "broken_exdate_utc_mismatch.ics": calendar("REQUEST", replace(
        WEEKLY, "EXDATE;TZID=Europe/Berlin:20270216", "EXDATE:20270216T100000Z")),
    "broken_until_local.ics": calendar("REQUEST", replace(
        WEEKLY, "RRULE", "RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20270525T100000")),
    "broken_dtstart_not_in_rrule.ics": calendar("REQUEST", replace(replace(
        WEEKLY, "DTSTART", "DTSTART;TZID=Europe/Berlin:20270111T100000"),
        "DTEND", "DTEND;TZID=Europe/Berlin:20270111T110000")),
    "broken_dst_gap.ics": calendar("REQUEST", replace(replace(replace(replace(
        WEEKLY, "DTSTART", "DTSTART;TZID=Europe/Berlin:20270321T023000"),
        "DTEND", "DTEND;TZID=Europe/Berlin:20270321T033000"),
        "RRULE", "RRULE:FREQ=WEEKLY;BYDAY=SU;COUNT=3"),
        "EXDATE", None)),
    "broken_wrong_vtimezone.ics": [
        l.replace("TZOFFSETTO:+0200", "TZOFFSETTO:+0300").replace("TZOFFSETFROM:+0200", "TZOFFSETFROM:+0300")
        for l in calendar("REQUEST", WEEKLY)],
    # Outlook-style TZID: both libraries then use the (wrong) VTIMEZONE and agree.
    "broken_wrong_vtimezone_windows.ics": [
        l.replace("TZOFFSETTO:+0200", "TZOFFSETTO:+0300").replace("TZOFFSETFROM:+0200", "TZOFFSETFROM:+0300")
        .replace("Europe/Berlin", "W. Europe Standard Time")
        for l in calendar("REQUEST", WEEKLY)],
    "broken_dtend_before_dtstart.ics": calendar(
        "REQUEST", replace(WEEKLY, "DTEND", "DTEND;TZID=Europe/Berlin:20270112T090000")),
    # --- text and line syntax ---
    "broken_unescaped_text.ics": calendar("REQUEST", replace(
        WEEKLY, "SUMMARY", "SUMMARY:Mentoring: Zoë, O'Brien; path C:\\new")),
}


def main() -> None:
    for old in HERE.glob("*.ics"):
        old.unlink()
    for name, lines in SAMPLES.items():
        write(name, lines)
    good = b"".join(fold(l) + b"\r\n" for l in SAMPLES["good_weekly_berlin.ics"])
    # Same file with bare LF line endings.
    write("broken_bare_lf.ics", [], raw=good.replace(b"\r\n", b"\n"))
    # Unfolded: every logical line on one physical line (DESCRIPTION > 75 octets).
    write("broken_long_lines.ics", [], raw=b"".join(
        l.encode() + b"\r\n" for l in SAMPLES["good_weekly_berlin.ics"]))
    # Fold in the middle of the 4-byte emoji in SUMMARY.
    lines = []
    for l in SAMPLES["good_weekly_berlin.ics"]:
        if l.startswith("SUMMARY"):
            b = l.encode()
            cut = b.index("🚀".encode()) + 2
            lines.append(b[:cut] + b"\r\n " + b[cut:])
        else:
            lines.append(fold(l))
    write("broken_utf8_split_fold.ics", [], raw=b"".join(x + b"\r\n" for x in lines))


if __name__ == "__main__":
    main()
