#!/usr/bin/env python3
"""Self-test of the two checkers on samples/ (run tests/ical/setup.sh first).

    python3 tests/ical/selftest.py

Each sample has an expected exit status from each tool and a fragment that
must appear in the tool's report.  Prints one line per failed expectation and
the closing line 'N passed, N failed'; exit 1 if anything failed.
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIBICAL = REPO / "target" / "ical" / "libical_check"
WINDOW = ["--from", "2027-01-01T00:00:00Z", "--until", "2028-01-01T00:00:00Z"]

# sample: (libical exit, libical fragment, check.py exit, check.py fragment)
EXPECT = {
    "good_weekly_berlin.ics": (0, "", 0, ""),
    "good_cancel_one.ics": (0, "", 0, ""),
    "good_cancel_series.ics": (0, "", 0, ""),
    "good_request_with_override.ics": (0, "", 0, ""),
    "good_single_utc.ics": (0, "", 0, ""),
    "broken_no_organizer.ics": (1, "ORGANIZER property", 1, "lacks ORGANIZER"),
    "broken_no_dtstamp.ics": (1, "DTSTAMP property", 1, "lacks DTSTAMP"),
    "broken_no_uid.ics": (1, "UID property", 1, "lacks UID"),
    "broken_cancel_no_sequence.ics": (1, "SEQUENCE property", 1, "lacks SEQUENCE"),
    "broken_bad_dtstart_value.ics": (1, "Can't parse as DATE-TIME", 1, "icalendar: VEVENT DTSTART"),
    "broken_bad_rrule.ics": (1, "Can't parse as RECUR", 1, "icalendar: VEVENT RRULE"),
    "broken_bad_sequence.ics": (0, "", 1, "SEQUENCE 'one'"),
    "broken_dtend_and_duration.ics": (1, "both DURATION and DTEND", 1, "both DTEND and DURATION"),
    "broken_no_method_line.ics": (0, "", 1, "0 METHOD"),
    "broken_missing_vtimezone.ics": (0, "", 1, "has no matching VTIMEZONE"),
    "broken_floating_dtstart.ics": (0, "", 1, "floating time"),
    "broken_exdate_utc_mismatch.ics": (0, "", 1, "matches no occurrence"),
    "broken_until_local.ics": (0, "", 1, "must be a UTC date-time"),
    "broken_dtstart_not_in_rrule.ics": (0, "", 1, "not itself an occurrence"),
    "broken_dst_gap.ics": (0, "", 1, "does not exist (DST gap)"),
    "broken_wrong_vtimezone.ics": (0, "", 1, "disagree: occurrences"),
    "broken_wrong_vtimezone_windows.ics": (0, "", 1, "but the tz database zone Europe/Berlin gives UTC+02:00"),
    "broken_dtend_before_dtstart.ics": (0, "", 1, "is not after DTSTART"),
    "broken_unescaped_text.ics": (0, "", 1, "unescaped ','"),
    "broken_bare_lf.ics": (0, "", 1, "bare LF"),
    "broken_long_lines.ics": (0, "", 1, "octets long"),
    "broken_utf8_split_fold.ics": (0, "", 1, "splits a UTF-8 character"),
}

WEEKLY = [f"2027-{d}T09:00:00Z" for d in (
    "01-12", "01-19", "01-26", "02-02", "02-09", "02-23", "03-02", "03-09", "03-16", "03-23")] + [
    f"2027-{d}T08:00:00Z" for d in (
    "03-30", "04-13", "04-20", "04-27", "05-04", "05-11", "05-18", "05-25")]
TEXT = {
    "summary": "Mentoring: Zoë, O'Brien; \"Ops\" \\ 山田太郎 & Ζωή 🚀",
    "location": 'Room 3, Building "B"; 2nd floor',
}

passed, failed = 0, 0


def expect(cond: bool, what: str) -> None:
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}")


def main() -> int:
    samples = sorted(p.name for p in (HERE / "samples").glob("*.ics"))
    expect(samples == sorted(EXPECT), f"samples on disk match EXPECT: {set(samples) ^ set(EXPECT)}")
    for name in samples:
        if name not in EXPECT:
            continue
        path = HERE / "samples" / name
        lrc, lfrag, crc, cfrag = EXPECT[name]
        lib = subprocess.run([str(LIBICAL), str(path)], capture_output=True, text=True)
        expect(lib.returncode == lrc, f"{name}: libical_check exit {lib.returncode}, want {lrc}: {lib.stdout!r}")
        expect(lfrag in lib.stdout, f"{name}: libical_check output lacks {lfrag!r}: {lib.stdout!r}")
        chk = subprocess.run([sys.executable, str(HERE / "check.py"), str(path), *WINDOW],
                             capture_output=True, text=True)
        expect(chk.returncode == crc, f"{name}: check.py exit {chk.returncode}, want {crc}")
        try:
            report = json.loads(chk.stdout)
        except json.JSONDecodeError:
            expect(False, f"{name}: check.py printed no JSON: {chk.stdout[:200]!r} {chk.stderr[-400:]!r}")
            continue
        problems = report["problems"]
        expect(any(cfrag in p for p in problems) if cfrag else problems == [],
               f"{name}: check.py problems lack {cfrag!r}: {problems}")
        if name == "good_weekly_berlin.ics":
            for lib_name in ("icalendar", "vobject"):
                side = report[lib_name]
                expect(side["occurrences"] == WEEKLY, f"{lib_name} weekly occurrences {side['occurrences']}")
                for key, want in TEXT.items():
                    expect(side[key] == want, f"{lib_name} {key} {side[key]!r}")
                expect([a["CN"] for a in side["attendees"]] == ["Zoë O'Brien", "山田太郎"],
                       f"{lib_name} attendees {side['attendees']}")
                expect(side["organizer"]["CN"] == "Müller, Anna", f"{lib_name} organizer")
                expect(side["description"].startswith('Agenda:\n1. Intro, goals; "why"\n2. Notes in C:\\mentord'),
                       f"{lib_name} description {side['description']!r}")
        if name == "good_cancel_one.ics":
            for lib_name in ("icalendar", "vobject"):
                side = report[lib_name]
                expect(side["occurrences"] == side["recurrence_ids"] == ["2027-03-23T09:00:00Z"],
                       f"{lib_name} cancel occurrences {side['occurrences']}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
