//! Reply trimming: given the plain text of a reply, keep only what the sender
//! newly wrote — no quoted history, attribution lines, embedded mail headers,
//! signatures or the text below our own "reply above this line" hint.
//!
//! Design (after Discourse's email_reply_trimmer, our own code): every line is
//! classified into one letter, then hand-written patterns run over the string
//! of letters. Letters:
//!
//! | letter | kind                                                          |
//! |--------|---------------------------------------------------------------|
//! | `e`    | empty (only whitespace)                                       |
//! | `q`    | quoted (`>` after optional indentation)                       |
//! | `c`    | our hint line "reply above this line", at any quote depth     |
//! | `s`    | signature start: `-- `, "Sent from my iPhone", …             |
//! | `o`    | "-----Original Message-----" and its translations             |
//! | `d`    | Outlook's `________________________________` rule             |
//! | `f`    | a header line opening an embedded mail (From:/Von:/De:/Van:)  |
//! | `h`    | any other embedded-mail header line (Sent:/To:/Betreff: …)    |
//! | `b`    | attribution line(s): "On … wrote:", "Am … schrieb …:", …      |
//! | `t`    | text                                                          |
//!
//! Patterns, in regex notation (applied in this order):
//!
//! 1. `[cso]` — cut there, everything after is history or signature.
//! 2. `d? e* f` followed within six lines by at least two `h` — an embedded
//!    header block (Outlook); cut at the `d` (or `f`).
//! 3. `b e* [^q]` — an attribution not followed by a quote introduces
//!    unquoted history (Outlook-style); cut at the `b`.
//! 4. Whatever is left: drop every `b` and `q` line. This handles top-posting
//!    and inline replies alike: in an inline reply the sender's own lines sit
//!    between quotes and survive, the quotes do not (decision: we keep only
//!    the sender's words; the context they answer is our own prompt anyway).
//! 5. Trim leading/trailing blank lines, collapse runs of blank lines to one,
//!    strip trailing whitespace of each line.
//!
//! Header lines (`h`) outside a block of three are ordinary text — an agenda
//! line such as "Subject: careers" must survive.
//!
//! Every step is linear in the input: classification looks at most three
//! lines ahead (wrapped attributions) and six lines ahead (header blocks).

/// Longest attribution we try to recognise (after joining wrapped lines);
/// keeps the look-ahead join bounded.
const MAX_ATTRIBUTION_LEN: usize = 600;

/// Lines after a `f` line searched for further header lines.
const HEADER_WINDOW: usize = 6;

/// Mobile signatures are short; a longer line starting with "Sent from my"
/// is probably a sentence the person wrote.
const MAX_MOBILE_SIGNATURE_CHARS: usize = 60;

/// Returns only the new text of a reply. Empty string when nothing is left.
pub fn trim_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let kinds = classify(&lines);
    let end = cut_index(&kinds);
    let kept = lines[..end]
        .iter()
        .zip(&kinds[..end])
        .filter(|(_, kind)| !matches!(kind, b'b' | b'q'))
        .map(|(line, _)| line.trim_end());
    join_normalised(kept)
}

/// Classifies every line into one letter (see module docs).
fn classify(lines: &[&str]) -> Vec<u8> {
    let mut kinds = vec![b't'; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if let Some(n) = attribution_lines(lines, i) {
            kinds[i..i + n].fill(b'b');
            i += n;
            continue;
        }
        kinds[i] = single_line_kind(lines[i]);
        i += 1;
    }
    mark_unprefixed_attributions(lines, &mut kinds);
    kinds
}

/// The kind of one line judged on its own (attributions are handled apart).
fn single_line_kind(line: &str) -> u8 {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return b'e';
    }
    if is_hint(trimmed) {
        return b'c';
    }
    if trimmed.starts_with('>') {
        return b'q';
    }
    if is_signature(line) {
        return b's';
    }
    if is_original_marker(trimmed) {
        return b'o';
    }
    if is_rule(trimmed) {
        return b'd';
    }
    match header_key(trimmed) {
        Some(HeaderKey::Opening) => b'f',
        Some(HeaderKey::Other) => b'h',
        None => b't',
    }
}

/// Index of the first line that is not part of the new text.
fn cut_index(kinds: &[u8]) -> usize {
    let mut i = 0;
    while i < kinds.len() {
        match kinds[i] {
            b'c' | b's' | b'o' => return i,
            b'f' if starts_header_block(kinds, i) => return rule_before(kinds, i),
            b'b' => {
                let after = skip(kinds, i, b'b');
                let next = skip(kinds, after, b'e');
                if next >= kinds.len() || kinds[next] != b'q' {
                    return i;
                }
                i = after;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    kinds.len()
}

/// First index at or after `from` whose letter is not `letter`.
fn skip(kinds: &[u8], from: usize, letter: u8) -> usize {
    let mut i = from;
    while i < kinds.len() && kinds[i] == letter {
        i += 1;
    }
    i
}

/// `f` followed, within the window, by at least two more header lines.
fn starts_header_block(kinds: &[u8], at: usize) -> bool {
    let end = (at + 1 + HEADER_WINDOW).min(kinds.len());
    kinds[at + 1..end].iter().filter(|k| **k == b'h').count() >= 2
}

/// Outlook puts a `____` rule (possibly followed by blank lines) above the
/// header block; cut there so the rule does not dangle at the end.
fn rule_before(kinds: &[u8], at: usize) -> usize {
    let mut i = at;
    while i > 0 && kinds[i - 1] == b'e' {
        i -= 1;
    }
    if i > 0 && kinds[i - 1] == b'd' {
        i - 1
    } else {
        at
    }
}

/// Joins kept lines: no leading/trailing blank lines, at most one blank line
/// in a row.
fn join_normalised<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut pending_blank = false;
    for line in lines {
        if line.trim().is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if pending_blank {
                out.push('\n');
            }
        }
        pending_blank = false;
        out.push_str(line);
    }
    out
}

/// Our own prompt carries "— reply above this line —".
fn is_hint(trimmed: &str) -> bool {
    trimmed.len() < 200 && trimmed.to_lowercase().contains("reply above this line")
}

/// Mobile clients' signatures, lower-case prefixes.
const MOBILE_SIGNATURES: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent via ",
    "get outlook for ",
    "von meinem ",
    "gesendet von meinem ",
    "gesendet von outlook",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "obtenir outlook pour ",
    "enviado desde mi ",
    "obtener outlook para ",
    "verzonden vanaf mijn ",
    "verstuurd vanaf mijn ",
    "outlook voor ",
];

/// `-- ` (RFC 3676 signature separator; also without the space, as some
/// clients strip trailing blanks) or a short mobile-client signature.
fn is_signature(line: &str) -> bool {
    let line = line.trim_end_matches(['\r', '\n']);
    if line == "-- " || line == "--" {
        return true;
    }
    let trimmed = line.trim();
    if trimmed.chars().count() > MAX_MOBILE_SIGNATURE_CHARS {
        return false;
    }
    let lower = trimmed.to_lowercase();
    MOBILE_SIGNATURES.iter().any(|p| lower.starts_with(p))
}

/// Words inside "-----Original Message-----" style markers, lower case.
const ORIGINAL_MARKERS: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "message d'origine",
    "message d’origine",
    "mensaje original",
    "oorspronkelijk bericht",
    "forwarded message",
    "weitergeleitete nachricht",
    "message transféré",
    "mensaje reenviado",
    "doorgestuurd bericht",
];

/// Apple Mail's forward marker lines, lower case.
const FORWARD_LINES: &[&str] = &[
    "begin forwarded message:",
    "anfang der weitergeleiteten nachricht:",
    "début du message réexpédié :",
    "inicio del mensaje reenviado:",
    "begin doorgestuurd bericht:",
];

/// "-----Original Message-----", "---------- Forwarded message ---------", …
fn is_original_marker(trimmed: &str) -> bool {
    if trimmed.len() > 100 {
        return false;
    }
    let lower = trimmed.to_lowercase();
    if FORWARD_LINES.contains(&lower.as_str()) {
        return true;
    }
    let inner = lower.trim_matches('-');
    let dashes = lower.len() - inner.len();
    dashes >= 4 && ORIGINAL_MARKERS.iter().any(|m| inner.trim() == *m)
}

/// Outlook's `________________________________` separator.
fn is_rule(trimmed: &str) -> bool {
    trimmed.len() >= 10 && trimmed.bytes().all(|b| b == b'_')
}

/// Whether a header line can open an embedded mail.
#[derive(Debug, PartialEq, Eq)]
enum HeaderKey {
    /// From: and its translations.
    Opening,
    /// Sent:, To:, Subject:, … and translations.
    Other,
}

/// Keys that open Outlook's header block, lower case.
const OPENING_KEYS: &[&str] = &["from", "von", "de", "van"];

/// Other keys of Outlook's header block, lower case (en, de, fr, es, nl).
const OTHER_KEYS: &[&str] = &[
    "sent",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "reply-to",
    "gesendet",
    "an",
    "betreff",
    "datum",
    "kopie",
    "envoyé",
    "à",
    "objet",
    "enviado",
    "enviado el",
    "para",
    "asunto",
    "fecha",
    "verzonden",
    "aan",
    "onderwerp",
];

/// Recognises "From: …", "*Von:* …", "De :" (French spacing), …
fn header_key(trimmed: &str) -> Option<HeaderKey> {
    let rest = trimmed.trim_start_matches('*').trim_start();
    let colon = rest.find(':')?;
    if colon > 24 {
        return None;
    }
    let key = rest[..colon]
        .trim_matches(|c: char| c == '*' || c.is_whitespace())
        .to_lowercase();
    if OPENING_KEYS.contains(&key.as_str()) {
        Some(HeaderKey::Opening)
    } else if OTHER_KEYS.contains(&key.as_str()) {
        Some(HeaderKey::Other)
    } else {
        None
    }
}

/// Lower-case openings of attribution lines: en, de, fr, es, nl.
const ATTRIBUTION_OPENINGS: &[&str] = &["on ", "am ", "le ", "el ", "op "];

/// Verbs of attribution lines, lower case, with a leading space so that
/// they match as words.
/// ("geschreven": iOS Mail's Dutch "Op … heeft X het volgende geschreven:").
const ATTRIBUTION_VERBS: &[&str] = &[
    " wrote",
    " schrieb",
    " a écrit",
    " escribió",
    " schreef",
    " geschreven",
];

/// If an unquoted attribution such as "On Tue, Jan 12, 2027 at 10:00 AM
/// Grace <g@x> wrote:" starts at `at`, possibly wrapped over up to three
/// lines (Gmail wraps at 78 columns), returns how many lines it spans.
fn attribution_lines(lines: &[&str], at: usize) -> Option<usize> {
    let first = lines[at].trim();
    let lower_start: String = first.chars().take(3).collect::<String>().to_lowercase();
    if !ATTRIBUTION_OPENINGS.contains(&lower_start.as_str()) {
        return None;
    }
    let mut joined = String::new();
    for (n, line) in lines[at..].iter().take(3).enumerate() {
        let line = line.trim();
        let is_continuation = n > 0;
        if is_continuation && (line.is_empty() || line.starts_with('>')) {
            return None;
        }
        if joined.len() + line.len() > MAX_ATTRIBUTION_LEN {
            return None;
        }
        if is_continuation {
            joined.push(' ');
        }
        joined.push_str(line);
        if is_attribution(&joined) {
            return Some(n + 1);
        }
    }
    None
}

/// Ends in a colon, names a writing verb and has a digit (date or time) —
/// the digit keeps "On Tuesday Grace wrote:" style prose from matching.
fn is_attribution(text: &str) -> bool {
    let lower = text.to_lowercase();
    let Some(body) = lower.trim_end().strip_suffix(':') else {
        return false;
    };
    body.chars().any(|c| c.is_ascii_digit()) && ATTRIBUTION_VERBS.iter().any(|v| body.contains(v))
}

/// Attributions without a date opening ("Grace Hopper <g@x> wrote:") are
/// only trusted when a quote follows; they are marked after the first pass.
fn mark_unprefixed_attributions(lines: &[&str], kinds: &mut [u8]) {
    let mut next_non_empty = None;
    for i in (0..lines.len()).rev() {
        let followed_by_quote = next_non_empty.is_some_and(|k| k == b'q');
        if kinds[i] == b't' && followed_by_quote && ends_with_verb_colon(lines[i]) {
            kinds[i] = b'b';
        }
        if kinds[i] != b'e' {
            next_non_empty = Some(kinds[i]);
        }
    }
}

/// "… wrote:", "… schrieb:", "… a écrit :", …
fn ends_with_verb_colon(line: &str) -> bool {
    let trimmed = line.trim();
    if trimmed.len() > MAX_ATTRIBUTION_LEN {
        return false;
    }
    let lower = trimmed.to_lowercase();
    let Some(body) = lower.strip_suffix(':') else {
        return false;
    };
    let body = body.trim_end();
    ATTRIBUTION_VERBS.iter().any(|v| body.ends_with(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, input, expected)
    const CASES: &[(&str, &str, &str)] = &[
        ("plain text stays", "Hello\nWorld", "Hello\nWorld"),
        ("empty", "", ""),
        ("only blanks", "\n  \n\t\n", ""),
        (
            "top-post with quote",
            "- item one\n- item two\n\nOn Mon, Jan 11, 2027 at 9:00 AM Mentord <m@x.org> wrote:\n\n> Hi\n> there\n",
            "- item one\n- item two",
        ),
        (
            "gmail wrapped attribution",
            "Agenda\n\nOn Mon, Jan 11, 2027 at 9:00 AM Mentord <mentoring+abc123@example.org>\nwrote:\n\n> Hi\n",
            "Agenda",
        ),
        (
            "attribution wrapped over three lines",
            "Agenda\n\nOn Mon, Jan 11, 2027 at 9:00 AM\nMentord\n<m@x.org> wrote:\n> Hi\n",
            "Agenda",
        ),
        (
            "german attribution",
            "Punkte\n\nAm Mo., 11. Jan. 2027 um 09:00 Uhr schrieb Mentord <m@x.org>:\n> Hallo\n",
            "Punkte",
        ),
        (
            "french attribution with nbsp",
            "Points\n\nLe lun. 11 janv. 2027 à 09:00, Mentord <m@x.org> a écrit\u{a0}:\n> Salut\n",
            "Points",
        ),
        (
            "spanish attribution",
            "Puntos\n\nEl lun, 11 ene 2027 a las 9:00, Mentord (<m@x.org>) escribió:\n> Hola\n",
            "Puntos",
        ),
        (
            "dutch attribution",
            "Punten\n\nOp ma 11 jan 2027 om 09:00 schreef Mentord <m@x.org>:\n> Hoi\n",
            "Punten",
        ),
        (
            "attribution without date needs a quote after it",
            "Agenda\n\nMentord <m@x.org> wrote:\n> Hi\n",
            "Agenda",
        ),
        (
            "prose ending in wrote: is kept without quote",
            "Here is what Grace wrote:\nthe plan",
            "Here is what Grace wrote:\nthe plan",
        ),
        (
            "unquoted history after attribution is cut",
            "Agenda\n\nOn 11/01/2027 09:00, Mentord wrote:\nHi Alan, reply with your agenda\n",
            "Agenda",
        ),
        (
            "outlook header block",
            "Agenda\n\nFrom: Mentord <m@x.org>\nSent: Monday, January 11, 2027 9:00 AM\nTo: Alan <a@x.org>\nSubject: Agenda\n\nHi Alan\n",
            "Agenda",
        ),
        (
            "outlook header block with rule and bold",
            "Agenda\n\n________________________________\n*From:* Mentord <m@x.org>\n*Sent:* Monday\n*To:* Alan\n*Subject:* Agenda\nHi Alan\n",
            "Agenda",
        ),
        (
            "german outlook header block",
            "Punkte\n\nVon: Mentord <m@x.org>\nGesendet: Montag, 11. Januar 2027 09:00\nAn: Alan <a@x.org>\nBetreff: Agenda\n\nHallo\n",
            "Punkte",
        ),
        (
            "french outlook header block",
            "Points\n\nDe : Mentord\nEnvoyé : lundi\nÀ : Alan\nObjet : Agenda\nSalut\n",
            "Points",
        ),
        (
            "single header-like line is text",
            "Subject: careers\nDate: flexible",
            "Subject: careers\nDate: flexible",
        ),
        (
            "original message marker",
            "Agenda\n\n-----Original Message-----\nFrom: Mentord\nHi",
            "Agenda",
        ),
        (
            "german original message marker",
            "Punkte\n-----Ursprüngliche Nachricht-----\nVon: Mentord\nHallo",
            "Punkte",
        ),
        (
            "dash signature",
            "Agenda\n\n-- \nAlan Turing\nBletchley",
            "Agenda",
        ),
        (
            "iphone signature",
            "Agenda\n\nSent from my iPhone\n\n> Hi",
            "Agenda",
        ),
        (
            "german iphone signature",
            "Punkte\n\nVon meinem iPhone gesendet",
            "Punkte",
        ),
        (
            "outlook mobile",
            "Agenda\n\nGet Outlook for Android",
            "Agenda",
        ),
        (
            "french iphone signature",
            "Points\n\nEnvoyé de mon iPhone",
            "Points",
        ),
        (
            "hint line cuts, also quoted",
            "Agenda\n> Hi\n> — reply above this line —\nstray",
            "Agenda",
        ),
        (
            "hint line unquoted",
            "Agenda\n— Reply above this line —\nold",
            "Agenda",
        ),
        (
            "inline reply keeps own lines",
            "On 11.01.27 09:00, Mentord wrote:\n> What do you want to discuss?\nCareer plans\n\n> Anything else?\n\nPaper review\n",
            "Career plans\n\nPaper review",
        ),
        (
            "blank lines collapse and trim",
            "\n\n\nA\n\n\n\nB\n\n\n",
            "A\n\nB",
        ),
        ("crlf line endings", "A\r\nB\r\n\r\n> q\r\n", "A\nB"),
        (
            "apple quoted attribution",
            "Agenda\n\n> On 11 Jan 2027, at 09:00, Mentord <m@x.org> wrote:\n> \n> Hi\n",
            "Agenda",
        ),
        (
            "on-line without verb is text",
            "On Tuesday at 10 we should cover:\n- a\n- b",
            "On Tuesday at 10 we should cover:\n- a\n- b",
        ),
        ("only quotes", "> a\n> b", ""),
        (
            "ios dutch attribution",
            "Punten\n\nOp 11 jan 2027 om 09:00 heeft mentord <m@x.org> het volgende geschreven:\n\n> Hoi\n",
            "Punten",
        ),
        (
            "spanish outlook header block",
            "Puntos\n\nDe: mentord <m@x.org>\nEnviado: lunes, 11 de enero de 2027 9:00\nPara: Alan\nAsunto: Agenda\n\nHola",
            "Puntos",
        ),
        (
            "dutch outlook header block",
            "Punten\n\nVan: mentord <m@x.org>\nVerzonden: maandag 11 januari 2027 09:00\nAan: Alan\nOnderwerp: Agenda\n\nHoi",
            "Punten",
        ),
        (
            "wrapped To: inside header block",
            "Agenda\n\nFrom: mentord\nSent: Monday\nTo: Alan <a@x.org>; Grace\n<g@x.org>\nCc: Ada\nSubject: Agenda\n\nHi",
            "Agenda",
        ),
        (
            "french original message marker",
            "Points\n\n-----Message d'origine-----\nDe : mentord\nSalut",
            "Points",
        ),
        (
            "gmail forwarded marker",
            "FYI\n\n---------- Forwarded message ---------\nFrom: mentord\nHi",
            "FYI",
        ),
        (
            "apple forward",
            "FYI\n\nBegin forwarded message:\n\nFrom: x",
            "FYI",
        ),
        (
            "long sentence starting like a mobile signature stays",
            "Sent from my phone earlier: the list of topics I want to discuss with Grace\n- a",
            "Sent from my phone earlier: the list of topics I want to discuss with Grace\n- a",
        ),
        (
            "underscore rule alone stays",
            "A\n__________\nB",
            "A\n__________\nB",
        ),
        ("dash signature without space", "Agenda\n--\nAlan", "Agenda"),
        (
            "indentation kept, trailing spaces dropped",
            "Agenda:  \n    - indented\t\n",
            "Agenda:\n    - indented",
        ),
    ];

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for (name, input, expected) in CASES {
            let got = trim_reply(input);
            if got != *expected {
                failures.push(format!(
                    "{name}:\n  got      {got:?}\n  expected {expected:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn long_lines_are_fine() {
        let line = "On ".to_string() + &"x".repeat(2_000_000);
        let text = format!("{line}\n{line}\n{line}\nwrote:\n");
        assert_eq!(trim_reply(&text), text.trim_end());
    }
}
