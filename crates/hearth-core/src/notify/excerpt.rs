//! The bounded, plain-text excerpt of a message that a notification carries.

/// The most characters of a message a notification shows.
pub const EXCERPT_CHARS: usize = 200;

/// `text` as a person would read it in a notification: Slack references shown by their
/// label (`<@U…|ada>` as `@ada`, `<!here>` as `@here`, `<#C…|general>` as `#general`),
/// whitespace runs collapsed, cut to [`EXCERPT_CHARS`] characters with an ellipsis.
pub fn excerpt(text: &str) -> String {
    let mut plain = String::with_capacity(text.len().min(EXCERPT_CHARS * 4));
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) if close <= 120 && is_reference(&after[..close]) => {
                plain.push_str(&reference_label(&after[..close]));
                rest = &after[close + 1..];
            }
            _ => {
                plain.push('<');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= EXCERPT_CHARS {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Slack's `<...>` forms: a user, channel or special mention, or a link; anything else
/// (`a < b and c > d`) is text.
fn is_reference(inner: &str) -> bool {
    let target = inner.split('|').next().unwrap_or_default();
    !target.is_empty()
        && !target.contains(char::is_whitespace)
        && (target.starts_with(['@', '#', '!'])
            || target.contains("://")
            || target.starts_with("mailto:"))
}

fn reference_label(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    match (target.chars().next(), label) {
        (Some('@'), Some(label)) => format!("@{label}"),
        (Some('#'), Some(label)) => format!("#{label}"),
        (Some('!'), _) => format!("@{}", &target[1..]),
        (Some('@' | '#'), None) => target.to_owned(),
        // A link: its label, else the URL itself.
        (_, Some(label)) => label.to_owned(),
        _ => target.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_as_text() {
        assert_eq!(
            excerpt("<!here> ask <@U1|ada> in <#C1|general>, see <https://x.test|the doc>"),
            "@here ask @ada in #general, see the doc"
        );
        assert_eq!(excerpt("a < b and c > d"), "a < b and c > d");
    }

    #[test]
    fn long_texts_are_cut_with_an_ellipsis() {
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("  two\n\nlines "), "two lines");
    }
}
