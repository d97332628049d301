//! Inert text: whatever an adapter, a store or a fixture wrote is shown as
//! text, never obeyed. A terminal must not take an escape sequence from
//! an adapter's error message as a command (clear the screen, retitle the
//! window), and a newline inside one must not start a line that looks like
//! the report's own (`PASS …`); a Markdown renderer must not take `<img
//! onerror=…>` as HTML.
//!
//! | function | for | shows |
//! | --- | --- | --- |
//! | [`visible`] | one value in a line of text | every control and bidirectional-override character as an escape (`\n`, `\u{1b}`) |
//! | [`visible_lines`] | runner-made text of several lines | the same, newlines and tabs kept |
//! | [`html`] | text in Markdown or HTML | `&`, `<`, `>`, `"`, `'` as entities, after [`visible`] |
//! | [`html_code_spans`] | spec and runner text in HTML | the same, with each Markdown code span as a `<code>` element |

/// Whether `c` must not reach a terminal as itself: a control character,
/// or one that reorders or hides text (bidirectional overrides and
/// isolates, zero-width characters).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn escape(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// `text` with every control, bidirectional and zero-width character
/// shown as an escape, newlines included: one value on one line.
///
/// ```
/// use moin_session_conformance::report::inert::visible;
/// assert_eq!(visible("a\nPASS"), "a\\nPASS");
/// assert_eq!(visible("\u{1b}]0;pwned\u{7}"), "\\u{1b}]0;pwned\\u{7}");
/// assert_eq!(visible("café"), "café");
/// ```
pub fn visible(text: &str) -> String {
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// [`visible`], but newlines and tabs kept: for text the runner laid out
/// in lines itself (a report), whose values were made visible already.
///
/// ```
/// use moin_session_conformance::report::inert::visible_lines;
/// assert_eq!(visible_lines("a\n\tb\u{1b}[2J"), "a\n\tb\\u{1b}[2J");
/// ```
pub fn visible_lines(text: &str) -> String {
    if !text.chars().any(|c| hidden(c) && c != '\n' && c != '\t') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) && c != '\n' && c != '\t' {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` made [`visible`], then with the characters HTML gives meaning
/// to written as entities: for Markdown, whose renderers pass HTML
/// through.
///
/// ```
/// use moin_session_conformance::report::inert::html;
/// assert_eq!(html("<img onerror=x> <!--"), "&lt;img onerror=x&gt; &lt;!--");
/// ```
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    entities(&visible(text), &mut out);
    out
}

/// `text` with the characters HTML gives meaning to as entities.
fn entities(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// [`html`], except that each Markdown code span (a run of backticks,
/// the text up to the next run of as many, as CommonMark reads it)
/// becomes a `<code>` element: for the spec's clauses and the runner's
/// own lines, which write names as code. Nothing else of Markdown is
/// read; the code's text is escaped like the rest, and a backtick with no
/// partner stays as it is.
///
/// ```
/// use moin_session_conformance::report::inert::html_code_spans;
/// assert_eq!(
///     html_code_spans("has `Max-Age=L` & <b>"),
///     "has <code>Max-Age=L</code> &amp; &lt;b&gt;"
/// );
/// assert_eq!(html_code_spans("`<img onerror=x>`"), "<code>&lt;img onerror=x&gt;</code>");
/// assert_eq!(html_code_spans("`` a`b `` and ` lone"), "<code>a`b</code> and ` lone");
/// ```
pub fn html_code_spans(text: &str) -> String {
    let text = visible(text);
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text.as_str();
    while let Some(open) = rest.find('`') {
        entities(&rest[..open], &mut out);
        let after_open = &rest[open..];
        let n = after_open.len() - after_open.trim_start_matches('`').len();
        let inner = &after_open[n..];
        match closing_run(inner, n) {
            Some(close) => {
                out.push_str("<code>");
                entities(strip_one_space(&inner[..close]), &mut out);
                out.push_str("</code>");
                rest = &inner[close + n..];
            }
            None => {
                out.push_str(&after_open[..n]);
                rest = inner;
            }
        }
    }
    entities(rest, &mut out);
    out
}

/// Where in `text` the first run of exactly `n` backticks starts.
fn closing_run(text: &str, n: usize) -> Option<usize> {
    let mut at = 0;
    while let Some(i) = text[at..].find('`') {
        let start = at + i;
        let run = text[start..].len() - text[start..].trim_start_matches('`').len();
        if run == n {
            return Some(start);
        }
        at = start + run;
    }
    None
}

/// A code span's text without the one space that pads each side, when
/// both sides have one (CommonMark's rule, for code that begins or ends
/// with a backtick).
fn strip_one_space(code: &str) -> &str {
    match code.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
        Some(inner) if !inner.trim().is_empty() => inner,
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::html_code_spans as spans;

    #[test]
    fn code_spans_are_read_as_commonmark_reads_them() {
        assert_eq!(spans("no code"), "no code");
        assert_eq!(spans("`a` and `b`"), "<code>a</code> and <code>b</code>");
        assert_eq!(spans("``a``b``"), "<code>a</code>b``");
        assert_eq!(spans("`` ` ``"), "<code>`</code>");
        assert_eq!(spans("end `"), "end `");
        assert_eq!(spans("``x`"), "``x`");
        assert_eq!(spans("` `"), "<code> </code>");
        assert_eq!(spans("é`ü`ß"), "é<code>ü</code>ß");
    }

    #[test]
    fn code_spans_stay_inert() {
        assert_eq!(
            spans("`</code><script>`<i>"),
            "<code>&lt;/code&gt;&lt;script&gt;</code>&lt;i&gt;"
        );
        assert_eq!(spans("`\u{1b}[2J`"), "<code>\\u{1b}[2J</code>");
    }
}
