//! HTML as text, for the index and PREVIEW: mail-parser's conversion, with
//! the boundaries of block elements kept as white space (it joins
//! `<h1>Sale</h1><p>Café` into one word; Dovecot, and a reader, see two).

use mail_parser::decoders::html::html_to_text;

/// Elements that start a new block or line when rendered.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "img",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "title",
    "tr",
    "ul",
];

pub fn text_of_html(html: &str) -> String {
    let mut spaced = String::with_capacity(html.len() + html.len() / 16);
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        spaced.push_str(&rest[..at]);
        let tag = &rest[at + 1..];
        let name = tag.strip_prefix('/').unwrap_or(tag);
        let end = name
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name.len());
        if BLOCKS.iter().any(|b| b.eq_ignore_ascii_case(&name[..end])) {
            spaced.push(' ');
        }
        spaced.push('<');
        rest = tag;
    }
    spaced.push_str(rest);
    html_to_text(&spaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_part_words_inline_elements_do_not() {
        let text =
            text_of_html("<h1 style=\"x\">Sale</h1><img src=\"a\"><p>Caf\u{e9} <b>W</b>ord</p>");
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            ["Sale", "Caf\u{e9}", "Word"]
        );
        assert_eq!(text_of_html("a<BR>b").split_whitespace().count(), 2);
        assert_eq!(text_of_html("x < y and 1<2"), html_to_text("x < y and 1<2"));
    }
}
