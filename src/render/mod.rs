//! Mail bodies from templates: Markdown with Jinja expressions (minijinja), rendered
//! twice — as the text/plain part, and through CommonMark (pulldown-cmark) as the
//! text/html part.
//!
//! Values from the program file (names, goals, locations) are untrusted in HTML: in the
//! HTML rendering every inserted value has its ASCII punctuation backslash-escaped, so
//! CommonMark shows it literally and escapes `<`, `>` and `&` itself; no value can add
//! markup or a link. The text rendering inserts values as they are.
//!
//! A template's first line is `subject: …`; the rest is the body. The built-in
//! templates live in `templates/` and are compiled in; a program's `templates` folder
//! may override any of them by file name.

mod context;
mod plain;
mod shifts;

use std::path::Path;

use anyhow::{Context as _, bail};
use minijinja::{AutoEscape, Environment, Value};

use crate::vocab::MessageKind;

pub(crate) use context::{
    Context, DIGEST_ITEMS, DigestContext, ExceptionItem, ForwardedContext, LinksContext,
    OverdueReview, PersonContext, Role,
};

/// The built-in template of each kind of message (`templates/<kind>.md`, compiled in).
pub(crate) fn built_in(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Invite => include_str!("../../templates/invite.md"),
        MessageKind::InviteUpdate => include_str!("../../templates/invite_update.md"),
        MessageKind::InviteCancel => include_str!("../../templates/invite_cancel.md"),
        MessageKind::OccurrenceCancel => include_str!("../../templates/occurrence_cancel.md"),
        MessageKind::AgendaPrompt => include_str!("../../templates/agenda_prompt.md"),
        MessageKind::MentorReminder => include_str!("../../templates/mentor_reminder.md"),
        MessageKind::Agenda => include_str!("../../templates/agenda.md"),
        MessageKind::Followup => include_str!("../../templates/followup.md"),
        MessageKind::ReviewNudge => include_str!("../../templates/review_nudge.md"),
        MessageKind::ReviewEscalation => include_str!("../../templates/review_escalation.md"),
        MessageKind::Checkin => include_str!("../../templates/checkin.md"),
        MessageKind::Digest => include_str!("../../templates/digest.md"),
        MessageKind::Forwarded => include_str!("../../templates/forwarded.md"),
    }
}

/// What a template renders to: a mail's subject and body, a type of the mail it
/// goes into (so `mail` needs nothing from here).
pub use crate::mail::Rendered;

/// The loaded templates, ready to render.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each kind's template came from, for errors: an override's path, or the
    /// built-in `templates/<kind>.md`.
    origins: Vec<(MessageKind, String)>,
    /// The kinds whose subject line is a template of its own (`subject/<kind>`).
    subject_alone: Vec<MessageKind>,
}

/// The work one rendering may do (minijinja's fuel: about one unit per instruction).
/// The built-in digest of a 50,000-pair program with every review overdue needs about a
/// million; nested `range(100000)` loops run out in a fraction of a second.
const FUEL: u64 = 5_000_000;

/// The most one rendering may write: no mail of ours is near it.
const MAX_OUTPUT: usize = 8 << 20;

const MARKDOWN: &str = "markdown";

impl Templates {
    /// The built-in templates, overridden by `<folder>/<name>.md` files where present.
    pub fn load(folder: Option<&Path>) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.starts_with("html/") {
                AutoEscape::Custom(MARKDOWN.into())
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(|out, state, value| {
            let markdown =
                matches!(state.auto_escape(), AutoEscape::Custom(name) if name == MARKDOWN);
            if !markdown {
                return minijinja::escape_formatter(out, state, value);
            }
            let text = if value.is_none() || value.is_undefined() {
                String::new()
            } else {
                value.to_string()
            };
            let text = if value.is_safe() {
                text
            } else {
                escape_markdown(&text)
            };
            out.write_str(&text).map_err(|_| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed")
            })
        });
        env.add_filter("code", code);
        env.add_filter("lines", lines);
        env.set_fuel(Some(FUEL));
        let mut origins = Vec::with_capacity(MessageKind::ALL.len());
        let mut subject_alone = Vec::new();
        for kind in MessageKind::ALL {
            let name = kind.name();
            let (source, origin) = match folder.map(|f| f.join(format!("{name}.md"))) {
                Some(path) if path.is_file() => (
                    read_inside(folder.unwrap_or(Path::new(".")), &path)?,
                    path.display().to_string(),
                ),
                _ => (built_in(kind).to_string(), format!("templates/{name}.md")),
            };
            origins.push((kind, origin));
            if !source.starts_with("subject:") {
                bail!("template {name}.md must start with a `subject:` line");
            }
            for prefix in ["text/", "html/"] {
                env.add_template_owned(format!("{prefix}{name}"), source.clone())
                    .with_context(|| format!("in template {name}.md"))?;
            }
            // The subject line on its own, so a mail renders its body once (as Markdown)
            // and only this line raw; a first line that opens a block closed further
            // down does not stand alone, and such a template is rendered raw whole.
            let first_line = source.lines().next().unwrap_or_default().to_string();
            if env
                .add_template_owned(format!("subject/{name}"), first_line)
                .is_ok()
            {
                subject_alone.push(kind);
            }
        }
        Ok(Templates {
            env,
            origins,
            subject_alone,
        })
    }

    /// Renders one variant (`subject/…`, `text/…` or `html/…`) of a template, within [`FUEL`] and
    /// [`MAX_OUTPUT`]; an error names the template file and line.
    fn render_one(
        &self,
        variant: &str,
        kind: MessageKind,
        value: &Value,
    ) -> anyhow::Result<String> {
        let mut out = Bounded(Vec::new());
        let rendered = self
            .env
            .get_template(&format!("{variant}/{}", kind.name()))?
            .render_captured_to(value, &mut out);
        if let Err(e) = rendered {
            let origin = self
                .origins
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(kind.name(), |(_, o)| o.as_str());
            let place = match e.line() {
                Some(line) => format!("{origin}:{line}"),
                None => origin.to_string(),
            };
            let what = match e.kind() {
                minijinja::ErrorKind::OutOfFuel => {
                    format!(
                        "does too much work (a loop too long?); mentord stops a template \
                         after {FUEL} steps"
                    )
                }
                minijinja::ErrorKind::WriteFailure => {
                    format!("writes more than {} MB", MAX_OUTPUT >> 20)
                }
                _ => e.to_string(),
            };
            bail!("{place}: the template {what}");
        }
        String::from_utf8(out.0).context("the template wrote text that is not UTF-8")
    }

    /// Renders the template of `kind` with `context`.
    pub(crate) fn render(&self, kind: MessageKind, context: &Context) -> anyhow::Result<Rendered> {
        let name = kind.name();
        let value = Value::from(minijinja::value::Serde(context));
        let raw = if self.subject_alone.contains(&kind) {
            "subject"
        } else {
            "text"
        };
        let text = self
            .render_one(raw, kind, &value)
            .with_context(|| format!("while rendering template {name}.md"))?;
        let html_source = self
            .render_one("html", kind, &value)
            .with_context(|| format!("while rendering template {name}.md"))?;
        let (subject, _) = split_subject(&text);
        let (_, html_source) = split_subject(&html_source);
        // The body as plain text comes from the escaped Markdown too, so values show as
        // written; the raw rendering gives only the subject.
        Ok(Rendered {
            subject: subject.chars().filter(|c| !c.is_control()).collect(),
            text: tidy(&plain::markdown_to_text(&html_source)),
            html: markdown_to_html(&html_source),
        })
    }
}

/// Reads a template override, which must be a file inside `folder`: a symlink out of
/// it (to `/etc/shadow`, say) would mail whatever it points at.
fn read_inside(folder: &Path, path: &Path) -> anyhow::Result<String> {
    let real_folder = folder
        .canonicalize()
        .with_context(|| format!("while reading the templates folder {}", folder.display()))?;
    let real = path
        .canonicalize()
        .with_context(|| format!("while reading template {}", path.display()))?;
    if !real.starts_with(&real_folder) {
        bail!(
            "template {} leads outside the templates folder (to {}); copy the file into {} instead of linking to it",
            path.display(),
            real.display(),
            folder.display()
        );
    }
    std::fs::read_to_string(&real)
        .with_context(|| format!("while reading template {}", path.display()))
}

/// A writer that refuses to grow past [`MAX_OUTPUT`].
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > MAX_OUTPUT {
            return Err(std::io::Error::other("template output too large"));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `{{ text | code }}`: `text` as code. A Markdown code span cannot hold the escaped
/// value (its backslashes would show), so the HTML rendering writes `<code>` around the
/// escaped text instead; the text rendering uses backticks.
fn code(state: &minijinja::State, text: String) -> Value {
    if matches!(state.auto_escape(), AutoEscape::Custom(name) if name == MARKDOWN) {
        Value::from_safe_string(format!("<code>{}</code>", escape_markdown(&text)))
    } else {
        Value::from(format!("`{text}`"))
    }
}

/// `{{ agenda | lines }}`: text a person wrote, shown as written, line by line: each
/// line escaped and ended with a hard break, so Markdown neither joins the lines nor
/// reads the writer's `*`, `#` or `<a>` as its own.
fn lines(state: &minijinja::State, text: String) -> Value {
    if !matches!(state.auto_escape(), AutoEscape::Custom(name) if name == MARKDOWN) {
        return Value::from(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut lines = text.lines().map(str::trim_end).peekable();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            // A paragraph break; runs of them count once.
            if !out.ends_with("\n\n") && !out.is_empty() {
                out.truncate(out.trim_end_matches(['\\', '\n']).len());
                out.push_str("\n\n");
            }
            continue;
        }
        out.push_str(&escape_markdown(line.trim_start()));
        if lines.peek().is_some() {
            out.push_str("\\\n");
        }
    }
    Value::from_safe_string(out.trim_end_matches(['\\', '\n']).to_string())
}

fn split_subject(rendered: &str) -> (String, String) {
    let (first, rest) = rendered.split_once('\n').unwrap_or((rendered, ""));
    let subject = first.trim_start_matches("subject:").trim().to_string();
    (subject, rest.trim_start_matches(['\r', '\n']).to_string())
}

/// Collapses the blank-line runs that template conditionals leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string() + "\n"
}

/// Backslash-escapes ASCII punctuation so CommonMark shows a value literally.
pub(crate) fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn markdown_to_html(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new(markdown);
    let mut body = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut body, parser);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family: sans-serif; line-height: 1.5; max-width: 40em\">\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds leave room for the largest mail we send: the digest of a 50,000-pair
    /// program with every review overdue.
    #[test]
    fn the_largest_digest_fits_the_bounds() {
        // Pairs are capped at DIGEST_ITEMS; what concerns the program is not: 50,000
        // failed mails and bouncing addresses still render within the fuel.
        let program = crate::program::example();
        let templates = Templates::load(None).unwrap();
        let exceptions = (0..DIGEST_ITEMS)
            .map(|i| ExceptionItem {
                pair: format!("mentor{i}-mentee{i}"),
                mentor: format!("Mentor Number {i}"),
                mentee: format!("Mentee Number {i}"),
                level: "at risk".into(),
                reasons: vec!["mail to Mentor bounces".into(); 8],
                new: true,
                nudge: Some("https://mentoring.example.org/a/n".into()),
                snooze: Some("https://mentoring.example.org/a/x".into()),
                handled: Some("https://mentoring.example.org/a/y".into()),
                review_held: None,
            })
            .collect();
        let context = Context::for_coordinator(&program).with_digest(DigestContext {
            date: "Mon 3 May 2027".into(),
            active: 50_000,
            paused: 0,
            exceptions,
            more: 49_990,
            failures: (0..50_000).map(|i| format!("failure {i}")).collect(),
            bounces: (0..50_000).map(|i| format!("m{i}@example.org")).collect(),
            ..DigestContext::default()
        });
        let rendered = templates.render(MessageKind::Digest, &context).unwrap();
        assert!(rendered.text.contains("failure 49999"));
        assert!(rendered.text.contains("m49999@example.org"));
        assert!(rendered.text.contains("mentor9-mentee9"));
        assert!(rendered.text.contains("And 49990 more"));
    }

    /// A subject line that opens a block closed further down cannot be rendered on its
    /// own: the whole template is rendered raw for it, as before.
    #[test]
    fn a_subject_line_that_opens_a_block_still_renders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("followup.md"),
            "subject: {% if recipient.name %}Thanks, {{ recipient.name }}\n{% endif %}\nBody\n",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        assert!(!templates.subject_alone.contains(&MessageKind::Followup));
        assert!(templates.subject_alone.contains(&MessageKind::Invite));
        let program = crate::program::example();
        let context = Context::for_coordinator(&program);
        let rendered = templates.render(MessageKind::Followup, &context).unwrap();
        assert_eq!(rendered.subject, "Thanks, Ada Lovelace");
    }
}
