//! Missed-messages email through a real SMTP server: one email per conversation after
//! the delay, listing what is still unread, and none for what was read meanwhile.

use std::time::Duration;

use hearth_server::Settings;
use serde_json::json;

use super::smtp::SmtpCapture;
use super::{QUIET, fast};
use crate::realtime::seq;
use crate::support::TestApp;

#[tokio::test]
async fn unread_notifications_are_emailed_once_per_conversation() {
    let smtp = SmtpCapture::spawn().await;
    let mut notify = fast();
    notify.smtp = Some(
        hearth_server::notify::email::SmtpSettings::parse(&smtp.url(), "Hearth <hearth@acme.test>")
            .unwrap(),
    );
    let app = TestApp::spawn_with(Settings {
        notify,
        ..Settings::default()
    })
    .await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    let general = app.create_channel(&owner, "general", false).await;
    let random = app.create_channel(&owner, "random", false).await;
    for channel in [&general, &random] {
        app.join(&bob, channel).await;
        app.join(&carol, channel).await;
    }
    app.put_json(
        &carol,
        "/api/v1/notifications/prefs",
        json!({"email": false}),
    )
    .await
    .ok();

    app.send(
        &owner,
        &general,
        "@bob first <script>alert(1)</script> & more",
    )
    .await;
    app.send(&owner, &general, "@bob second").await;
    app.send(&owner, &general, "@carol not by email").await;
    let read = app.send(&owner, &random, "@bob in random").await;
    // Bob reads #random before the delay is over: no email for it.
    app.post(
        &bob,
        &format!("/api/v1/channels/{random}/read"),
        json!({"seq": seq(&read)}),
    )
    .await
    .ok();

    let mails = smtp.wait_for(1, Duration::from_secs(15)).await;
    tokio::time::sleep(QUIET).await;
    let mails = if smtp.messages().len() > mails.len() {
        smtp.messages()
    } else {
        mails
    };
    assert_eq!(mails.len(), 1, "one email, for #general only: {mails:#?}");
    let mail = &mails[0];
    assert_eq!(mail.rcpt_tos, ["bob@acme.test"]);
    assert!(mail.subject.contains("#general"), "{}", mail.subject);
    assert!(
        mail.text_body
            .contains("first <script>alert(1)</script> & more"),
        "{}",
        mail.text_body
    );
    assert!(mail.text_body.contains("second"));
    assert!(!mail.text_body.contains("in random"));
    assert!(
        mail.html_body.contains("&lt;script&gt;"),
        "{}",
        mail.html_body
    );
    assert!(!mail.html_body.contains("<script>"));

    // Another mention after the email: a new email later, with only the new one.
    app.send(&owner, &general, "@bob third").await;
    let mails = smtp.wait_for(2, Duration::from_secs(15)).await;
    let second = &mails[1];
    assert!(second.text_body.contains("third"));
    assert!(!second.text_body.contains("second"), "{}", second.text_body);
}
