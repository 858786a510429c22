//! Thumbnails of uploaded images: 360 and 64 pixels wide, re-encoded from decoded pixels.
//!
//! Only the inline-safe raster formats are decoded (JPEG, PNG, GIF's first frame, WebP),
//! with the pure-Rust decoders of the `image` crate. Decoding is CPU-bound and may need
//! hundreds of MiB, so it runs on Tokio's blocking pool behind a semaphore: at most
//! `max_concurrent` decodes at once, the others wait their turn.
//!
//! Untrusted input, so: the dimensions are read from the header and checked before any
//! pixel buffer is allocated ([`MAX_PIXELS`], [`MAX_SIDE`]); the decoder gets the same
//! limits and an allocation cap; a corrupt or truncated image (the JPEG decoder would
//! paint a cut-off file's rest grey: [`jpeg_end`] checks first that it is whole), or a
//! decoder that panics, is [`ThumbError::Undecodable`] (the upload stays; it just has no thumbnail).
//! Re-encoding drops every piece of metadata (EXIF, GPS, comments); the EXIF orientation
//! is applied to the pixels first, so thumbnails and the reported size are upright.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

/// The largest image decoded, in pixels: a 12-megapixel photo fits four times over.
pub const MAX_PIXELS: u64 = 50_000_000;
/// The longest side decoded, in pixels.
pub const MAX_SIDE: u32 = 20_000;
/// The decoder's allocation cap.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// The widths of the two thumbnails. A thumbnail is never taller than four times its
/// width (a tall strip is scaled to fit that box), and never larger than the original.
pub const LARGE_WIDTH: u32 = 360;
pub const SMALL_WIDTH: u32 = 64;

const JPEG_QUALITY: u8 = 80;

/// Makes thumbnails, a bounded number at a time.
#[derive(Debug, Clone)]
pub struct Thumbnailer {
    /// One permit per decode allowed at once. A permit moves into the blocking task, so a
    /// caller that gives up waiting does not free a slot while its decode still runs.
    permits: Arc<Semaphore>,
    /// Decodes running now, and the most that ever ran at once (tests check the limit).
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// Both thumbnails of an image, and the image's own size.
#[derive(Debug, Clone)]
pub struct Thumbnails {
    /// The original's width, upright (after the EXIF orientation).
    pub width: u32,
    /// The original's height, upright.
    pub height: u32,
    /// At most [`LARGE_WIDTH`] pixels wide.
    pub large: Bytes,
    /// At most [`SMALL_WIDTH`] pixels wide.
    pub small: Bytes,
    /// The type of both thumbnails: `image/jpeg`, or `image/png` when the image has
    /// transparency.
    pub mime_type: &'static str,
}

/// Why an image has no thumbnail.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThumbError {
    /// Too many pixels or too long a side: refused before decoding.
    #[error("the image is too large to decode")]
    TooLarge,
    /// Corrupt, truncated, or something the decoder could not handle.
    #[error("the image cannot be decoded")]
    Undecodable,
}

impl Thumbnailer {
    /// A thumbnailer running at most `max_concurrent` decodes at once (at least one).
    pub fn new(max_concurrent: usize) -> Thumbnailer {
        Thumbnailer {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            running: Arc::default(),
            peak: Arc::default(),
        }
    }

    /// Whether files of this sniffed type get thumbnails (JPEG, PNG, GIF and WebP).
    pub fn decodes(mime: &str) -> bool {
        image_format(mime).is_some()
    }

    /// The thumbnails of `bytes`, a file whose sniffed type is `mime`; `None` when that is
    /// not an image type that gets thumbnails.
    pub async fn make(&self, bytes: Bytes, mime: &str) -> Result<Option<Thumbnails>, ThumbError> {
        let Some(format) = image_format(mime) else {
            return Ok(None);
        };
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let running = self.running.clone();
        let peak = self.peak.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // A decoder bug must not take the server down: a panic is one more
            // undecodable image.
            let made = catch_unwind(AssertUnwindSafe(|| thumbnails(&bytes, format)))
                .unwrap_or(Err(ThumbError::Undecodable));
            running.fetch_sub(1, Ordering::SeqCst);
            made
        });
        match task.await {
            Ok(made) => made.map(Some),
            Err(_) => Err(ThumbError::Undecodable),
        }
    }

    /// The most decodes that ever ran at once.
    #[cfg(test)]
    fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

fn image_format(mime: &str) -> Option<ImageFormat> {
    match mime {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes, checks, orients, scales and re-encodes; runs on the blocking pool.
fn thumbnails(bytes: &[u8], format: ImageFormat) -> Result<Thumbnails, ThumbError> {
    let image = decode_upright(bytes, format)?;
    let (width, height) = (image.width(), image.height());
    let large = image.thumbnail(LARGE_WIDTH.min(width), (LARGE_WIDTH * 4).min(height));
    // From the large one: scaling 4000 pixels down to 64 costs as much as to 360.
    let small = large.thumbnail(SMALL_WIDTH.min(width), (SMALL_WIDTH * 4).min(height));
    let transparent = has_transparency(&large);
    let encode = if transparent { encode_png } else { encode_jpeg };
    Ok(Thumbnails {
        width,
        height,
        large: encode(&large)?,
        small: encode(&small)?,
        mime_type: if transparent {
            "image/png"
        } else {
            "image/jpeg"
        },
    })
}

fn decode_upright(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, ThumbError> {
    if format == ImageFormat::Jpeg && !jpeg_end::reaches_end(bytes) {
        return Err(ThumbError::Undecodable);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    // Creating the decoder reads the header only; the limits already apply there.
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ThumbError::TooLarge);
    }
    if width == 0 || height == 0 {
        return Err(ThumbError::Undecodable);
    }
    // A broken EXIF block is no reason to drop the picture: take it as upright.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Limits the decoder itself enforces count as too large; anything else is undecodable.
fn undecodable(error: ImageError) -> ThumbError {
    match error {
        ImageError::Limits(_) => ThumbError::TooLarge,
        _ => ThumbError::Undecodable,
    }
}

fn has_transparency(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.to_rgba8().pixels().any(|pixel| pixel.0[3] < u8::MAX)
}

fn encode_jpeg(image: &DynamicImage) -> Result<Bytes, ThumbError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&image.to_rgb8())
        .map_err(|_| ThumbError::Undecodable)?;
    Ok(out.into())
}

fn encode_png(image: &DynamicImage) -> Result<Bytes, ThumbError> {
    let mut out = Cursor::new(Vec::new());
    image
        .to_rgba8()
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|_| ThumbError::Undecodable)?;
    Ok(out.into_inner().into())
}

mod jpeg_end;

#[cfg(test)]
mod tests;
