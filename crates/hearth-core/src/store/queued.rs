//! [`QueuedPost`]: a post the store has taken, in order, whose commit is still ahead.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::{Posted, StoreResult};

/// The commit of a post, as the store hands it back.
type Commit = Pin<Box<dyn Future<Output = StoreResult<Posted>> + Send>>;

/// A post the store has taken and placed after every post taken before it, not yet
/// committed (see [`super::Store::queue_post`]). Awaiting it gives what
/// [`super::Store::post_message`] gives: the post once committed, or why it was refused
/// or could not be committed.
///
/// Dropping it does not withdraw the post: it is committed all the same, and only the
/// answer goes unheard, as with a cancelled `post_message`.
#[must_use = "the post's outcome (refused, committed) is known only by awaiting it"]
pub struct QueuedPost(Commit);

impl QueuedPost {
    /// The commit still to come, as the backend waits for it.
    pub fn new(commit: impl Future<Output = StoreResult<Posted>> + Send + 'static) -> Self {
        Self(Box::pin(commit))
    }

    /// An outcome known already (a post the store answered without queueing it).
    pub fn ready(outcome: StoreResult<Posted>) -> Self {
        Self::new(std::future::ready(outcome))
    }
}

impl IntoFuture for QueuedPost {
    type Output = StoreResult<Posted>;
    type IntoFuture = Commit;

    fn into_future(self) -> Commit {
        self.0
    }
}

impl fmt::Debug for QueuedPost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueuedPost")
    }
}
