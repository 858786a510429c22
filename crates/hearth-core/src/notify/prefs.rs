//! What a user asked to be notified of: per channel (a level and mute) and per account
//! (keywords, do-not-disturb, a daily quiet schedule in their time zone, thread replies,
//! email). Every part is a parsed value, so the worker never meets a keyword that is too
//! long or a time zone that does not exist.

use chrono::{DateTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::ChannelKind;
use crate::value::ValidationError;

/// How much of one channel notifies its member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    /// The product default for the kind: everything in DMs and group DMs, mentions in
    /// channels (as in Slack).
    Default,
    /// Every top-level message.
    All,
    /// Mentions of the user, of the whole channel, keywords and followed threads.
    Mentions,
    /// Nothing at all (the unread badge still counts).
    Nothing,
}

impl NotifyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyLevel::Default => "default",
            NotifyLevel::All => "all",
            NotifyLevel::Mentions => "mentions",
            NotifyLevel::Nothing => "nothing",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "default" => Ok(NotifyLevel::Default),
            "all" => Ok(NotifyLevel::All),
            "mentions" => Ok(NotifyLevel::Mentions),
            "nothing" => Ok(NotifyLevel::Nothing),
            _ => Err(ValidationError::new(
                "invalid_notify_level",
                "level must be one of default, all, mentions, nothing",
            )),
        }
    }

    /// What `Default` means in a channel of this kind.
    pub fn resolve(self, kind: ChannelKind) -> NotifyLevel {
        match (self, kind.is_conversation()) {
            (NotifyLevel::Default, true) => NotifyLevel::All,
            (NotifyLevel::Default, false) => NotifyLevel::Mentions,
            (level, _) => level,
        }
    }
}

/// A member's notification settings for one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelNotify {
    pub level: NotifyLevel,
    /// A muted channel notifies of nothing, mentions included; its badge still counts.
    pub muted: bool,
}

impl Default for ChannelNotify {
    fn default() -> Self {
        Self {
            level: NotifyLevel::Default,
            muted: false,
        }
    }
}

/// A word or phrase that notifies its owner wherever it is written in a channel they
/// are in. Matched case-insensitively at word boundaries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Keyword(String);

impl Keyword {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let trimmed = s.trim();
        let invalid = |why: &str| ValidationError::new("invalid_keyword", why.to_owned());
        if trimmed.is_empty() {
            return Err(invalid("a keyword cannot be empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(invalid("a keyword is at most 50 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("a keyword cannot contain control characters"));
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` contains this keyword as whole words, in any case.
    pub fn matches(&self, text: &str) -> bool {
        let haystack = text.to_lowercase();
        let mut from = 0;
        while let Some(found) = haystack[from..].find(&self.0) {
            let start = from + found;
            let end = start + self.0.len();
            let before = haystack[..start].chars().next_back();
            let after = haystack[end..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if boundary(before) && boundary(after) {
                return true;
            }
            from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
        }
        false
    }
}

/// An IANA time zone, such as `Europe/Paris`; UTC unless the user set one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        s.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            ValidationError::new(
                "invalid_time_zone",
                "time_zone must be an IANA time zone name, such as Europe/Paris",
            )
        })
    }

    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// Minutes past local midnight at `at`.
    fn minute_of_day(&self, at: Timestamp) -> u16 {
        let utc = DateTime::from_timestamp_millis(at.0).unwrap_or_default();
        let local = utc.with_timezone(&self.0);
        (local.hour() * 60 + local.minute()) as u16
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

/// A daily quiet period in the user's time zone, `HH:MM` to `HH:MM`; it may wrap past
/// midnight (22:00 to 07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Minutes past midnight, inclusive.
    pub start: u16,
    /// Minutes past midnight, exclusive.
    pub end: u16,
}

impl QuietHours {
    pub fn parse(start: &str, end: &str) -> Result<Self, ValidationError> {
        let (start, end) = (parse_clock(start)?, parse_clock(end)?);
        if start == end {
            return Err(ValidationError::new(
                "invalid_quiet_hours",
                "quiet hours must start and end at different times",
            ));
        }
        Ok(Self { start, end })
    }

    /// Whether the minute of the day `m` is inside the period.
    pub fn contains(&self, m: u16) -> bool {
        if self.start < self.end {
            self.start <= m && m < self.end
        } else {
            m >= self.start || m < self.end
        }
    }

    pub fn format(minutes: u16) -> String {
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

fn parse_clock(s: &str) -> Result<u16, ValidationError> {
    let invalid =
        || ValidationError::new("invalid_quiet_hours", "times must be HH:MM, 00:00 to 23:59");
    let (h, m) = s.split_once(':').ok_or_else(invalid)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(invalid());
    }
    let h: u16 = h.parse().map_err(|_| invalid())?;
    let m: u16 = m.parse().map_err(|_| invalid())?;
    if h > 23 || m > 59 {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

/// A user's account-wide notification preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPrefs {
    /// At most [`NotifyPrefs::MAX_KEYWORDS`], without repeats.
    pub keywords: Vec<Keyword>,
    /// Nothing is sent before this instant.
    pub dnd_until: Option<Timestamp>,
    pub quiet_hours: Option<QuietHours>,
    pub time_zone: TimeZone,
    /// Whether replies in threads the user took part in notify them.
    pub thread_replies: bool,
    /// Whether unread notifications are also emailed, batched per conversation.
    pub email: bool,
}

impl Default for NotifyPrefs {
    fn default() -> Self {
        Self {
            keywords: Vec::new(),
            dnd_until: None,
            quiet_hours: None,
            time_zone: TimeZone::default(),
            thread_replies: true,
            email: true,
        }
    }
}

/// Why nothing may be sent to a user right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    DoNotDisturb,
    QuietHours,
}

impl Quiet {
    pub fn as_str(self) -> &'static str {
        match self {
            Quiet::DoNotDisturb => "do_not_disturb",
            Quiet::QuietHours => "quiet_hours",
        }
    }
}

impl NotifyPrefs {
    pub const MAX_KEYWORDS: usize = 30;

    /// Checks the keyword list: at most [`Self::MAX_KEYWORDS`]; repeats are dropped.
    pub fn keywords(raw: &[String]) -> Result<Vec<Keyword>, ValidationError> {
        if raw.len() > Self::MAX_KEYWORDS {
            return Err(ValidationError::new(
                "too_many_keywords",
                format!("at most {} keywords", Self::MAX_KEYWORDS),
            ));
        }
        let mut keywords: Vec<Keyword> = Vec::with_capacity(raw.len());
        for word in raw {
            let keyword = Keyword::parse(word)?;
            if !keywords.contains(&keyword) {
                keywords.push(keyword);
            }
        }
        Ok(keywords)
    }

    /// Whether do-not-disturb or the quiet schedule holds at `now`.
    pub fn quiet_at(&self, now: Timestamp) -> Option<Quiet> {
        if self.dnd_until.is_some_and(|until| now < until) {
            return Some(Quiet::DoNotDisturb);
        }
        let quiet = self.quiet_hours?;
        quiet
            .contains(self.time_zone.minute_of_day(now))
            .then_some(Quiet::QuietHours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> Timestamp {
        Timestamp(
            DateTime::parse_from_rfc3339(rfc3339)
                .unwrap()
                .timestamp_millis(),
        )
    }

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        let k = Keyword::parse("  Deploy ").unwrap();
        assert!(k.matches("the DEPLOY failed"));
        assert!(k.matches("deploy!"));
        assert!(!k.matches("redeploying"));
        let phrase = Keyword::parse("on call").unwrap();
        assert!(phrase.matches("who is On Call tonight?"));
        assert!(!phrase.matches("oncall"));
        let accented = Keyword::parse("café").unwrap();
        assert!(accented.matches("un CAFÉ noir"));
    }

    #[test]
    fn bad_keywords_are_refused() {
        assert_eq!(Keyword::parse(" ").unwrap_err().code, "invalid_keyword");
        assert_eq!(
            Keyword::parse(&"x".repeat(51)).unwrap_err().code,
            "invalid_keyword"
        );
        assert_eq!(Keyword::parse("a\nb").unwrap_err().code, "invalid_keyword");
        let many: Vec<String> = (0..31).map(|i| format!("k{i}")).collect();
        assert_eq!(
            NotifyPrefs::keywords(&many).unwrap_err().code,
            "too_many_keywords"
        );
        let repeated = NotifyPrefs::keywords(&["Ship".into(), "ship".into()]).unwrap();
        assert_eq!(repeated.len(), 1);
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_the_users_time_zone() {
        let prefs = NotifyPrefs {
            quiet_hours: Some(QuietHours::parse("22:00", "07:00").unwrap()),
            time_zone: TimeZone::parse("Europe/Paris").unwrap(),
            ..NotifyPrefs::default()
        };
        // 21:30 UTC in winter is 22:30 in Paris: quiet.
        assert_eq!(
            prefs.quiet_at(at("2026-01-10T21:30:00Z")),
            Some(Quiet::QuietHours)
        );
        // 06:30 UTC is 07:30 in Paris: not quiet.
        assert_eq!(prefs.quiet_at(at("2026-01-10T06:30:00Z")), None);
        // 05:59 UTC is 06:59 in Paris: quiet.
        assert_eq!(
            prefs.quiet_at(at("2026-01-10T05:59:00Z")),
            Some(Quiet::QuietHours)
        );
        // In summer Paris is UTC+2: 20:30 UTC is 22:30 there.
        assert_eq!(
            prefs.quiet_at(at("2026-07-10T20:30:00Z")),
            Some(Quiet::QuietHours)
        );
    }

    #[test]
    fn do_not_disturb_lasts_until_its_end() {
        let end = at("2026-01-10T12:00:00Z");
        let prefs = NotifyPrefs {
            dnd_until: Some(end),
            ..NotifyPrefs::default()
        };
        assert_eq!(prefs.quiet_at(end.plus_secs(-1)), Some(Quiet::DoNotDisturb));
        assert_eq!(prefs.quiet_at(end), None);
    }

    #[test]
    fn bad_schedules_and_zones_are_refused() {
        for (start, end) in [
            ("22:00", "22:00"),
            ("24:00", "07:00"),
            ("7:00", "08:00"),
            ("aa:bb", "01:00"),
        ] {
            assert_eq!(
                QuietHours::parse(start, end).unwrap_err().code,
                "invalid_quiet_hours"
            );
        }
        assert_eq!(
            TimeZone::parse("Mars/Olympus").unwrap_err().code,
            "invalid_time_zone"
        );
        assert_eq!(
            TimeZone::parse("America/New_York").unwrap().as_str(),
            "America/New_York"
        );
    }

    #[test]
    fn default_level_depends_on_the_kind() {
        assert_eq!(
            NotifyLevel::Default.resolve(ChannelKind::Dm),
            NotifyLevel::All
        );
        assert_eq!(
            NotifyLevel::Default.resolve(ChannelKind::Public),
            NotifyLevel::Mentions
        );
        assert_eq!(
            NotifyLevel::Nothing.resolve(ChannelKind::GroupDm),
            NotifyLevel::Nothing
        );
    }
}
