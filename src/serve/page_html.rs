//! The small pages the action links show: one question, one button. Plain HTML that
//! reads on a phone, no script (mail scanners fetch links and some run JavaScript: a
//! page must never act by itself), every value escaped and made inert.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// `text` safe inside HTML text and attribute values, and inert: control and
/// bidirectional characters shown as `<U+XXXX>` ([`crate::inert`]), so a name cannot
/// turn the rest of a page's line around.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in crate::inert::visible(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already HTML), titled `title` (text).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;line-height:1.5;max-width:36em;margin:2em auto;padding:0 1em;color:#222}}\
         button{{font-size:1.1em;padding:.6em 1.2em;border-radius:6px;border:1px solid #345;background:#2b5d8a;color:#fff}}\
         textarea{{width:100%;min-height:12em;font:inherit}}.note{{color:#555}}</style></head>\
         <body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title),
    );
    guarded((status, Html(html)).into_response())
}

/// `response` never cached or framed, no referrer leaving with a token in it, no
/// script and nothing from elsewhere.
pub fn guarded(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    ] {
        if let Ok(value) = axum::http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}
