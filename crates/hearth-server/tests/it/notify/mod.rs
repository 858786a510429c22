//! Notifications end to end: real deliveries to local endpoints. A webhook receiver
//! ([`hooks`]), a push service stand-in that decrypts RFC 8291 payloads and checks VAPID
//! signatures ([`push_service`]), and a real SMTP server (aiosmtpd, [`smtp`]). The
//! workers' timings are shrunk through `Settings` so nothing waits for long.

mod crash;
mod deliveries;
mod email;
pub mod hooks;
mod prefs;
pub mod push_service;
mod rules;
pub mod smtp;
mod web_push;

use std::time::Duration;

use hearth_server::Settings;
use hearth_server::notify::{NotifySettings, TargetRules};
use serde_json::{Value, json};

use self::hooks::Hooks;
use crate::support::{Session, TestApp};

/// How long a test waits for a delivery that must come.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test watches for a delivery that must not come: well past the workers'
/// poll and retry times below.
pub const QUIET: Duration = Duration::from_millis(1_500);

/// Workers that poll often and retry soon, loopback endpoints allowed, and channels
/// expanded two members at a time (so every test crosses the batches a large channel
/// is expanded in).
pub fn fast() -> NotifySettings {
    NotifySettings {
        poll: Duration::from_millis(50),
        candidates_per_batch: 2,
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        max_attempts: 3,
        email_delay: Duration::from_secs(1),
        targets: TargetRules {
            allow_private: true,
        },
        ..NotifySettings::default()
    }
}

pub async fn spawn_fast() -> TestApp {
    TestApp::spawn_with(Settings {
        notify: fast(),
        ..Settings::default()
    })
    .await
}

/// Registers a webhook at `hooks`' endpoint `name` for `s`; the target.
pub async fn add_webhook(app: &TestApp, s: &Session, hooks: &Hooks, name: &str) -> Value {
    app.post(
        s,
        "/api/v1/notifications/targets",
        json!({"kind": "webhook", "endpoint": hooks.endpoint(name)}),
    )
    .await
    .expect(201, "")
}

/// A workspace with an owner (who sends) and `names` as members of `#general`, each
/// with a webhook named after them.
pub struct Office {
    pub owner: Session,
    pub people: Vec<Session>,
    pub general: String,
    pub hooks: Hooks,
}

pub async fn office(app: &TestApp, names: &[&str]) -> Office {
    let owner = app.create_workspace("acme").await;
    let general = app.create_channel(&owner, "general", false).await;
    let hooks = Hooks::spawn().await;
    let mut people = Vec::new();
    for name in names {
        let s = app
            .add_user(&owner, &format!("{name}@acme.test"), "member")
            .await;
        app.join(&s, &general).await;
        add_webhook(app, &s, &hooks, name).await;
        people.push(s);
    }
    Office {
        owner,
        people,
        general,
        hooks,
    }
}
