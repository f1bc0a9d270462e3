// The second, independent parser of calendar feeds (tests/feeds.rs): ical.js, as
// web calendar clients use it (installed by tests/ical/setup.sh into target/test-node).
//
//   node tests/ical/icaljs_check.mjs FEED.ics FROM UNTIL
//
// Prints, as JSON, each meeting starting from FROM to UNTIL (inclusive, RFC 3339):
// [start in UTC, UID, SEQUENCE]. Recurrences are expanded by ical.js itself
// (Event.iterator, a RecurExpansion: RRULE, RDATE, EXDATE), with RECURRENCE-ID
// overrides applied and cancelled instances left out; times in a TZID are read with the
// feed's own VTIMEZONEs. Exits non-zero on a feed that is not a publication.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// ICALJS_PATH: the package's folder (tests/common/mod.rs); its CommonJS build.
const loaded = require(process.env.ICALJS_PATH ? `${process.env.ICALJS_PATH}/dist/ical.es5.cjs` : "ical.js");
const ICAL = loaded.default || loaded;

const [file, fromText, untilText] = process.argv.slice(2);
const from = Date.parse(fromText);
const until = Date.parse(untilText);
if (!file || Number.isNaN(from) || Number.isNaN(until)) {
  console.error("usage: icaljs_check.mjs FEED.ics FROM UNTIL");
  process.exit(2);
}

const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
const method = calendar.getFirstPropertyValue("method");
if (method && method.toUpperCase() !== "PUBLISH") {
  console.error(`METHOD:${method}, not a publication`);
  process.exit(1);
}
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}

const seconds = (time) => time.toUnixTime() * 1000;
const out = [];
for (const vevent of calendar.getAllSubcomponents("vevent")) {
  // Overrides are related to their series by ical.js when it builds the master.
  if (vevent.hasProperty("recurrence-id")) continue;
  const event = new ICAL.Event(vevent);
  const emit = (details) => {
    const at = seconds(details.startDate);
    if (at < from || at > until) return;
    const item = details.item;
    const status = item.component.getFirstPropertyValue("status");
    if (status && status.toUpperCase() === "CANCELLED") return;
    const start = new Date(at).toISOString().replace(".000Z", "Z");
    out.push([start, item.uid, item.sequence || 0]);
  };
  if (!event.isRecurring()) {
    emit({ startDate: event.startDate, item: event });
    continue;
  }
  const iterator = event.iterator();
  // A bound on the walk, whatever the rule says: far more than sixteen weeks.
  for (let i = 0, next; i < 100000 && (next = iterator.next()); i++) {
    if (seconds(next) > until + 366 * 86400 * 1000) break;
    emit(event.getOccurrenceDetails(next));
  }
}
out.sort();
console.log(JSON.stringify(out));
