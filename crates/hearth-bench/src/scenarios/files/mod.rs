//! `files`: upload and download throughput of a large file, the server's memory while it
//! moves, and the time an image's thumbnails add to its upload.
//!
//! The server is started on its default storage (`<data-dir>/files` on the local disk).
//! After the sign-up it is restarted, so its peak RSS (`VmHWM`) starts from a fresh
//! process rather than from what Argon2 left resident; a 1 KiB upload then warms it up, and
//! its RSS is taken as the starting point.
//!
//! **Transfers** ([`transfer`]): a buffer of `--size-mib` pseudo-random bytes is made once
//! (its SHA-256 too, untimed). Each of `--rounds` rounds uploads it as a raw body (sent
//! from the buffer, never copied) and times it to the `201`, then downloads it and times
//! it to the last byte, hashing it on the way (SHA-256). A download of another size or
//! hash than the upload, or an upload recorded with another size, makes the run unclean.
//! The server's RSS is read every 20 ms during both; the report gives the peak over the
//! starting point, from those samples and from `VmHWM` (which misses nothing). Uploads
//! stream into storage in 5 MiB parts, at most three held at once, so the growth must stay
//! under half the file (and under 32 MiB, those parts plus slack): more is a failure, the
//! sign that a file is being held whole.
//!
//! The baseline, in the same round (after ours in even rounds, before in odd ones): the
//! same bytes written the way the server's `object_store::LocalFileSystem` writes an
//! upload (to a staging file in 5 MiB writes, renamed into place, no fsync: the server
//! does not enable it), with the SHA-256 the server also computes hashed on another
//! thread meanwhile, as the server overlaps the two; then read back in 64 KiB reads with
//! a SHA-256, as the bench hashes our download. In the server's data directory, so on the
//! same filesystem. Figures are MiB/s (MiB = 2^20 bytes), the median of the rounds, and
//! ours / baseline.
//!
//! **Thumbnails** ([`thumbs`]): a photo-like JPEG of `--image-megapixels` (4:3; smooth
//! gradients and shapes plus sensor-like noise, so it compresses like a photo) is made in
//! the bench, and the same bytes with the JPEG signature overwritten, which the server
//! sniffs as `application/octet-stream`. Each is uploaded `--images` times, alternately.
//! An image upload includes reading the file back and making both thumbnails on the
//! blocking pool, so the thumbnail time is the median image upload minus the median
//! non-image upload. Each image upload must come back `image/jpeg` with the generated
//! width and height and a `thumb_url`; each other one `application/octet-stream` without
//! either. The 360 px and 64 px thumbnails of the first are fetched and must decode to
//! those widths. The baseline is the server's own thumbnail work done in this process
//! with the same `image` crate (decode, 360 px wide, 64 px from that, JPEG quality 80
//! both), the median of as many runs.

mod thumbs;
mod transfer;

use clap::Args;
use serde::Serialize;

use crate::api::{Api, Population};
use crate::server::{LogSummary, ProcessMemory, Target, server_lines};

pub use thumbs::ThumbReport;
pub use transfer::TransferReport;

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, Args)]
pub struct FilesArgs {
    /// The size of the file uploaded and downloaded, in MiB.
    #[arg(long, default_value_t = 100)]
    pub size_mib: u64,
    /// Times that file is uploaded and downloaded (and the baseline run).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Uploads of the generated photo, and as many of the same bytes not sniffed as an
    /// image.
    #[arg(long, default_value_t = 5)]
    pub images: usize,
    /// The generated photo's size in megapixels (4:3; 12 is 4000x3000).
    #[arg(long, default_value_t = 12.0)]
    pub image_megapixels: f64,
}

impl FilesArgs {
    /// `hearth serve` arguments: the upload limit raised when the file passes the
    /// default 100 MiB.
    pub fn server_args(&self) -> Vec<String> {
        match self.size_mib > 100 {
            true => vec!["--max-upload-mb".into(), self.size_mib.to_string()],
            false => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FilesReport {
    pub transfer: TransferReport,
    pub thumbs: ThumbReport,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

impl FilesReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.transfer.lines();
        lines.extend(self.thumbs.lines());
        lines.extend(server_lines(
            self.server_memory.as_ref(),
            self.server_log.as_ref(),
        ));
        lines.push(
            match self.failures().is_empty() {
                true => "every check passed: OK",
                false => "NOT CLEAN",
            }
            .to_owned(),
        );
        lines
    }

    /// Why the run is not clean; empty when it is.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = self.transfer.failures();
        failures.extend(self.thumbs.failures());
        failures
    }
}

pub async fn run(target: &mut Target, args: &FilesArgs) -> anyhow::Result<FilesReport> {
    anyhow::ensure!(!target.baseline, "files runs against Hearth");
    anyhow::ensure!(
        args.size_mib > 0 && args.rounds > 0 && args.images > 0 && args.image_megapixels > 0.0,
        "files needs a size, rounds, images and megapixels above zero"
    );
    let api = Api::new(&target.base_url)?;
    let owner = Population::create(&api, "files", 1).await?.owner().clone();
    target.restart().await?;
    let api = Api::new(&target.base_url)?;
    api.upload_file(&owner, "warm-up.bin", vec![7u8; 1024].into())
        .await?;
    let transfer = transfer::run(target, &api, &owner, args).await?;
    let thumbs = thumbs::run(target, &api, &owner, args).await?;
    Ok(FilesReport {
        transfer,
        thumbs,
        server_memory: target.memory(),
        server_log: target.log_summary(),
    })
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `[a, b, c]` with `decimals` decimals, for the figures behind a median.
fn each(values: &[f64], decimals: usize) -> String {
    let shown: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
    format!("[{}]", shown.join(", "))
}

/// The server's peak RSS while `work` runs: the highest of the samples taken every
/// [`SAMPLE_EVERY`] (and right before and after), in KiB; `None` for a server whose
/// process we do not know.
pub async fn while_sampling<T>(target: &Target, work: impl Future<Output = T>) -> (T, Option<u64>) {
    let mut peak = target.rss_kib();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut work = std::pin::pin!(work);
    let out = loop {
        tokio::select! {
            out = &mut work => break out,
            _ = tick.tick() => peak = peak.max(target.rss_kib()),
        }
    };
    (out, peak.max(target.rss_kib()))
}

/// How often the server's RSS is read during a transfer.
const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(each(&[1.0, 2.25], 1), "[1.0, 2.2]");
    }
}
