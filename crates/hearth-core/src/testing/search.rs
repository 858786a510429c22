//! Full-text search, through [`crate::search::search`] as the API runs it: every
//! operator, phrases and exclusions, CJK, stemming, sorting, paging, edits and deletes,
//! and the leak test (canary words that no one who may not read them ever finds).

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::{Channel, Message, Role, User};
use crate::search::{SearchError, SearchOptions, SearchResults, search};
use crate::store::{RELEVANCE_WINDOW, SearchSort, Store};

use super::*;

async fn run(f: &Fixture, viewer: &User, q: &str, sort: SearchSort) -> SearchResults {
    search(
        &*f.store,
        viewer,
        SearchOptions {
            query: q,
            sort,
            cursor: None,
            limit: Some(100),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("search {q:?}: {e:?}"))
}

/// The texts `viewer` finds for `q`, newest first.
async fn find(f: &Fixture, viewer: &User, q: &str) -> Vec<String> {
    let results = run(f, viewer, q, SearchSort::Recent).await;
    results
        .results
        .into_iter()
        .map(|r| r.hit.message.text)
        .collect()
}

/// Posts each text in `channel` as `author`, oldest first.
async fn post_all(f: &Fixture, channel: &Channel, author: &User, texts: &[&str]) -> Vec<Message> {
    let mut posted = Vec::new();
    for t in texts {
        posted.push(f.post(channel, author, t).await);
    }
    posted
}

pub async fn words_must_all_match(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    post_all(
        &f,
        &c,
        &f.owner,
        &["deploy the api", "deploy the web app", "lunch at noon"],
    )
    .await;
    assert_eq!(find(&f, &f.owner, "deploy api").await, ["deploy the api"]);
    assert_eq!(find(&f, &f.owner, "deploy").await.len(), 2);
    assert!(find(&f, &f.owner, "deploy noon").await.is_empty());
}

pub async fn stemming_case_and_accents_do_not_matter(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    post_all(&f, &c, &f.owner, &["We DEPLOYED the new Café build"]).await;
    for q in ["deploy", "deploying", "Deploys", "cafe", "CAFÉ", "builds"] {
        assert_eq!(find(&f, &f.owner, q).await.len(), 1, "{q}");
    }
    assert!(find(&f, &f.owner, "coffee").await.is_empty());
}

pub async fn phrases_and_exclusions(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    post_all(
        &f,
        &c,
        &f.owner,
        &[
            "release notes are out",
            "notes about the release",
            "release party",
        ],
    )
    .await;
    assert_eq!(
        find(&f, &f.owner, "\"release notes\"").await,
        ["release notes are out"]
    );
    assert_eq!(
        find(&f, &f.owner, "release -notes").await,
        ["release party"]
    );
    assert_eq!(
        find(&f, &f.owner, "release -\"release notes\"").await,
        ["release party", "notes about the release"]
    );
    assert_eq!(
        find(&f, &f.owner, "\"out are notes\"").await,
        Vec::<String>::new()
    );
}

pub async fn prefixes_match_words_and_stems(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    post_all(&f, &c, &f.owner, &["deployment finished", "depot is open"]).await;
    assert_eq!(
        find(&f, &f.owner, "deploym*").await,
        ["deployment finished"]
    );
    assert_eq!(find(&f, &f.owner, "dep*").await.len(), 2);
    assert_eq!(find(&f, &f.owner, "DEPO*").await, ["depot is open"]);
}

pub async fn cjk_text_is_found_by_substrings(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    post_all(
        &f,
        &c,
        &f.owner,
        &[
            "明日は東京都に行きます",
            "京都の会議は三時から",
            "한국어 회의 자료",
        ],
    )
    .await;
    assert_eq!(
        find(&f, &f.owner, "東京都").await,
        ["明日は東京都に行きます"]
    );
    assert_eq!(find(&f, &f.owner, "京都").await.len(), 2);
    assert_eq!(find(&f, &f.owner, "会議").await, ["京都の会議は三時から"]);
    assert_eq!(find(&f, &f.owner, "한국어").await, ["한국어 회의 자료"]);
    assert!(find(&f, &f.owner, "都京").await.is_empty());
}

pub async fn from_and_in_filters(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let random = f.channel(&f.owner, "random", &[&f.bob]).await;
    let dm = f.dm(&[&f.owner, &f.bob]).await;
    f.post(&general, &f.owner, "standup notes ada").await;
    f.post(&general, &f.bob, "standup notes bob").await;
    f.post(&random, &f.bob, "standup elsewhere").await;
    f.post(&dm, &f.bob, "standup in private").await;

    assert_eq!(find(&f, &f.owner, "standup from:@bob").await.len(), 3);
    let by_id = format!("standup from:{}", f.bob.id);
    assert_eq!(find(&f, &f.owner, &by_id).await.len(), 3);
    assert_eq!(find(&f, &f.owner, "standup in:#general").await.len(), 2);
    assert_eq!(
        find(&f, &f.owner, "standup in:#general from:@bob").await,
        ["standup notes bob"]
    );
    assert_eq!(find(&f, &f.owner, "in:@bob").await, ["standup in private"]);
    assert_eq!(find(&f, &f.bob, "in:@ada").await, ["standup in private"]);
    assert_eq!(
        find(&f, &f.owner, "standup in:#general in:#random")
            .await
            .len(),
        3
    );
    // Filters alone list messages too, newest first.
    assert_eq!(find(&f, &f.owner, "from:@ada").await, ["standup notes ada"]);
    // A name that matches nothing finds nothing; it is not an error.
    assert!(find(&f, &f.owner, "standup from:@nobody").await.is_empty());
    assert!(find(&f, &f.owner, "standup in:#nowhere").await.is_empty());
}

/// Every page of `q` for `viewer`, `limit` at a time, followed by their cursors.
async fn all_pages(
    f: &Fixture,
    viewer: &User,
    q: &str,
    sort: SearchSort,
    limit: u32,
) -> Vec<Message> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let options = SearchOptions {
            query: q,
            sort,
            cursor: cursor.as_deref(),
            limit: Some(limit),
        };
        let page = search(&*f.store, viewer, options)
            .await
            .unwrap_or_else(|e| panic!("search {q:?}: {e:?}"));
        seen.extend(page.results.into_iter().map(|r| r.hit.message));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

/// A word hundreds of messages use, with `from:` an author and `in:` a channel that have
/// only a few of them, some older than the newest [`RELEVANCE_WINDOW`] matches of the
/// word: all of theirs and nothing else, in both sorts, page by page. And an id typed as a
/// word finds nothing, though the index may hold ids to answer `from:` and `in:`.
pub async fn rare_authors_and_channels_among_a_common_words_matches(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let quiet = f.channel(&f.owner, "quiet", &[&f.bob]).await;
    let mut by_bob = vec![f.post(&general, &f.bob, "deploy early").await];
    let mut in_quiet = vec![f.post(&quiet, &f.owner, "deploy quietly").await];
    f.post(&general, &f.bob, "lunch plans").await;
    f.post(&quiet, &f.owner, "nothing to see").await;
    let both = f.post(&quiet, &f.bob, "deploy deploy").await;
    by_bob.push(both.clone());
    in_quiet.push(both.clone());
    for i in 0..RELEVANCE_WINDOW + 20 {
        f.post(&general, &f.owner, &format!("deploy number {i}"))
            .await;
        if i == RELEVANCE_WINDOW / 2 {
            by_bob.push(f.post(&general, &f.bob, "deploy midway").await);
        }
    }
    by_bob.push(f.post(&general, &f.bob, "deploy latest").await);
    let newest_first = |ms: &[Message]| ms.iter().rev().map(|m| m.id.clone()).collect::<Vec<_>>();
    let ids = |ms: Vec<Message>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();

    for (q, expected) in [
        ("deploy from:@bob", newest_first(&by_bob)),
        ("deploy in:#quiet", newest_first(&in_quiet)),
        ("deploy in:#quiet from:@bob", vec![both.id.clone()]),
        ("deploy -midway from:@bob", {
            let mut e = newest_first(&by_bob);
            e.remove(1);
            e
        }),
    ] {
        let recent = ids(all_pages(&f, &f.owner, q, SearchSort::Recent, 2).await);
        assert_eq!(recent, expected, "{q}, newest first");
        // Relevance: the same messages, best first (the word twice, all else equal), then
        // newest first.
        let ranked = all_pages(&f, &f.owner, q, SearchSort::Relevance, 2).await;
        assert_eq!(
            ranked.iter().map(|m| &m.id).collect::<HashSet<_>>(),
            expected.iter().collect::<HashSet<_>>(),
            "{q}, by relevance"
        );
        let mut by_score = ids(ranked);
        if by_score.contains(&both.id) {
            assert_eq!(by_score.remove(0), both.id, "{q}: the best match first");
        }
        let rest: Vec<_> = expected.into_iter().filter(|id| *id != both.id).collect();
        assert_eq!(by_score, rest, "{q}: equal matches newest first");
    }
    // Bob can read both channels: his search agrees with the owner's.
    let bobs = ids(all_pages(&f, &f.bob, "deploy from:@bob", SearchSort::Recent, 100).await);
    assert_eq!(bobs, newest_first(&by_bob));
    // Ids are no words: neither whole nor as a prefix, nor the author's or channel's.
    for id in [f.bob.id.as_str(), quiet.id.as_str(), general.id.as_str()] {
        assert!(find(&f, &f.owner, id).await.is_empty(), "{id}");
        assert!(
            find(&f, &f.owner, &format!("{}*", &id[..8]))
                .await
                .is_empty(),
            "{id}"
        );
        assert!(
            find(&f, &f.owner, &format!("deploy {id}")).await.is_empty(),
            "{id}"
        );
    }
}

pub async fn date_filters(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let m = f.post(&c, &f.owner, "quarterly report").await;
    let day = chrono::DateTime::from_timestamp_millis(m.created_at.0)
        .unwrap()
        .date_naive();
    let (prev, next) = (day.pred_opt().unwrap(), day.succ_opt().unwrap());
    let found = |q: String| {
        let f = &f;
        async move { find(f, &f.owner, &q).await.len() }
    };
    assert_eq!(found(format!("report on:{day}")).await, 1);
    assert_eq!(found(format!("report after:{prev}")).await, 1);
    assert_eq!(found(format!("report before:{next}")).await, 1);
    assert_eq!(found(format!("report after:{day}")).await, 0);
    assert_eq!(found(format!("report before:{day}")).await, 0);
    assert_eq!(found(format!("report on:{prev}")).await, 0);
    assert_eq!(found(format!("report after:{next} before:{prev}")).await, 0);
}

pub async fn has_and_is_filters(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let link = f
        .post(&c, &f.owner, "docs at https://docs.example.test/a")
        .await;
    let liked = f.post(&c, &f.owner, "docs are done").await;
    let root = f.post(&c, &f.owner, "docs question").await;
    let reply = f.reply(&root, &f.owner, "docs answer").await;
    store
        .add_reaction(f.ws_id(), &liked.id, &f.owner.id, &emoji("tada"))
        .await
        .unwrap();

    assert_eq!(find(&f, &f.owner, "docs has:link").await, [link.text]);
    assert_eq!(find(&f, &f.owner, "has:reaction").await, [liked.text]);
    assert_eq!(
        find(&f, &f.owner, "docs is:thread").await,
        [reply.text, root.text]
    );
    assert!(find(&f, &f.owner, "docs has:file").await.is_empty());

    // has:file follows the message's files: gone once its last file is deleted.
    let file = f
        .store
        .create_file(
            f.ws_id(),
            super::files::upload(&f.owner, "spec.pdf", 9),
            None,
        )
        .await
        .unwrap();
    let mut with_file = new_message(&c.id, &f.owner.id, "docs attached");
    with_file.file_ids = vec![file.id.clone()];
    let with_file = f
        .store
        .post_message(f.ws_id(), with_file)
        .await
        .unwrap()
        .message;
    assert_eq!(find(&f, &f.owner, "docs has:file").await, [with_file.text]);
    f.store.delete_file(f.ws_id(), &file.id).await.unwrap();
    assert!(find(&f, &f.owner, "docs has:file").await.is_empty());
}

pub async fn relevance_ranks_better_matches_first_and_recent_sorts_by_time(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let weak = "outage mentioned once in a long message about many other things entirely";
    post_all(
        &f,
        &c,
        &f.owner,
        &["outage outage outage", weak, "outage report"],
    )
    .await;
    let relevance = run(&f, &f.owner, "outage", SearchSort::Relevance).await;
    let texts: Vec<&str> = relevance
        .results
        .iter()
        .map(|r| r.hit.message.text.as_str())
        .collect();
    assert_eq!(texts[0], "outage outage outage");
    assert_eq!(texts[2], weak);
    assert_eq!(
        find(&f, &f.owner, "outage").await,
        ["outage report", weak, "outage outage outage"]
    );
    // Equal matches: newest first.
    let c2 = f.channel(&f.owner, "twins", &[]).await;
    let twins = post_all(&f, &c2, &f.owner, &["twin text", "twin text"]).await;
    let ranked = run(&f, &f.owner, "twin", SearchSort::Relevance).await;
    let ids: Vec<_> = ranked
        .results
        .iter()
        .map(|r| r.hit.message.id.clone())
        .collect();
    assert_eq!(ids, [twins[1].id.clone(), twins[0].id.clone()]);
}

pub async fn pages_have_no_duplicates_or_holes(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let mut expected = HashSet::new();
    for i in 0..25 {
        // Varied lengths give varied scores, equal ones give ties: both must page.
        let text = format!("ticket {} {}", i, "word ".repeat(i % 4));
        expected.insert(f.post(&c, &f.owner, &text).await.id);
    }
    f.post(&c, &f.owner, "unrelated").await;
    for sort in [SearchSort::Relevance, SearchSort::Recent] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        let mut newer = None;
        loop {
            let page = search(
                &*f.store,
                &f.owner,
                SearchOptions {
                    query: "ticket",
                    sort,
                    cursor: cursor.as_deref(),
                    limit: Some(10),
                },
            )
            .await
            .unwrap();
            pages += 1;
            seen.extend(page.results.iter().map(|r| r.hit.message.id.clone()));
            if pages == 1 {
                // Written after the first page: not part of this search's pages (but of
                // the next search's).
                newer = Some(f.post(&c, &f.owner, "ticket newer").await.id);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), expected.len(), "{sort:?}: no duplicates");
        assert_eq!(
            seen.iter().cloned().collect::<HashSet<_>>(),
            expected,
            "{sort:?}"
        );
        assert!(pages >= 3, "{sort:?}: {pages} pages");
        expected.extend(newer.take());
    }
}

/// A phrase by relevance, among more matches than the window holds and messages with its
/// words apart: the newest [`RELEVANCE_WINDOW`] matches and nothing else, page by page,
/// best first and newest first among equals, without duplicates; a match written after
/// the first page is not among them.
pub async fn ranked_phrases_page_through_their_newest_matches(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let mut matches = vec![
        f.post(&c, &f.owner, "release notes, release notes")
            .await
            .id,
    ];
    for i in 0..RELEVANCE_WINDOW + 10 {
        if i % 10 == 0 {
            f.post(&c, &f.owner, &format!("notes on the release {i}"))
                .await;
        }
        let text = if i == RELEVANCE_WINDOW / 2 {
            "release notes, and again release notes".to_owned()
        } else {
            format!("release notes {i}")
        };
        matches.push(f.post(&c, &f.owner, &text).await.id);
    }
    let newest: HashSet<_> = matches
        .iter()
        .rev()
        .take(RELEVANCE_WINDOW as usize)
        .collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut later = None;
    loop {
        let page = search(
            &*f.store,
            &f.owner,
            SearchOptions {
                query: "\"release notes\"",
                sort: SearchSort::Relevance,
                cursor: cursor.as_deref(),
                limit: Some(60),
            },
        )
        .await
        .unwrap();
        seen.extend(
            page.results
                .iter()
                .map(|r| (r.hit.message.id.clone(), r.hit.score, r.hit.message.seq)),
        );
        if later.is_none() {
            // Written after the first page: not part of this search's pages.
            later = Some(f.post(&c, &f.owner, "release notes later").await.id);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        RELEVANCE_WINDOW as usize,
        "no duplicates, no holes"
    );
    let found: HashSet<_> = seen.iter().map(|(id, _, _)| id).collect();
    assert_eq!(found, newest, "the newest matches, and nothing else");
    assert!(!found.contains(&later.unwrap()));
    for pair in seen.windows(2) {
        let ((_, a, a_seq), (_, b, b_seq)) = (&pair[0], &pair[1]);
        assert!(
            a > b || (a == b && a_seq > b_seq),
            "best first, then newest: {pair:?}"
        );
    }
}

pub async fn edits_and_deletes_apply_at_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let m = f.post(&c, &f.owner, "alpha version").await;
    store
        .edit_message(f.ws_id(), &m.id, text("beta version"), Default::default())
        .await
        .unwrap();
    assert!(find(&f, &f.owner, "alpha").await.is_empty());
    assert_eq!(find(&f, &f.owner, "beta").await, ["beta version"]);
    store.delete_message(f.ws_id(), &m.id).await.unwrap();
    assert!(find(&f, &f.owner, "beta").await.is_empty());
    assert!(find(&f, &f.owner, "from:@ada").await.is_empty());
}

pub async fn canaries_never_leak(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let dee = f.member("dee").await;
    let guest = f.member("gus").await;
    store
        .update_user(
            f.ws_id(),
            &guest.id,
            crate::store::UserPatch {
                role: Some(Role::Guest),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let guest = store.user(f.ws_id(), &guest.id).await.unwrap().unwrap();

    let secret = f.private_channel(&f.owner, "secret", &[&f.bob]).await;
    let dm = f.dm(&[&f.owner, &f.bob]).await;
    let group = f.dm(&[&f.owner, &f.bob, &f.cy]).await;
    let public = f.channel(&f.owner, "lobby", &[]).await;
    let foreign = other.channel(&other.owner, "general", &[]).await;
    f.post(&secret, &f.owner, "canaryprivate in the secret room")
        .await;
    f.post(&dm, &f.owner, "canarydm between two").await;
    f.post(&group, &f.owner, "canarygroup among three").await;
    f.post(&public, &f.owner, "canarypublic for everyone").await;
    other
        .post(&foreign, &other.owner, "canaryforeign next door")
        .await;

    let sees = |u: &User, q: &str| {
        let (f, u, q) = (&f, u.clone(), q.to_owned());
        async move { !find(f, &u, &q).await.is_empty() }
    };
    // Members see their own.
    assert!(sees(&f.bob, "canaryprivate").await);
    assert!(sees(&f.bob, "canarydm").await);
    assert!(sees(&f.cy, "canarygroup").await);
    // Everyone else, by word, prefix, filter or name, finds nothing.
    for q in [
        "canaryprivate",
        "canarypriv*",
        "in:#secret",
        "canarydm",
        "in:@bob",
        "canarygroup",
        "canaryforeign",
        "from:@ada",
    ] {
        let leaked: Vec<String> = find(&f, &dee, q)
            .await
            .into_iter()
            .filter(|t| !t.contains("canarypublic"))
            .collect();
        assert!(leaked.is_empty(), "dee found {leaked:?} with {q:?}");
    }
    assert!(!sees(&f.cy, "canaryprivate").await);
    assert!(!sees(&f.cy, "canarydm").await);
    assert!(!sees(&other.owner, "canarypublic").await);
    assert!(!sees(&other.owner, "canaryprivate").await);
    assert!(!sees(&f.owner, "canaryforeign").await);
    let foreign_author = format!("from:{}", other.owner.id);
    assert!(!sees(&f.owner, &foreign_author).await);
    let foreign_channel = format!("in:{}", foreign.id);
    assert!(!sees(&f.owner, &foreign_channel).await);
    let secret_by_id = format!("in:{}", secret.id);
    assert!(!sees(&dee, &secret_by_id).await);
    // Public channels are readable without joining, except by guests.
    assert!(sees(&dee, "canarypublic").await);
    assert!(!sees(&guest, "canarypublic").await);
    // Removal takes effect at once.
    store
        .remove_member(f.ws_id(), &secret.id, &f.bob.id)
        .await
        .unwrap();
    assert!(!sees(&f.bob, "canaryprivate").await);
    assert!(!sees(&f.bob, "in:#secret").await);
}

pub async fn snippets_mark_matches_and_escape_html(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    f.post(&c, &f.owner, "<script>alert(1)</script> deploying now")
        .await;
    let r = run(&f, &f.owner, "deploy", SearchSort::Relevance).await;
    assert_eq!(
        r.results[0].snippet,
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>deploying</mark> now"
    );
    let hit = &r.results[0].hit;
    assert_eq!(
        hit.channel_name.as_ref().map(|n| n.as_str()),
        Some("general")
    );
    assert_eq!(hit.author_handle, f.owner.handle);
}

pub async fn bad_queries_and_cursors_are_refused(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    f.post(&c, &f.owner, "x").await;
    let code = |q: &'static str, cursor: Option<&'static str>| {
        let f = &f;
        async move {
            let options = SearchOptions {
                query: q,
                sort: SearchSort::Recent,
                cursor,
                limit: None,
            };
            match search(&*f.store, &f.owner, options).await {
                Err(SearchError::Invalid(e)) => e.code,
                other => panic!("{q:?}: {other:?}"),
            }
        }
    };
    assert_eq!(code("\"open", None).await, "search_query_invalid");
    assert_eq!(code("on:someday", None).await, "search_date_invalid");
    assert_eq!(code("x", Some("bogus")).await, "invalid_cursor");
}

pub async fn everything_posted_is_indexed_without_a_backlog(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    post_all(&f, &c, &f.owner, &["one", "two"]).await;
    assert_eq!(store.index_search_backlog().await.unwrap(), 0);
    assert_eq!(find(&f, &f.owner, "two").await, ["two"]);
}
