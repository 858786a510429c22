//! Preferences as both backends keep them: one `notify_prefs` row of plain columns
//! (keywords as a JSON array, quiet hours as minutes past midnight), read back through
//! the same parsers the API uses, so a corrupt row is an error, never a silent default.

use crate::Timestamp;
use crate::notify::{Keyword, NotifyPrefs, QuietHours, TimeZone};

/// The columns of a `notify_prefs` row; all `None` when the user never saved any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredPrefs {
    pub keywords: Option<String>,
    pub dnd_until: Option<i64>,
    pub quiet_start: Option<i64>,
    pub quiet_end: Option<i64>,
    pub time_zone: Option<String>,
    pub thread_replies: Option<bool>,
    pub email: Option<bool>,
}

impl StoredPrefs {
    /// The row for these preferences.
    pub fn from_prefs(prefs: &NotifyPrefs) -> Self {
        let words: Vec<&str> = prefs.keywords.iter().map(Keyword::as_str).collect();
        Self {
            keywords: Some(serde_json::to_string(&words).unwrap_or_else(|_| "[]".to_owned())),
            dnd_until: prefs.dnd_until.map(|t| t.0),
            quiet_start: prefs.quiet_hours.map(|q| i64::from(q.start)),
            quiet_end: prefs.quiet_hours.map(|q| i64::from(q.end)),
            time_zone: Some(prefs.time_zone.as_str().to_owned()),
            thread_replies: Some(prefs.thread_replies),
            email: Some(prefs.email),
        }
    }

    /// The preferences this row holds (the defaults without a row); `Err` names what is
    /// corrupt.
    pub fn into_prefs(self) -> Result<NotifyPrefs, String> {
        let Some(keywords) = self.keywords else {
            return Ok(NotifyPrefs::default());
        };
        let raw: Vec<String> =
            serde_json::from_str(&keywords).map_err(|_| format!("keywords {keywords:?}"))?;
        let keywords = raw
            .iter()
            .map(|k| Keyword::parse(k).map_err(|_| format!("keyword {k:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        let minute = |m: i64| u16::try_from(m).map_err(|_| format!("quiet hours minute {m}"));
        let quiet_hours = match (self.quiet_start, self.quiet_end) {
            (Some(start), Some(end)) => Some(QuietHours {
                start: minute(start)?,
                end: minute(end)?,
            }),
            (None, None) => None,
            _ => return Err("quiet hours half set".to_owned()),
        };
        let zone = self.time_zone.unwrap_or_default();
        let defaults = NotifyPrefs::default();
        Ok(NotifyPrefs {
            keywords,
            dnd_until: self.dnd_until.map(Timestamp),
            quiet_hours,
            time_zone: TimeZone::parse(&zone).map_err(|_| format!("time zone {zone:?}"))?,
            thread_replies: self.thread_replies.unwrap_or(defaults.thread_replies),
            email: self.email.unwrap_or(defaults.email),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_round_trip_through_their_columns() {
        let prefs = NotifyPrefs {
            keywords: NotifyPrefs::keywords(&["Deploy".into(), "on call".into()]).unwrap(),
            dnd_until: Some(Timestamp(1_700_000_000_000)),
            quiet_hours: Some(QuietHours::parse("22:00", "07:30").unwrap()),
            time_zone: TimeZone::parse("Asia/Tokyo").unwrap(),
            thread_replies: false,
            email: false,
        };
        assert_eq!(StoredPrefs::from_prefs(&prefs).into_prefs().unwrap(), prefs);
        assert_eq!(
            StoredPrefs::default().into_prefs().unwrap(),
            NotifyPrefs::default()
        );
        let corrupt = StoredPrefs {
            time_zone: Some("Nowhere".into()),
            ..StoredPrefs::from_prefs(&prefs)
        };
        assert!(corrupt.into_prefs().unwrap_err().contains("Nowhere"));
    }
}
