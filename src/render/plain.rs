//! The text/plain part from the same Markdown as the HTML part: what a reader of plain
//! mail expects to see, not Markdown source (`Grace Hopper`, not `**Grace Hopper**`).
//! Values were escaped for Markdown before, so a name with `*` or `_` in it shows as
//! written; paragraphs, lists and line breaks keep their shape; a link shows its text
//! and then its address.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

pub fn markdown_to_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    // Each open list: the next number of an ordered one, `None` for bullets.
    let mut lists: Vec<Option<u64>> = Vec::new();
    // Each open link: its address, and where its text began in `out`.
    let mut links: Vec<(String, usize)> = Vec::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(text) | Event::Code(text) => out.push_str(&text),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock) => {
                end_block(&mut out);
            }
            Event::Start(Tag::List(first)) => {
                if !lists.is_empty() {
                    end_line(&mut out);
                }
                lists.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    end_block(&mut out);
                }
            }
            Event::Start(Tag::Item) => {
                end_line(&mut out);
                out.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                match lists.last_mut() {
                    Some(Some(number)) => {
                        out.push_str(&format!("{number}. "));
                        *number += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::End(TagEnd::Item) => end_line(&mut out),
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push((dest_url.to_string(), out.len()))
            }
            Event::End(TagEnd::Link) => {
                if let Some((address, start)) = links.pop()
                    && out[start..] != address
                {
                    out.push_str(&format!(" <{address}>"));
                }
            }
            Event::Rule => {
                end_line(&mut out);
                out.push_str("----\n\n");
            }
            _ => {}
        }
    }
    let mut text = out.trim_end().to_string();
    text.push('\n');
    text
}

fn end_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn end_block(out: &mut String) {
    end_line(out);
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_reads_as_plain_text() {
        let markdown = "Hello **Grace** and *Alan*,\nsee `mentord status`.\n\n\
                        - one\n- two\n\n1. first\n2. second\n\n\
                        [the guide](https://example.org/guide) or <https://example.org>\n\n\
                        Ada \\*the\\* Countess\\_of\\_Lovelace";
        assert_eq!(
            markdown_to_text(markdown),
            "Hello Grace and Alan,\nsee mentord status.\n\n- one\n- two\n\n1. first\n2. second\n\n\
             the guide <https://example.org/guide> or https://example.org\n\n\
             Ada *the* Countess_of_Lovelace\n"
        );
    }
}
