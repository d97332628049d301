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
    for c in visible(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
