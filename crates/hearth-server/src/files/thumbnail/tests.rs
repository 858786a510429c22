//! Thumbnails of images made in the test: sizes, transparency, orientation, animated GIFs,
//! and the refusals (decompression bombs, truncated files), plus the concurrency limit.

use image::codecs::gif::GifEncoder;
use image::codecs::webp::WebPEncoder;
use image::{Frame, GenericImageView, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

/// A photo-like picture: gradients with some noise, so the JPEG is not trivially small.
fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23;
        Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            (((x + y) % 256) as u8).wrapping_add(noise as u8),
        ])
    })
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(image)
        .unwrap();
    out
}

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn decoded(bytes: &Bytes) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

async fn make(bytes: Vec<u8>, mime: &str) -> Result<Option<Thumbnails>, ThumbError> {
    Thumbnailer::new(2).make(bytes.into(), mime).await
}

#[tokio::test]
async fn a_twelve_megapixel_photo_gets_both_widths_with_its_aspect() {
    let thumbs = make(jpeg(&photo(4000, 3000)), "image/jpeg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((thumbs.width, thumbs.height), (4000, 3000));
    assert_eq!(thumbs.mime_type, "image/jpeg");
    assert_eq!(
        image::guess_format(&thumbs.large).unwrap(),
        ImageFormat::Jpeg
    );
    assert_eq!(decoded(&thumbs.large).dimensions(), (360, 270));
    assert_eq!(decoded(&thumbs.small).dimensions(), (64, 48));
}

#[tokio::test]
async fn small_images_are_never_upscaled_and_tall_ones_fit_a_box() {
    let thumbs = make(jpeg(&photo(100, 50)), "image/jpeg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decoded(&thumbs.large).dimensions(), (100, 50));
    assert_eq!(decoded(&thumbs.small).dimensions(), (64, 32));

    let strip = make(jpeg(&photo(400, 8000)), "image/jpeg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decoded(&strip.large).dimensions(), (72, 1440));
}

#[tokio::test]
async fn transparent_png_keeps_its_alpha_in_png_thumbnails() {
    let image = RgbaImage::from_fn(800, 400, |x, _| {
        Rgba([200, 30, 30, if x < 400 { 0 } else { 255 }])
    });
    let thumbs = make(png(&image.into()), "image/png")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thumbs.mime_type, "image/png");
    let large = decoded(&thumbs.large);
    assert_eq!(large.dimensions(), (360, 180));
    assert_eq!(
        large.get_pixel(10, 90).0[3],
        0,
        "the left half stays transparent"
    );
    assert_eq!(large.get_pixel(350, 90).0[3], 255);

    // An alpha channel that is opaque everywhere gives the smaller JPEG.
    let opaque = RgbaImage::from_pixel(50, 50, Rgba([1, 2, 3, 255]));
    let thumbs = make(png(&opaque.into()), "image/png")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thumbs.mime_type, "image/jpeg");
}

#[tokio::test]
async fn animated_gif_uses_its_first_frame() {
    let mut gif = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut gif);
        let red = RgbaImage::from_pixel(120, 60, Rgba([255, 0, 0, 255]));
        let blue = RgbaImage::from_pixel(120, 60, Rgba([0, 0, 255, 255]));
        encoder
            .encode_frames([Frame::new(red), Frame::new(blue)])
            .unwrap();
    }
    let thumbs = make(gif, "image/gif").await.unwrap().unwrap();
    assert_eq!((thumbs.width, thumbs.height), (120, 60));
    let pixel = decoded(&thumbs.small).to_rgb8().get_pixel(10, 10).0;
    assert!(
        pixel[0] > 200 && pixel[2] < 50,
        "not the red first frame: {pixel:?}"
    );
}

#[tokio::test]
async fn webp_gets_thumbnails() {
    let image = photo(720, 360);
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .write_image(image.as_raw(), 720, 360, image::ExtendedColorType::Rgb8)
        .unwrap();
    let thumbs = make(webp, "image/webp").await.unwrap().unwrap();
    assert_eq!((thumbs.width, thumbs.height), (720, 360));
    assert_eq!(decoded(&thumbs.large).dimensions(), (360, 180));
}

/// An APP1 segment whose EXIF says orientation 6: the camera was turned, display the
/// pixels rotated 90° clockwise.
fn exif_orientation_6() -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // big-endian, first IFD at offset 8
    tiff.extend_from_slice(&[0, 1]); // one entry
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation, SHORT, 6
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

#[tokio::test]
async fn exif_orientation_is_applied_and_dropped() {
    let sideways = jpeg(&photo(400, 200));
    // Right after the start-of-image marker.
    let mut rotated = sideways[..2].to_vec();
    rotated.extend_from_slice(&exif_orientation_6());
    rotated.extend_from_slice(&sideways[2..]);

    let thumbs = make(rotated, "image/jpeg").await.unwrap().unwrap();
    assert_eq!((thumbs.width, thumbs.height), (200, 400));
    assert_eq!(decoded(&thumbs.large).dimensions(), (200, 400));
    assert_eq!(decoded(&thumbs.small).dimensions(), (64, 128));
    let exif = b"Exif\0\0";
    assert!(
        !thumbs.large.windows(exif.len()).any(|w| w == exif),
        "metadata kept"
    );
}

/// The CRC-32 of PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A few dozen bytes that claim a `width` x `height` RGB picture: a decompression bomb's
/// header, with a token IDAT (zlib of nothing) behind it.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[tokio::test]
async fn decompression_bombs_are_refused_from_the_header() {
    // The header is read the same way as for real images: a small one passes it.
    assert_eq!(
        make(png_claiming(10, 10), "image/png").await.unwrap_err(),
        ThumbError::Undecodable
    );
    for (width, height) in [(20_000, 20_000), (8_000, 8_000), (30_000, 10), (10, 30_000)] {
        assert_eq!(
            make(png_claiming(width, height), "image/png")
                .await
                .unwrap_err(),
            ThumbError::TooLarge,
            "{width}x{height}"
        );
    }
}

#[tokio::test]
async fn truncated_and_garbage_images_are_undecodable() {
    let whole = jpeg(&photo(800, 600));
    let half = whole[..whole.len() / 2].to_vec();
    assert_eq!(
        make(half, "image/jpeg").await.unwrap_err(),
        ThumbError::Undecodable
    );
    assert_eq!(
        make(b"\xff\xd8\xff garbage".to_vec(), "image/jpeg")
            .await
            .unwrap_err(),
        ThumbError::Undecodable
    );
    let png = png(&photo(300, 300).into());
    assert_eq!(
        make(png[..png.len() - 100].to_vec(), "image/png")
            .await
            .unwrap_err(),
        ThumbError::Undecodable
    );
}

#[tokio::test]
async fn other_types_get_no_thumbnail() {
    for mime in [
        "application/pdf",
        "image/svg+xml",
        "text/plain; charset=utf-8",
    ] {
        assert!(make(b"whatever".to_vec(), mime).await.unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_concurrent_decodes_run_at_once() {
    let thumbnailer = Thumbnailer::new(1);
    let image = Bytes::from(jpeg(&photo(1600, 1200)));
    let calls = (0..4).map(|_| thumbnailer.make(image.clone(), "image/jpeg"));
    for made in futures::future::join_all(calls).await {
        assert!(made.unwrap().is_some());
    }
    assert_eq!(thumbnailer.peak_concurrency(), 1);
}

/// Not a test: how long one 12-megapixel JPEG takes, for the report. Run with
/// `cargo test --release -p hearth-server --lib files::thumbnail -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn measure_a_twelve_megapixel_jpeg() {
    let image = Bytes::from(jpeg(&photo(4000, 3000)));
    let thumbnailer = Thumbnailer::new(1);
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        thumbnailer.make(image.clone(), "image/jpeg").await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "thumbnails of a 4000x3000 JPEG ({} KiB): median {:?} of {times:?}",
        image.len() / 1024,
        times[2]
    );
}
