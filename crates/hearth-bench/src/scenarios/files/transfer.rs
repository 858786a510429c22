//! Upload and download throughput of one large file, the server's memory meanwhile, and
//! the same bytes through the filesystem alone (see the parent module).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::{FilesArgs, MIB, each, median, while_sampling};
use crate::api::{Account, Api};
use crate::generate::text::Rng;
use crate::server::Target;

/// The server's multipart part size, which the baseline writes in too.
const PART: usize = 5 * 1024 * 1024;
/// The baseline's read buffer.
const READ_BUFFER: usize = 64 * 1024;
/// Memory growth allowed whatever the file's size: three 5 MiB parts, and slack for
/// HTTP buffers and the allocator.
const GROWTH_FLOOR_KIB: u64 = 32 * 1024;
/// Problems kept verbatim for the report.
const KEPT_PROBLEMS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    pub size_bytes: u64,
    /// Each round's MiB/s.
    pub upload_mib_s: Vec<f64>,
    pub download_mib_s: Vec<f64>,
    pub baseline_write_mib_s: Vec<f64>,
    pub baseline_read_mib_s: Vec<f64>,
    /// Medians over the rounds, and ours / baseline of the medians.
    pub upload: f64,
    pub download: f64,
    pub baseline_write: f64,
    pub baseline_read: f64,
    pub upload_ratio: f64,
    pub download_ratio: f64,
    /// The server's RSS before the first transfer, and its peak during them: sampled, and
    /// its `VmHWM` after them (reset before them; `None` when it could not be).
    pub rss_before_kib: Option<u64>,
    pub peak_sampled_kib: Option<u64>,
    pub peak_hwm_kib: Option<u64>,
    /// Wrong sizes or hashes, and failed requests.
    pub problems: Vec<String>,
    /// Where the baseline wrote.
    pub baseline_dir: PathBuf,
}

impl TransferReport {
    /// The most the server's RSS grew over its starting point (either peak figure).
    pub fn growth_kib(&self) -> Option<u64> {
        let peak = self.peak_sampled_kib.max(self.peak_hwm_kib)?;
        Some(peak.saturating_sub(self.rss_before_kib?))
    }

    pub fn lines(&self) -> Vec<String> {
        let rounds = self.upload_mib_s.len();
        let mut lines = vec![
            format!(
                "files on hearth: a {:.0} MiB file of random bytes, {rounds} rounds, local disk; \
                 baseline in {}",
                self.size_bytes as f64 / MIB,
                self.baseline_dir.display()
            ),
            format!(
                "upload:   {:.1} MiB/s median {} | baseline (5 MiB writes and SHA-256 at once, rename, \
                 no fsync) {:.1} MiB/s {} | ours / baseline {:.2}x",
                self.upload,
                each(&self.upload_mib_s, 1),
                self.baseline_write,
                each(&self.baseline_write_mib_s, 1),
                self.upload_ratio
            ),
            format!(
                "download: {:.1} MiB/s median {} | baseline (64 KiB reads, SHA-256) \
                 {:.1} MiB/s {} | ours / baseline {:.2}x",
                self.download,
                each(&self.download_mib_s, 1),
                self.baseline_read,
                each(&self.baseline_read_mib_s, 1),
                self.download_ratio
            ),
        ];
        if let (Some(before), Some(growth)) = (self.rss_before_kib, self.growth_kib()) {
            lines.push(format!(
                "server RSS during the transfers: {:.1} MiB before, peak {:.1} MiB sampled \
                 every 20 ms, VmHWM {}: +{:.1} MiB for a {:.0} MiB file",
                before as f64 / 1024.0,
                self.peak_sampled_kib.unwrap_or_default() as f64 / 1024.0,
                self.peak_hwm_kib.map_or("unknown".to_owned(), |k| format!(
                    "{:.1} MiB",
                    k as f64 / 1024.0
                )),
                growth as f64 / 1024.0,
                self.size_bytes as f64 / MIB,
            ));
        }
        lines.push(match self.problems.is_empty() {
            true => "every download had the upload's size and SHA-256".to_owned(),
            false => format!("{} transfer problems", self.problems.len()),
        });
        lines.extend(self.problems.iter().map(|p| format!("  problem: {p}")));
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        let mut failures = self.problems.clone();
        let limit = (self.size_bytes / 1024 / 2).max(GROWTH_FLOOR_KIB);
        if let Some(growth) = self.growth_kib()
            && growth > limit
        {
            failures.push(format!(
                "the server's RSS grew {:.1} MiB moving a {:.0} MiB file (more than {:.0} MiB): \
                 is the file held in memory?",
                growth as f64 / 1024.0,
                self.size_bytes as f64 / MIB,
                limit as f64 / 1024.0
            ));
        }
        failures
    }
}

pub async fn run(
    target: &Target,
    api: &Api,
    owner: &Account,
    args: &FilesArgs,
) -> anyhow::Result<TransferReport> {
    let size = usize::try_from(args.size_mib * 1024 * 1024).context("--size-mib too large")?;
    let bytes = Bytes::from(random_bytes(size));
    let sha256 = Sha256::digest(&bytes).to_vec();
    let scratch = baseline_dir(target)?;
    let rss_before_kib = target.rss_kib();
    // From here `VmHWM` is the peak of the transfers alone, not of the server's start.
    let hwm_reset = target.reset_peak_rss();
    let mut report = TransferReport {
        size_bytes: size as u64,
        upload_mib_s: Vec::new(),
        download_mib_s: Vec::new(),
        baseline_write_mib_s: Vec::new(),
        baseline_read_mib_s: Vec::new(),
        upload: 0.0,
        download: 0.0,
        baseline_write: 0.0,
        baseline_read: 0.0,
        upload_ratio: 0.0,
        download_ratio: 0.0,
        rss_before_kib,
        peak_sampled_kib: None,
        peak_hwm_kib: None,
        problems: Vec::new(),
        baseline_dir: scratch.path().to_owned(),
    };
    for round in 0..args.rounds {
        // Alternate which side goes first, so neither always writes into a page cache the
        // other just filled.
        let baseline_first = round % 2 == 1;
        eprintln!(
            "round {}: {}",
            round + 1,
            match baseline_first {
                true => "the baseline, then upload and download",
                false => "upload and download, then the baseline",
            }
        );
        if baseline_first {
            baseline_round(&mut report, scratch.path(), round, &bytes, &sha256).await?;
        }
        if let Err(problem) =
            ours_round(&mut report, target, api, owner, round, &bytes, &sha256).await
        {
            report.note(format!("round {round}: {problem}"));
        }
        if !baseline_first {
            baseline_round(&mut report, scratch.path(), round, &bytes, &sha256).await?;
        }
    }
    if hwm_reset {
        report.peak_hwm_kib = target.memory().map(|m| m.peak_rss_kib);
    }
    report.upload = median(&report.upload_mib_s);
    report.download = median(&report.download_mib_s);
    report.baseline_write = median(&report.baseline_write_mib_s);
    report.baseline_read = median(&report.baseline_read_mib_s);
    report.upload_ratio = report.upload / report.baseline_write;
    report.download_ratio = report.download / report.baseline_read;
    Ok(report)
}

/// Uploads `bytes` and downloads them back, timing both and sampling the server's RSS;
/// the problem when a request fails or the bytes come back wrong.
async fn ours_round(
    report: &mut TransferReport,
    target: &Target,
    api: &Api,
    owner: &Account,
    round: usize,
    bytes: &Bytes,
    sha256: &[u8],
) -> Result<(), String> {
    let (size, mib) = (bytes.len() as u64, bytes.len() as f64 / MIB);
    let name = format!("random-{round}.bin");
    let started = Instant::now();
    let upload = api.upload_file(owner, &name, bytes.clone());
    let (uploaded, peak) = while_sampling(target, upload).await;
    let upload_s = started.elapsed().as_secs_f64();
    report.peak_sampled_kib = report.peak_sampled_kib.max(peak);
    let file = uploaded.map_err(|e| format!("{e:#}"))?;
    if file.size != size as i64 {
        return Err(format!("uploaded {size} bytes, recorded {}", file.size));
    }
    report.upload_mib_s.push(mib / upload_s);

    let started = Instant::now();
    let (downloaded, peak) = while_sampling(target, download(api, owner, &file.url)).await;
    let download_s = started.elapsed().as_secs_f64();
    report.peak_sampled_kib = report.peak_sampled_kib.max(peak);
    let (len, hash) = downloaded.map_err(|e| format!("{e:#}"))?;
    if len != size || hash != sha256 {
        return Err(format!(
            "downloaded {len} bytes (uploaded {size}) with {} SHA-256",
            if hash == sha256 {
                "the same"
            } else {
                "another"
            }
        ));
    }
    report.download_mib_s.push(mib / download_s);
    Ok(())
}

/// The baseline's round (see [`disk_round`]), added to the report.
async fn baseline_round(
    report: &mut TransferReport,
    dir: &Path,
    round: usize,
    bytes: &Bytes,
    sha256: &[u8],
) -> anyhow::Result<()> {
    let mib = bytes.len() as f64 / MIB;
    let (write_s, read_s, hash) = disk_round(dir, round, bytes.clone()).await?;
    anyhow::ensure!(
        hash == sha256,
        "the baseline read back other bytes than it wrote"
    );
    report.baseline_write_mib_s.push(mib / write_s);
    report.baseline_read_mib_s.push(mib / read_s);
    Ok(())
}

impl TransferReport {
    fn note(&mut self, problem: String) {
        if self.problems.len() < KEPT_PROBLEMS {
            self.problems.push(problem);
        }
    }
}

/// `size` pseudo-random bytes (SplitMix64, fixed seed): incompressible, so neither side
/// gains from a filesystem or a page cache that compresses.
fn random_bytes(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(0xF11E);
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// Streams the file at `path` and returns its length and SHA-256.
async fn download(api: &Api, reader: &Account, path: &str) -> anyhow::Result<(u64, Vec<u8>)> {
    let mut resp = api.get_path(reader, path).await?;
    let mut digest = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = resp.chunk().await.context("download interrupted")? {
        len += chunk.len() as u64;
        digest.update(&chunk);
    }
    Ok((len, digest.finalize().to_vec()))
}

/// A scratch directory for the baseline on the server's filesystem: inside its data
/// directory when we started it, the system's temporary directory otherwise.
fn baseline_dir(target: &Target) -> anyhow::Result<tempfile::TempDir> {
    let parent = target.data_dir().unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("bench-baseline-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a baseline directory in {}", parent.display()))
}

/// The baseline's round: `bytes` stored as the server's local storage stores an upload
/// (written to a staging file in 5 MiB writes, renamed into place, no fsync) while another
/// thread hashes them, as the server hashes an upload in the request's task while the
/// blocking pool writes; then read back in 64 KiB reads and hashed. The seconds each took,
/// and the hash read back.
async fn disk_round(dir: &Path, round: usize, bytes: Bytes) -> anyhow::Result<(f64, f64, Vec<u8>)> {
    let dest = dir.join(format!("baseline-{round}"));
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let staging = with_suffix(&dest, "#1");
        std::thread::scope(|scope| {
            let hashing = scope.spawn(|| Sha256::digest(&bytes));
            let mut file = std::fs::File::create_new(&staging)?;
            for part in bytes.chunks(PART) {
                file.write_all(part)?;
            }
            drop(file);
            std::fs::rename(&staging, &dest)?;
            hashing.join().expect("hashing panicked");
            anyhow::Ok(())
        })?;
        let write_s = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut file = std::fs::File::open(&dest)?;
        let mut digest = Sha256::new();
        let mut buffer = vec![0u8; READ_BUFFER];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            digest.update(&buffer[..n]);
        }
        let read_s = started.elapsed().as_secs_f64();
        std::fs::remove_file(&dest)?;
        anyhow::Ok((write_s, read_s, digest.finalize().to_vec()))
    })
    .await
    .context("the baseline panicked")?
}

/// `path` with `suffix` appended to its file name (`object_store`'s `NAME#1` staging file).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}
