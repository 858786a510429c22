//! The time thumbnails add to an image's upload, against the same work in this process
//! (see the parent module).

use std::io::Cursor;

use anyhow::Context;
use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use serde::Serialize;
use tokio::time::Instant;

use super::{FilesArgs, each, median, while_sampling};
use crate::api::{Account, Api};
use crate::generate::text::Rng;
use crate::server::Target;

/// The server's thumbnail widths and JPEG quality (hearth-server `files::thumbnail`).
const LARGE_WIDTH: u32 = 360;
const SMALL_WIDTH: u32 = 64;
const THUMB_QUALITY: u8 = 80;
/// The generated photo's quality, a camera's usual setting.
const PHOTO_QUALITY: u8 = 90;
/// Overwrites the JPEG signature so the server sniffs the bytes as nothing it knows.
const NOT_AN_IMAGE: &[u8; 4] = b"HBNI";
const OCTET_STREAM: &str = "application/octet-stream";
/// Problems kept verbatim for the report.
const KEPT_PROBLEMS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct ThumbReport {
    pub width: u32,
    pub height: u32,
    pub jpeg_bytes: usize,
    /// Each upload's milliseconds, in order.
    pub image_upload_ms: Vec<f64>,
    pub other_upload_ms: Vec<f64>,
    /// Each in-process run's milliseconds.
    pub baseline_ms: Vec<f64>,
    /// Median image upload minus median non-image upload.
    pub thumbnail_ms: f64,
    pub baseline_median_ms: f64,
    /// `thumbnail_ms` over the baseline's median.
    pub ratio: f64,
    /// The server's RSS before the uploads, and its peak during them: sampled every
    /// 20 ms, and its `VmHWM` (reset before them).
    pub rss_before_kib: Option<u64>,
    pub peak_sampled_kib: Option<u64>,
    pub peak_hwm_kib: Option<u64>,
    /// Wrong answers and failed requests.
    pub problems: Vec<String>,
}

impl ThumbReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "thumbnails of a {:.1}-megapixel JPEG ({}x{}, {:.2} MB), {} uploads \
                 alternating with as many of the same bytes not sniffed as an image",
                f64::from(self.width) * f64::from(self.height) / 1e6,
                self.width,
                self.height,
                self.jpeg_bytes as f64 / 1e6,
                self.image_upload_ms.len()
            ),
            format!(
                "image upload {:.1} ms median {} | other upload {:.1} ms median {} | \
                 thumbnails {:.1} ms",
                median(&self.image_upload_ms),
                each(&self.image_upload_ms, 1),
                median(&self.other_upload_ms),
                each(&self.other_upload_ms, 1),
                self.thumbnail_ms
            ),
            format!(
                "baseline (decode, {LARGE_WIDTH} and {SMALL_WIDTH} px, JPEG q{THUMB_QUALITY}, \
                 in this process): {:.1} ms median {} | ours / baseline {:.2}x",
                self.baseline_median_ms,
                each(&self.baseline_ms, 1),
                self.ratio
            ),
        ];
        if let (Some(before), Some(peak)) = (self.rss_before_kib, self.peak_sampled_kib) {
            let peak = peak.max(self.peak_hwm_kib.unwrap_or_default());
            lines.push(format!(
                "server RSS during the uploads: {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB)",
                before as f64 / 1024.0,
                peak as f64 / 1024.0,
                peak.saturating_sub(before) as f64 / 1024.0
            ));
        }
        lines.extend(self.problems.iter().map(|p| format!("  problem: {p}")));
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        self.problems.clone()
    }

    fn note(&mut self, problem: String) {
        if self.problems.len() < KEPT_PROBLEMS {
            self.problems.push(problem);
        }
    }
}

pub async fn run(
    target: &Target,
    api: &Api,
    owner: &Account,
    args: &FilesArgs,
) -> anyhow::Result<ThumbReport> {
    let width = (args.image_megapixels * 1e6 * 4.0 / 3.0).sqrt().round() as u32;
    let height = (f64::from(width) * 3.0 / 4.0).round() as u32;
    eprintln!("making a {width}x{height} photo-like JPEG");
    let jpeg = tokio::task::spawn_blocking(move || photo(width, height)).await??;
    let mut other = jpeg.clone();
    other[..NOT_AN_IMAGE.len()].copy_from_slice(NOT_AN_IMAGE);
    let (jpeg, other) = (Bytes::from(jpeg), Bytes::from(other));
    let mut report = ThumbReport {
        width,
        height,
        jpeg_bytes: jpeg.len(),
        image_upload_ms: Vec::new(),
        other_upload_ms: Vec::new(),
        baseline_ms: Vec::new(),
        thumbnail_ms: 0.0,
        baseline_median_ms: 0.0,
        ratio: 0.0,
        rss_before_kib: target.rss_kib(),
        peak_sampled_kib: None,
        peak_hwm_kib: None,
        problems: Vec::new(),
    };
    let hwm_reset = target.reset_peak_rss();
    let mut first_image = None;
    eprintln!("uploading it {} times, and the other bytes", args.images);
    for i in 0..args.images {
        for is_image in [true, false] {
            let (name, bytes) = match is_image {
                true => (format!("photo-{i}.jpg"), jpeg.clone()),
                false => (format!("other-{i}.jpg"), other.clone()),
            };
            let started = Instant::now();
            let (uploaded, peak) =
                while_sampling(target, api.upload_file(owner, &name, bytes)).await;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            report.peak_sampled_kib = report.peak_sampled_kib.max(peak);
            let file = match uploaded {
                Ok(file) => file,
                Err(e) => {
                    report.note(format!("{name}: {e:#}"));
                    continue;
                }
            };
            if let Err(why) = check(&file, is_image, width, height) {
                report.note(format!("{name}: {why}"));
            }
            match is_image {
                true => report.image_upload_ms.push(ms),
                false => report.other_upload_ms.push(ms),
            }
            if is_image && first_image.is_none() {
                first_image = file.thumb_url;
            }
        }
    }
    if hwm_reset {
        report.peak_hwm_kib = target.memory().map(|m| m.peak_rss_kib);
    }
    match first_image {
        Some(url) => {
            for (query, want) in [("", LARGE_WIDTH), ("?size=64", SMALL_WIDTH)] {
                let want = want.min(width);
                match thumbnail_width(api, owner, &format!("{url}{query}")).await {
                    Ok(got) if got == want => {}
                    Ok(got) => {
                        report.note(format!("thumbnail{query} is {got} px wide, not {want}"))
                    }
                    Err(e) => report.note(format!("thumbnail{query}: {e:#}")),
                }
            }
        }
        None => report.note("no image upload came back with a thumbnail".to_owned()),
    }

    eprintln!(
        "baseline: the same thumbnails {} times in this process",
        args.images
    );
    for _ in 0..args.images {
        let jpeg = jpeg.clone();
        let ms = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            server_thumbnails(&jpeg)?;
            anyhow::Ok(started.elapsed().as_secs_f64() * 1e3)
        })
        .await??;
        report.baseline_ms.push(ms);
    }
    report.thumbnail_ms = median(&report.image_upload_ms) - median(&report.other_upload_ms);
    report.baseline_median_ms = median(&report.baseline_ms);
    report.ratio = report.thumbnail_ms / report.baseline_median_ms;
    Ok(report)
}

/// Whether an upload came back as it should: the photo as a JPEG of its size with a
/// thumbnail, the other bytes as opaque bytes without either.
fn check(file: &hearth_proto::File, is_image: bool, width: u32, height: u32) -> Result<(), String> {
    let seen = format!(
        "{} {:?}x{:?} thumb_url {:?}",
        file.mime_type, file.width, file.height, file.thumb_url
    );
    let right = match is_image {
        true => {
            file.mime_type == "image/jpeg"
                && file.width == Some(width)
                && file.height == Some(height)
                && file.thumb_url.is_some()
        }
        false => {
            file.mime_type == OCTET_STREAM
                && file.width.is_none()
                && file.height.is_none()
                && file.thumb_url.is_none()
        }
    };
    match right {
        true => Ok(()),
        false => Err(format!("came back as {seen}")),
    }
}

/// The width of the thumbnail at `path`, decoded.
async fn thumbnail_width(api: &Api, reader: &Account, path: &str) -> anyhow::Result<u32> {
    let bytes = api.get_path(reader, path).await?.bytes().await?;
    let image = image::load_from_memory(&bytes).context("the thumbnail does not decode")?;
    Ok(image.width())
}

/// A photo-like JPEG: smooth colour gradients and soft shapes, as a scene has, under
/// per-pixel noise, as a sensor adds. Noise is what makes a photo's JPEG large; without it
/// the file would be a fraction of a real photo's size and decode faster.
fn photo(width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let mut rng = Rng::new(0xF070);
    let (w, h) = (f64::from(width), f64::from(height));
    let image = RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (f64::from(x) / w, f64::from(y) / h);
        let shape = ((u * 9.0).sin() * (v * 7.0).cos() + (u * v * 23.0).sin()) * 40.0;
        let base = [
            40.0 + 160.0 * u + shape,
            60.0 + 140.0 * v - shape * 0.5,
            120.0 + 60.0 * (u - v) + shape * 0.8,
        ];
        let mut noise = rng.next_u64();
        image::Rgb(base.map(|c| {
            let n = f64::from((noise & 0x0F) as u8) - 8.0;
            noise >>= 4;
            (c + n).clamp(0.0, 255.0) as u8
        }))
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, PHOTO_QUALITY).encode_image(&image)?;
    Ok(out)
}

/// What the server's thumbnailer does with a JPEG, done here: decode (with its limits),
/// apply the orientation, scale to 360 px wide and from that to 64, encode both as JPEG
/// at quality 80. Returns the two thumbnails' sizes in bytes.
fn server_thumbnails(jpeg: &[u8]) -> anyhow::Result<(usize, usize)> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(jpeg), ImageFormat::Jpeg);
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let large = image.thumbnail(LARGE_WIDTH.min(width), (LARGE_WIDTH * 4).min(height));
    let small = large.thumbnail(SMALL_WIDTH.min(width), (SMALL_WIDTH * 4).min(height));
    let encode = |image: &DynamicImage| {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY).encode_image(&image.to_rgb8())?;
        anyhow::Ok(out.len())
    };
    Ok((encode(&large)?, encode(&small)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_photo_decodes_and_thumbnails_as_the_server_would() {
        let jpeg = photo(400, 300).unwrap();
        let image = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((image.width(), image.height()), (400, 300));
        let (large, small) = server_thumbnails(&jpeg).unwrap();
        assert!(large > small && small > 0, "{large} {small}");
    }
}
