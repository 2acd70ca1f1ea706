//! Text that a server wrote, made safe to show: error descriptions, `iss` values,
//! issuers and resources in mismatch messages, unknown codes. A hostile server
//! must not be able to drive a terminal (ESC sequences), forge log lines (line
//! breaks), reorder what a user reads (bidirectional overrides), or flood logs and
//! JS errors with kilobytes.

/// The most characters of one server-written value shown in a message.
pub const MAX_SERVER_TEXT_CHARS: usize = 300;

/// `text` with control characters (C0, DEL, C1: ESC, CR, LF, ...) and Unicode
/// bidirectional controls replaced by spaces, cut at [`MAX_SERVER_TEXT_CHARS`]
/// characters (an ellipsis marks the cut).
pub fn server_text(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_SERVER_TEXT_CHARS)
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_SERVER_TEXT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// [`server_text`] of an optional value.
pub fn server_text_opt(text: Option<&str>) -> Option<String> {
    text.map(server_text)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_line_breaks_and_bidi_controls_become_spaces() {
        assert_eq!(
            server_text("a\u{1b}[31mb\r\nc\u{7f}d\u{9b}e"),
            "a [31mb  c d e"
        );
        assert_eq!(server_text("x\u{202e}y\u{2066}z"), "x y z");
        assert_eq!(server_text("café ✓"), "café ✓");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let long = "é".repeat(10_000);
        let shown = server_text(&long);
        assert_eq!(shown.chars().count(), MAX_SERVER_TEXT_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(
            server_text(&"a".repeat(MAX_SERVER_TEXT_CHARS))
                .chars()
                .count(),
            MAX_SERVER_TEXT_CHARS
        );
    }
}
