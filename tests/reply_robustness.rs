//! Hostile and broken input: nothing may panic, and big inputs must finish
//! quickly (a quadratic path would show up as a timeout here).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use mentord::inbound::{body, html, trim};

const HEADERS: &str = "From: Alan Turing <alan@example.org>\r\nTo: mentoring+abc123@example.org\r\n\
Subject: Re: Agenda for Tuesday's meeting with Grace\r\nMIME-Version: 1.0\r\n";

/// Generous bound; debug builds on a shared machine.
const BUDGET: Duration = Duration::from_secs(20);

fn through_everything(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(raw)?;
    body::new_text(&message)
}

fn html_mail(html: &str) -> Vec<u8> {
    format!("{HEADERS}Content-Type: text/html; charset=utf-8\r\n\r\n{html}").into_bytes()
}

#[test]
fn five_megabytes_of_nested_tags() {
    let html = "<div><blockquote><span><p><li>".repeat(5_000_000 / 30) + "x";
    let start = Instant::now();
    let text = html::to_text(&html);
    assert!(text.ends_with('x'));
    let _ = trim::trim_reply(&text);
    let _ = through_everything(&html_mail(&html));
    assert!(start.elapsed() < BUDGET, "took {:?}", start.elapsed());
}

#[test]
fn five_megabytes_of_unclosed_and_stray_markup() {
    let patterns = [
        "<div class=\"",
        "<",
        "</",
        "<!--",
        "&#x",
        "&amp",
        "<a href='x'",
        "<<<>>>",
        "<style>",
    ];
    for p in patterns {
        let html = p.repeat(5_000_000 / p.len());
        let start = Instant::now();
        let _ = html::to_text(&html);
        assert!(start.elapsed() < BUDGET, "{p:?} took {:?}", start.elapsed());
    }
}

#[test]
fn brackets_only() {
    assert_eq!(html::to_text("<<<>>>"), "<<<>>>");
    let _ = through_everything(&html_mail("<<<>>>"));
}

#[test]
fn five_megabytes_of_text_lines() {
    let line = "On Mon, Jan 11, 2027 at 9:00 AM From: Sent: To: > -- \n";
    let text = line.repeat(5_000_000 / line.len());
    let start = Instant::now();
    let _ = trim::trim_reply(&text);
    assert!(start.elapsed() < BUDGET, "took {:?}", start.elapsed());
}

/// Every line could open a quote header or a header block in one of the built-in
/// languages (a year-first date, "Em …", "Von:", a dated "送信日時:") and none closes as
/// one: each line is joined with at most two more, so this stays linear. The lines are
/// all text, so all of it comes back.
#[test]
fn five_megabytes_of_almost_quote_headers_in_every_language() {
    let lines = "2027年1月26日(火) 10:00 Mentoring <mentoring+abc@example.org\n\
                 Em ter., 26 de jan. de 2027 às 10:00, Mentoring escreveu\n\
                 差出人: Mentoring\n送信日時: 2027年1月26日 10:00\n\
                 -----Mensagem original da Grace-----\nEnviado do meu iPhone, que está quebrado: sim\n";
    let text = lines.repeat(5_000_000 / lines.len());
    let start = Instant::now();
    let kept = trim::trim_reply(&text);
    assert!(start.elapsed() < BUDGET, "took {:?}", start.elapsed());
    assert_eq!(kept, text.trim_end());
}

#[test]
fn truncated_multipart() {
    let raw = format!(
        "{HEADERS}Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         - agenda item =E2=80=94 one\r\n- two=\r\n"
    );
    for cut in 0..raw.len() {
        let _ = through_everything(&raw.as_bytes()[..cut]);
    }
    // mail-parser 0.11 leaves a part whose closing boundary is missing
    // undecoded (raw quoted-printable); with the boundary it decodes.
    assert_eq!(
        through_everything(raw.as_bytes()).as_deref(),
        Some("- agenda item =E2=80=94 one\n- two=")
    );
    // (A soft break right before the boundary, "two=\r\n--b1--", makes
    // mail-parser drop characters: "- t". End the line properly here.)
    let complete = format!("{}\r\n--b1--\r\n", raw.trim_end_matches("=\r\n"));
    assert_eq!(
        through_everything(complete.as_bytes()).as_deref(),
        Some("- agenda item — one\n- two")
    );
}

#[test]
fn truncated_html_part() {
    let raw = format!(
        "{HEADERS}Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<div>agenda</div><div class=\"gmail_"
    );
    for cut in 0..raw.len() {
        let _ = through_everything(&raw.as_bytes()[..cut]);
    }
}

#[test]
fn binary_garbage() {
    // Deterministic pseudo-random bytes (xorshift), no extra dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(1 << 20);
    for _ in 0..(1 << 20) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.push((state >> 24) as u8);
    }
    let _ = through_everything(&bytes);
    let mut mail = HEADERS.as_bytes().to_vec();
    mail.extend_from_slice(b"Content-Type: text/html; charset=utf-8\r\n\r\n");
    mail.extend_from_slice(&bytes);
    let _ = through_everything(&mail);
    let lossy = String::from_utf8_lossy(&bytes);
    let _ = html::to_text(&lossy);
    let _ = trim::trim_reply(&lossy);
}

#[test]
fn empty_and_whitespace_mails() {
    let raw = format!("{HEADERS}Content-Type: text/plain\r\n\r\n \r\n\r\n");
    assert_eq!(through_everything(raw.as_bytes()), None);
    let raw = format!("{HEADERS}Content-Type: text/plain\r\n\r\n> only a quote\r\n");
    assert_eq!(through_everything(raw.as_bytes()), None);
    assert_eq!(through_everything(HEADERS.as_bytes()), None);
}

#[test]
fn empty_plain_alternative_falls_back_to_html() {
    let raw = format!(
        "{HEADERS}Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\r\n--b\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<div>agenda &amp; more</div>\r\n--b--\r\n"
    );
    assert_eq!(
        through_everything(raw.as_bytes()).as_deref(),
        Some("agenda & more")
    );
}

#[test]
fn windows_1252_plain() {
    let mut raw =
        format!("{HEADERS}Content-Type: text/plain; charset=windows-1252\r\n\r\n").into_bytes();
    raw.extend_from_slice(b"\x93Caf\xe9\x94 \x96 \x80 5\r\n");
    assert_eq!(through_everything(&raw).as_deref(), Some("“Café” – € 5"));
}
