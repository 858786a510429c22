//! Progress bars for the long phases of a run (sign-ups, connecting, sending, filling),
//! drawn on stderr when it is a terminal; on anything else (CI logs, a pipe) they draw
//! nothing and the run prints its plain summary lines only.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `what`, hidden unless stderr is a terminal.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>12} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

/// Whether bars are being drawn (so plain progress lines would only be noise).
pub fn drawn(bar: &ProgressBar) -> bool {
    !bar.is_hidden()
}
