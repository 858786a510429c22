//! Setting the stage over the REST API: a workspace, its users, channels and members.
//!
//! Only hearth-proto types go over the wire. Sign-ups run a few at a time: each costs the
//! server an Argon2 hash (~20 ms of a core), and the server queues hashes beyond its cores
//! anyway, so more concurrency would only lengthen the queue.

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt, stream};
use hearth_proto as wire;

use crate::progress;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Sign-ups in flight at once.
const SIGNUP_CONCURRENCY: usize = 4;
/// The server's cap on `POST /api/v1/channels/{id}/members`.
const MAX_ADD_MEMBERS: usize = 100;
const PASSWORD: &str = "hearth-bench-password";

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub token: String,
}

/// A REST client for one server.
#[derive(Clone)]
pub struct Api {
    http: Client,
    base: String,
}

impl Api {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Self::with_pool(base_url, SIGNUP_CONCURRENCY * 2)
    }

    /// A client keeping up to `idle` connections open, for `idle` concurrent callers.
    pub fn with_pool(base_url: &str, idle: usize) -> anyhow::Result<Self> {
        let http = Client::builder()
            .pool_max_idle_per_host(idle)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        what: &str,
        req: RequestBuilder,
    ) -> anyhow::Result<T> {
        let resp = req
            .send()
            .await
            .with_context(|| format!("{what}: request failed"))?;
        let status = resp.status();
        if status.is_success() {
            return resp
                .json()
                .await
                .with_context(|| format!("{what}: unreadable answer"));
        }
        let body = resp.text().await.unwrap_or_default();
        let code = serde_json::from_str::<wire::ErrorBody>(&body)
            .map(|e| format!("{} ({})", e.error.code, e.error.message))
            .unwrap_or(body);
        bail!("{what}: HTTP {status}: {code}")
    }

    fn post(&self, path: &str, token: Option<&str>, body: &impl Serialize) -> RequestBuilder {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Creates a workspace with a unique slug; returns its slug and its owner.
    pub async fn create_workspace(&self, label: &str) -> anyhow::Result<(String, Account)> {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        let slug = format!("bench-{label}-{nonce}");
        let req = wire::CreateWorkspaceRequest {
            name: format!("hearth-bench {label}"),
            slug: slug.clone(),
            email: "owner@bench.example".into(),
            password: PASSWORD.into(),
            display_name: "Bench Owner".into(),
            handle: None,
        };
        let resp: wire::CreateWorkspaceResponse = self
            .call(
                "create workspace",
                self.post("/api/v1/workspaces", None, &req),
            )
            .await?;
        let owner = Account {
            user_id: resp.user.id,
            token: resp.token.context("the server returned no token")?,
        };
        Ok((resp.workspace.slug, owner))
    }

    /// A reusable invite code (no email).
    pub async fn open_invite(&self, admin: &Account) -> anyhow::Result<String> {
        let req = wire::CreateInviteRequest {
            email: None,
            role: None,
            expires_in_hours: None,
        };
        let resp: wire::InviteResponse = self
            .call(
                "create invite",
                self.post("/api/v1/invites", Some(&admin.token), &req),
            )
            .await?;
        Ok(resp.code)
    }

    /// Signs up `count` users with the invite, in index order.
    pub async fn sign_up_many(
        &self,
        workspace: &str,
        invite: &str,
        count: usize,
    ) -> anyhow::Result<Vec<Account>> {
        let bar = progress::bar(count as u64, "sign-ups");
        let accounts = stream::iter(0..count)
            .map(|i| self.sign_up(workspace, invite, i))
            .buffered(SIGNUP_CONCURRENCY)
            .inspect(|_| bar.inc(1))
            .try_collect()
            .await;
        bar.finish_and_clear();
        accounts
    }

    async fn sign_up(&self, workspace: &str, invite: &str, i: usize) -> anyhow::Result<Account> {
        let req = wire::SignupRequest {
            workspace: workspace.into(),
            invite_code: invite.into(),
            email: format!("user{i}@bench.example"),
            password: PASSWORD.into(),
            display_name: format!("Bench User {i}"),
            handle: None,
        };
        let resp: wire::SessionResponse = self
            .call("sign up", self.post("/api/v1/auth/signup", None, &req))
            .await?;
        Ok(Account {
            user_id: resp.user.id,
            token: resp.token.context("the server returned no token")?,
        })
    }

    /// A public channel, created by `creator` (who becomes its first member).
    pub async fn create_channel(&self, creator: &Account, name: &str) -> anyhow::Result<String> {
        let req = wire::CreateChannelRequest {
            name: name.into(),
            private: false,
            topic: None,
            purpose: None,
        };
        let channel: wire::Channel = self
            .call(
                "create channel",
                self.post("/api/v1/channels", Some(&creator.token), &req),
            )
            .await?;
        Ok(channel.id)
    }

    /// Adds everyone in `users` to the channel, 100 per call.
    pub async fn add_members(
        &self,
        member: &Account,
        channel_id: &str,
        users: &[Account],
    ) -> anyhow::Result<()> {
        for chunk in users.chunks(MAX_ADD_MEMBERS) {
            let req = wire::AddMembersRequest {
                user_ids: chunk.iter().map(|a| a.user_id.clone()).collect(),
            };
            let path = format!("/api/v1/channels/{channel_id}/members");
            let _: wire::AddMembersResponse = self
                .call("add members", self.post(&path, Some(&member.token), &req))
                .await?;
        }
        Ok(())
    }

    /// The DM between `caller` and `other` (opened if new); its channel id.
    pub async fn open_dm(&self, caller: &Account, other: &str) -> anyhow::Result<String> {
        let req = wire::OpenDmRequest {
            user_ids: vec![other.to_owned()],
        };
        let channel: wire::Channel = self
            .call(
                "open DM",
                self.post("/api/v1/dms", Some(&caller.token), &req),
            )
            .await?;
        Ok(channel.id)
    }

    /// Registers a webhook at `endpoint` as one of `owner`'s push targets.
    pub async fn add_webhook(
        &self,
        owner: &Account,
        endpoint: &str,
    ) -> anyhow::Result<wire::PushTarget> {
        let req = wire::NewPushTarget {
            kind: "webhook".into(),
            endpoint: endpoint.into(),
            keys: None,
        };
        let path = "/api/v1/notifications/targets";
        self.call("add push target", self.post(path, Some(&owner.token), &req))
            .await
    }

    /// Posts a message over REST and returns it as the server stored it (an error for any
    /// refusal).
    pub async fn post_message_stored(
        &self,
        author: &Account,
        channel_id: &str,
        text: String,
        client_msg_id: String,
    ) -> anyhow::Result<wire::Message> {
        let req = wire::PostMessageRequest {
            text,
            client_msg_id: Some(client_msg_id),
            thread_root_id: None,
            file_ids: Vec::new(),
        };
        let path = format!("/api/v1/channels/{channel_id}/messages");
        self.call("post message", self.post(&path, Some(&author.token), &req))
            .await
    }

    /// The newest `limit` top-level messages of a channel, oldest first.
    pub async fn latest_messages(
        &self,
        reader: &Account,
        channel_id: &str,
        limit: u32,
    ) -> anyhow::Result<wire::MessagePage> {
        let url = format!(
            "{}/api/v1/channels/{channel_id}/messages?limit={limit}",
            self.base
        );
        let req = self.http.get(url).bearer_auth(&reader.token);
        self.call("list messages", req).await
    }

    /// `GET /api/v1/search` as `reader`: one page of `q`, sorted by `sort` (`relevance` or
    /// `recent`), at most `limit` results.
    pub async fn search(
        &self,
        reader: &Account,
        q: &str,
        sort: &str,
        limit: u32,
    ) -> anyhow::Result<wire::SearchResults> {
        let url = format!(
            "{}/api/v1/search?q={}&sort={sort}&limit={limit}",
            self.base,
            url_encoded(q)
        );
        let req = self.http.get(url).bearer_auth(&reader.token);
        self.call("search", req).await
    }

    /// A user of the reader's workspace.
    pub async fn user(&self, reader: &Account, user_id: &str) -> anyhow::Result<wire::User> {
        let url = format!("{}/api/v1/users/{user_id}", self.base);
        let req = self.http.get(url).bearer_auth(&reader.token);
        self.call("get user", req).await
    }

    /// A channel the reader can see.
    pub async fn channel(
        &self,
        reader: &Account,
        channel_id: &str,
    ) -> anyhow::Result<wire::Channel> {
        let url = format!("{}/api/v1/channels/{channel_id}", self.base);
        let req = self.http.get(url).bearer_auth(&reader.token);
        let resp: wire::ChannelResponse = self.call("get channel", req).await?;
        Ok(resp.channel)
    }

    /// Creates `count` public channels named `{prefix}-{i}` as `creator`, a few at a time;
    /// returns their ids in index order.
    pub async fn create_channels(
        &self,
        creator: &Account,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Vec<String>> {
        stream::iter(0..count)
            .map(|i| async move { self.create_channel(creator, &format!("{prefix}-{i}")).await })
            .buffered(SIGNUP_CONCURRENCY * 2)
            .try_collect()
            .await
    }

    /// `POST /api/v1/files?name=NAME` with `bytes` as the raw body (sent from the buffer
    /// as it is, never copied); the file as the server recorded it.
    pub async fn upload_file(
        &self,
        uploader: &Account,
        name: &str,
        bytes: bytes::Bytes,
    ) -> anyhow::Result<wire::File> {
        let url = format!("{}/api/v1/files?name={}", self.base, url_encoded(name));
        let req = self
            .http
            .post(url)
            .bearer_auth(&uploader.token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.call("upload file", req).await
    }

    /// `GET` of a server path (a file's `url` or `thumb_url`) as `reader`: the response,
    /// its body not read yet, when its status is a success.
    pub async fn get_path(&self, reader: &Account, path: &str) -> anyhow::Result<Response> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&reader.token)
            .send()
            .await
            .with_context(|| format!("GET {path}: request failed"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            bail!("GET {path}: HTTP {status}: {body}");
        }
        Ok(resp)
    }

    /// Posts a message over REST; `Ok(false)` when the server refused it.
    pub async fn post_message(
        &self,
        author: &Account,
        channel_id: &str,
        text: String,
        client_msg_id: String,
    ) -> anyhow::Result<bool> {
        let req = wire::PostMessageRequest {
            text,
            client_msg_id: Some(client_msg_id),
            thread_root_id: None,
            file_ids: Vec::new(),
        };
        let path = format!("/api/v1/channels/{channel_id}/messages");
        let resp = self
            .post(&path, Some(&author.token), &req)
            .send()
            .await
            .context("post message: request failed")?;
        Ok(matches!(
            resp.status(),
            StatusCode::CREATED | StatusCode::OK
        ))
    }
}

/// `s` percent-encoded for a URL's query string: everything but unreserved characters.
pub fn url_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A workspace of `users` accounts (its owner first) ready for a scenario.
pub struct Population {
    pub accounts: Vec<Account>,
}

impl Population {
    /// Creates a workspace and signs up `users - 1` more accounts beside its owner.
    pub async fn create(api: &Api, label: &str, users: usize) -> anyhow::Result<Self> {
        let (slug, owner) = api.create_workspace(label).await?;
        let invite = api.open_invite(&owner).await?;
        let others = api
            .sign_up_many(&slug, &invite, users.saturating_sub(1))
            .await?;
        let mut accounts = Vec::with_capacity(users);
        accounts.push(owner);
        accounts.extend(others);
        Ok(Self { accounts })
    }

    pub fn owner(&self) -> &Account {
        &self.accounts[0]
    }

    /// A channel holding every account of the population.
    pub async fn channel_with_everyone(&self, api: &Api, name: &str) -> anyhow::Result<String> {
        let id = api.create_channel(self.owner(), name).await?;
        api.add_members(self.owner(), &id, &self.accounts[1..])
            .await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_percent_encoded() {
        assert_eq!(
            url_encoded("\"a b\" from:@ada.lovelace1 in:#ops-00001"),
            "%22a%20b%22%20from%3A%40ada.lovelace1%20in%3A%23ops-00001"
        );
        assert_eq!(url_encoded("é&="), "%C3%A9%26%3D");
    }
}
