//! Who a message mentions.
//!
//! Slack's reference forms are recognised so Slack-compatible clients and ours agree:
//! `<@U…>` (optionally `<@U…|label>`), `<!channel>`, `<!here>`, `<!everyone>`; so are the
//! plain forms typed by API clients: `@handle`, `@channel`, `@here`, `@everyone`.
//! Nothing inside inline code or code blocks mentions anyone, and an email address is
//! not a mention.

use crate::id::UserId;
use crate::value::Handle;

/// A mention of everyone in a channel, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Broadcast {
    /// `@everyone`: every member (Slack restricts it to #general; we treat it as @channel).
    Everyone,
    /// `@channel`: every member of the channel.
    Channel,
    /// `@here`: members who are active now.
    Here,
}

/// Everything a message text mentions, deduplicated, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub user_ids: Vec<UserId>,
    pub handles: Vec<Handle>,
    pub broadcast: Option<Broadcast>,
}

impl Mentions {
    /// At most this many distinct people are recorded from one message.
    pub const MAX_PEOPLE: usize = 200;

    pub fn is_empty(&self) -> bool {
        self.user_ids.is_empty() && self.handles.is_empty() && self.broadcast.is_none()
    }

    fn add_broadcast(&mut self, b: Broadcast) {
        self.broadcast = Some(self.broadcast.map_or(b, |old| old.min(b)));
    }

    fn add_user(&mut self, id: UserId) {
        if !self.user_ids.contains(&id) && self.people() < Self::MAX_PEOPLE {
            self.user_ids.push(id);
        }
    }

    fn add_handle(&mut self, handle: Handle) {
        if !self.handles.contains(&handle) && self.people() < Self::MAX_PEOPLE {
            self.handles.push(handle);
        }
    }

    fn people(&self) -> usize {
        self.user_ids.len() + self.handles.len()
    }
}

/// Finds the mentions in a message's text.
pub fn parse(text: &str) -> Mentions {
    let mut mentions = Mentions::default();
    for segment in outside_code(text) {
        scan_segment(segment, &mut mentions);
    }
    mentions
}

/// The parts of `text` that are not inside ``` blocks or `inline code`.
fn outside_code(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let fence = rest.find("```");
        let tick = rest.find('`');
        let (start, delim) = match (fence, tick) {
            (Some(f), Some(t)) if f <= t => (f, "```"),
            (_, Some(t)) => (t, "`"),
            _ => break,
        };
        parts.push(&rest[..start]);
        let after = &rest[start + delim.len()..];
        match after.find(delim) {
            Some(end) => rest = &after[end + delim.len()..],
            None => {
                // An unclosed delimiter is literal text, not code.
                parts.push(&rest[start..start + delim.len()]);
                rest = after;
            }
        }
    }
    parts.push(rest);
    parts
}

fn scan_segment(s: &str, mentions: &mut Mentions) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                if let Some(len) = angle_reference(&s[i..], mentions) {
                    i += len;
                    continue;
                }
            }
            // `<@…>` that did not parse as a reference is not a plain mention either.
            b'@' if i == 0 || !(is_word_byte(bytes[i - 1]) || bytes[i - 1] == b'<') => {
                let word: String = s[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    .collect();
                // A sentence-ending period is punctuation, not part of the handle.
                let word = word.trim_end_matches('.');
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "channel" => mentions.add_broadcast(Broadcast::Channel),
                    "here" => mentions.add_broadcast(Broadcast::Here),
                    "everyone" => mentions.add_broadcast(Broadcast::Everyone),
                    _ => {
                        if let Ok(handle) = Handle::parse(&lower) {
                            mentions.add_handle(handle);
                        }
                    }
                }
                i += 1 + word.len();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Parses `<@U…>`, `<@U…|label>` or `<!channel>`-style references at the start of `s`,
/// returning how many bytes it used.
fn angle_reference(s: &str, mentions: &mut Mentions) -> Option<usize> {
    // '>' is ASCII, so its byte index is always a char boundary.
    let end = s.bytes().take(200).position(|b| b == b'>')?;
    let inner = &s[1..end];
    let target = inner.split('|').next().unwrap_or_default();
    if let Some(id) = target.strip_prefix('@') {
        mentions.add_user(UserId::parse(id)?);
    } else if let Some(special) = target.strip_prefix('!') {
        let b = match special {
            "channel" => Broadcast::Channel,
            "here" => Broadcast::Here,
            "everyone" => Broadcast::Everyone,
            _ => return None,
        };
        mentions.add_broadcast(b);
    } else {
        return None;
    }
    Some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn handles(m: &Mentions) -> Vec<&str> {
        m.handles.iter().map(|h| h.as_str()).collect()
    }

    #[test]
    fn slack_reference_forms() {
        let id = UserId::generate();
        let m = parse(&format!("hey <@{id}> and <@{id}|ada>, <!here>"));
        assert_eq!(m.user_ids, vec![id]);
        assert_eq!(m.broadcast, Some(Broadcast::Here));
        assert_eq!(
            parse("<!everyone> <!channel>").broadcast,
            Some(Broadcast::Everyone)
        );
        assert!(parse("<@nobody> <!nothing> <#C123>").is_empty());
    }

    #[test]
    fn plain_forms() {
        let m = parse("@ada, @Bob.Smith. and @here!");
        assert_eq!(handles(&m), ["ada", "bob.smith"]);
        assert_eq!(m.broadcast, Some(Broadcast::Here));
        assert_eq!(
            parse("ping @channel now").broadcast,
            Some(Broadcast::Channel)
        );
    }

    #[test]
    fn emails_and_code_are_not_mentions() {
        assert!(parse("mail ada@example.com").is_empty());
        assert!(parse("`@ada` and ```\n@channel\n```").is_empty());
        assert_eq!(handles(&parse("`unclosed @ada")), ["ada"]);
    }

    #[test]
    fn deduplicates_and_bounds() {
        assert_eq!(handles(&parse("@ada @ada @ADA")), ["ada"]);
        let many: String = (0..500).map(|i| format!("@u{i} ")).collect();
        assert_eq!(parse(&many).handles.len(), Mentions::MAX_PEOPLE);
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_bounded(s in "\\PC{0,400}") {
            let m = parse(&s);
            prop_assert!(m.user_ids.len() + m.handles.len() <= Mentions::MAX_PEOPLE);
        }

        #[test]
        fn a_typed_handle_is_found(h in "[a-z][a-z0-9_-]{0,20}", before in "[ ,;(]{1,3}") {
            let m = parse(&format!("hi{before}@{h} there"));
            let found = handles(&m).contains(&h.as_str())
                || matches!(h.as_str(), "channel" | "here" | "everyone");
            prop_assert!(found);
        }
    }
}
