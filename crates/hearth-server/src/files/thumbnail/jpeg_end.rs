//! Whether a JPEG file is whole: its segments lead to the end-of-image marker.
//!
//! The JPEG decoder is lenient, as browsers are: a file cut off half-way decodes, the
//! missing half painted grey. An upload cut off like that should get no thumbnail rather
//! than a half-grey one, so the structure is walked first: marker segments by their
//! lengths, entropy-coded data (where a real marker is `FF` followed by anything but
//! `00`, the stuffing, or `D0`-`D7`, the restart markers) byte by byte, until `FF D9`.
//! Anything after the end marker (a phone's "motion photo" video) is fine.

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

/// True when `data` is a JPEG whose structure reaches its end-of-image marker.
pub(super) fn reaches_end(data: &[u8]) -> bool {
    if !data.starts_with(&[0xFF, SOI]) {
        return false;
    }
    let mut at = 2;
    loop {
        // Lenient about stray bytes between segments, as the decoder is.
        let Some(offset) = data
            .get(at..)
            .and_then(|rest| rest.iter().position(|&byte| byte == 0xFF))
        else {
            return false;
        };
        at += offset;
        // Any number of 0xFF fill bytes may precede a marker.
        while data.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = data.get(at) else {
            return false;
        };
        at += 1;
        match marker {
            EOI => return true,
            // Standalone markers: no length.
            0x01 | 0xD0..=0xD7 => {}
            _ => {
                let Some(length) = data.get(at..at + 2) else {
                    return false;
                };
                at += usize::from(u16::from_be_bytes([length[0], length[1]]));
                if marker == SOS {
                    match entropy_coded_end(data, at) {
                        Some(next_marker) => at = next_marker,
                        None => return false,
                    }
                }
            }
        }
    }
}

/// Where the entropy-coded data starting at `from` ends: the `FF` of the next marker.
fn entropy_coded_end(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    rest.windows(2)
        .position(|pair| pair[0] == 0xFF && !matches!(pair[1], 0x00 | 0xD0..=0xD7 | 0xFF))
        .map(|offset| from + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an APP1 holding a whole embedded JPEG (its own FF D9), a tiny SOS with stuffed
    /// and restart bytes, EOI.
    fn minimal() -> Vec<u8> {
        let mut jpeg = vec![0xFF, SOI];
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x08, 0xFF, SOI, 0xFF, EOI, 0x00, 0x00]);
        jpeg.extend_from_slice(&[0xFF, SOS, 0x00, 0x04, 0x01, 0x02]);
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56]);
        jpeg.extend_from_slice(&[0xFF, EOI]);
        jpeg
    }

    #[test]
    fn whole_files_reach_the_end_even_with_data_after_it() {
        assert!(reaches_end(&minimal()));
        let mut motion_photo = minimal();
        motion_photo.extend_from_slice(b"\0\0\0\x18ftypmp42 trailing video");
        assert!(reaches_end(&motion_photo));
    }

    #[test]
    fn every_cut_before_the_end_marker_is_seen() {
        let whole = minimal();
        for cut in 0..whole.len() {
            assert!(!reaches_end(&whole[..cut]), "cut at {cut}");
        }
        assert!(!reaches_end(b"GIF89a"));
    }
}
