//! The reading half of the HTML converter: what a `<` starts (a tag with the few
//! attributes the converter looks at, a comment, literal text), raw text skipped to its
//! end tag, and character references decoded. One forward look at a time, each either
//! consumed or ending the input, so the work stays linear and nothing panics.

/// One start or end tag with the attributes we care about (lower case).
#[derive(Debug, Default)]
pub(super) struct Tag {
    pub(super) name: String,
    pub(super) is_end: bool,
    pub(super) class: String,
    pub(super) id: String,
    pub(super) kind: String,
}

impl Tag {
    pub(super) fn has_class(&self, wanted: &str) -> bool {
        self.class.split_ascii_whitespace().any(|c| c == wanted)
    }

    /// Containers whose content is always quoted history.
    pub(super) fn is_hard_cut(&self) -> bool {
        self.has_class("gmail_quote")
            || self.has_class("gmail_quote_container")
            || self.has_class("yahoo_quoted")
            || self.id == "appendonsend"
            || self.id == "divrplyfwdmsg"
            || self.id.starts_with("yahoo_quoted")
    }

    pub(super) fn is_cite_blockquote(&self) -> bool {
        self.name == "blockquote" && self.kind == "cite"
    }
}

/// Result of looking at a `<`.
#[derive(Debug)]
pub(super) enum Markup {
    /// Not markup ("a < b", "<<"): a literal `<`.
    Literal,
    /// Comment, doctype, processing instruction: continue at this offset.
    Skip(usize),
    /// A tag and the offset just after its `>`.
    Tag(Tag, usize),
    /// Markup that never closes: the rest of the input is inside it.
    Unterminated,
}

pub(super) fn parse_markup(html: &str, at: usize) -> Markup {
    let bytes = html.as_bytes();
    let next = bytes.get(at + 1).copied();
    match next {
        Some(b'!') if bytes[at..].starts_with(b"<!--") => match find_seq(bytes, at + 4, b"-->") {
            Some(end) => Markup::Skip(end + 3),
            None => Markup::Unterminated,
        },
        Some(b'!' | b'?') => match find_byte(bytes, at, b'>') {
            Some(end) => Markup::Skip(end + 1),
            None => Markup::Unterminated,
        },
        Some(b'/') if bytes.get(at + 2).is_some_and(u8::is_ascii_alphabetic) => {
            parse_end_tag(bytes, at + 2)
        }
        Some(c) if c.is_ascii_alphabetic() => parse_start_tag(html, at + 1),
        _ => Markup::Literal,
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-')
}

/// Reads a tag name starting at `at`; returns it lower-cased and the offset
/// after it.
fn read_name(bytes: &[u8], at: usize) -> (String, usize) {
    let mut end = at;
    while end < bytes.len() && is_name_byte(bytes[end]) {
        end += 1;
    }
    let name = String::from_utf8_lossy(&bytes[at..end]).to_ascii_lowercase();
    (name, end)
}

fn parse_end_tag(bytes: &[u8], at: usize) -> Markup {
    let (name, after) = read_name(bytes, at);
    match find_byte(bytes, after, b'>') {
        Some(end) => Markup::Tag(
            Tag {
                name,
                is_end: true,
                ..Tag::default()
            },
            end + 1,
        ),
        None => Markup::Unterminated,
    }
}

fn parse_start_tag(html: &str, at: usize) -> Markup {
    let bytes = html.as_bytes();
    let (name, mut i) = read_name(bytes, at);
    let mut tag = Tag {
        name,
        ..Tag::default()
    };
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return Markup::Unterminated,
            Some(b'>') => return Markup::Tag(tag, i + 1),
            Some(_) => {}
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let attr = html[name_start..i].to_ascii_lowercase();
        // `i` can only have stopped at an ASCII byte, so slicing is safe.
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let Some((value, after)) = read_attr_value(html, i) else {
            return Markup::Unterminated;
        };
        i = after;
        let slot = match attr.as_str() {
            "class" => &mut tag.class,
            "id" => &mut tag.id,
            "type" => &mut tag.kind,
            _ => continue,
        };
        *slot = value.to_lowercase();
    }
}

/// A quoted or bare attribute value at `at`; `None` if a quote never closes.
fn read_attr_value(html: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = html.as_bytes();
    match bytes.get(at) {
        Some(&q @ (b'"' | b'\'')) => {
            let end = find_byte(bytes, at + 1, q)?;
            Some((&html[at + 1..end], end + 1))
        }
        _ => {
            let mut end = at;
            while end < bytes.len() && bytes[end] != b'>' && !bytes[end].is_ascii_whitespace() {
                end += 1;
            }
            Some((&html[at..end], end))
        }
    }
}

/// After `<style>` and friends: offset after the matching end tag, `None` if
/// it never comes.
pub(super) fn skip_raw_text(html: &str, from: usize, name: &str) -> Option<usize> {
    let needle = format!("</{name}");
    let start = find_seq_ignore_case(html.as_bytes(), from, needle.as_bytes())?;
    find_byte(html.as_bytes(), start, b'>').map(|end| end + 1)
}

pub(super) fn find_byte(bytes: &[u8], from: usize, wanted: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|b| *b == wanted)
        .map(|p| from + p)
}

fn find_seq(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn find_seq_ignore_case(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

/// Named entities we decode; anything else stays literal.
const ENTITIES: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("ensp", " "),
    ("emsp", " "),
    ("thinsp", " "),
    ("shy", ""),
    ("zwnj", ""),
    ("zwj", ""),
    ("lrm", ""),
    ("rlm", ""),
    ("ndash", "–"),
    ("mdash", "—"),
    ("hellip", "…"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("sbquo", "‚"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("bdquo", "„"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("bull", "•"),
    ("middot", "·"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("euro", "€"),
    ("pound", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("deg", "°"),
    ("times", "×"),
    ("divide", "÷"),
    ("sect", "§"),
    ("para", "¶"),
    ("iexcl", "¡"),
    ("iquest", "¿"),
    ("auml", "ä"),
    ("ouml", "ö"),
    ("uuml", "ü"),
    ("Auml", "Ä"),
    ("Ouml", "Ö"),
    ("Uuml", "Ü"),
    ("szlig", "ß"),
    ("aacute", "á"),
    ("agrave", "à"),
    ("acirc", "â"),
    ("atilde", "ã"),
    ("aring", "å"),
    ("aelig", "æ"),
    ("ccedil", "ç"),
    ("Ccedil", "Ç"),
    ("eacute", "é"),
    ("Eacute", "É"),
    ("egrave", "è"),
    ("Egrave", "È"),
    ("ecirc", "ê"),
    ("euml", "ë"),
    ("iacute", "í"),
    ("igrave", "ì"),
    ("icirc", "î"),
    ("iuml", "ï"),
    ("ntilde", "ñ"),
    ("Ntilde", "Ñ"),
    ("oacute", "ó"),
    ("ograve", "ò"),
    ("ocirc", "ô"),
    ("otilde", "õ"),
    ("oslash", "ø"),
    ("uacute", "ú"),
    ("ugrave", "ù"),
    ("ucirc", "û"),
    ("yacute", "ý"),
    ("yuml", "ÿ"),
];

/// Longest entity name we look for; bounds the look-ahead.
const MAX_ENTITY_LEN: usize = 8;

/// Decodes `&name;`, `&#123;` and `&#x1F600;`. Unknown or malformed
/// references stay as written.
pub(super) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match decode_one(rest) {
            Some((decoded, used)) => {
                out.push_str(&decoded);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` starts with `&`; returns the decoded text and bytes consumed.
fn decode_one(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(1) == Some(&b'#') {
        return decode_numeric(bytes);
    }
    let len = bytes[1..]
        .iter()
        .take(MAX_ENTITY_LEN + 1)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if len == 0 || len > MAX_ENTITY_LEN || bytes.get(1 + len) != Some(&b';') {
        return None;
    }
    let name = &text[1..1 + len];
    let (_, value) = ENTITIES.iter().find(|(n, _)| *n == name)?;
    Some(((*value).to_string(), len + 2))
}

/// `&#…;` or `&#x…;` (the `;` optional, as browsers allow).
fn decode_numeric(bytes: &[u8]) -> Option<(String, usize)> {
    let hex = matches!(bytes.get(2), Some(b'x' | b'X'));
    let start = if hex { 3 } else { 2 };
    let radix = if hex { 16 } else { 10 };
    let digits = bytes[start.min(bytes.len())..]
        .iter()
        .take(9)
        .take_while(|b| (**b as char).is_digit(radix))
        .count();
    if digits == 0 || digits > 8 {
        return None;
    }
    let end = start + digits;
    let text = std::str::from_utf8(&bytes[start..end]).ok()?;
    let value = u32::from_str_radix(text, radix).ok()?;
    let c = char::from_u32(value)
        .filter(|c| *c != '\0')
        .unwrap_or('\u{fffd}');
    let used = if bytes.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    };
    Some((c.to_string(), used))
}
