//! Content images from the release's blobs, checked before they are decoded: a missing or
//! damaged file, an unknown type or an image too large to hold becomes a "cannot be shown"
//! box, never a failed page.

use protocol::items::MediaRef;
use slint::{Image, SharedString};

use super::Picture;
use crate::content::store::BlobStore;
use crate::mirror::Mirror;

/// Largest raster decoded: 4096 × 4096 pixels is 64 MB as RGBA, what a kiosk can spare.
const MAX_PIXELS: u64 = 4096 * 4096;
/// Largest file read (the release check bounds blobs too; this guards the kiosk alone).
const MAX_BYTES: u64 = 16 << 20;

/// Why an image is not shown; logged, while the visitor sees "此图片暂时无法显示".
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("{0}: not in the applied release")]
    NotInRelease(String),
    #[error("{0}: {1}")]
    Unreadable(String, String),
    #[error("{0}: {1} bytes, more than the kiosk shows")]
    TooLarge(String, u64),
    #[error("{0}: {1}×{2} pixels, more than the kiosk shows")]
    TooManyPixels(String, u32, u32),
    #[error("{0}: type {1} is not shown")]
    UnknownType(String, String),
}

fn raster_size(bytes: &[u8]) -> Result<(u32, u32), String> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .into_dimensions()
        .map_err(|e| e.to_string())
}

/// Loads one image of an item.
pub fn load(mirror: &Mirror, blobs: &BlobStore, media: &str) -> Result<(Image, f32), PictureError> {
    let row = mirror
        .media(media)
        .ok()
        .flatten()
        .ok_or_else(|| PictureError::NotInRelease(media.to_owned()))?;
    let path = blobs.path(&row.sha256);
    let unreadable = |e: String| PictureError::Unreadable(media.to_owned(), e);
    let size = std::fs::metadata(&path)
        .map_err(|e| unreadable(e.to_string()))?
        .len();
    if size > MAX_BYTES {
        return Err(PictureError::TooLarge(media.to_owned(), size));
    }
    let bytes = std::fs::read(&path).map_err(|e| unreadable(e.to_string()))?;
    // Blob files are named by their hash, without the extension Slint would go by: the
    // manifest's media type says what they hold.
    let format = match row.media_type.as_str() {
        "image/png" | "image/jpeg" => {
            let (w, h) = raster_size(&bytes).map_err(unreadable)?;
            if u64::from(w) * u64::from(h) > MAX_PIXELS {
                return Err(PictureError::TooManyPixels(media.to_owned(), w, h));
            }
            if row.media_type == "image/png" {
                "png"
            } else {
                "jpg"
            }
        }
        // Drawn at the size shown, so its declared size costs nothing.
        "image/svg+xml" => "svg",
        other => {
            return Err(PictureError::UnknownType(
                media.to_owned(),
                other.to_owned(),
            ));
        }
    };
    let image = Image::load_from_data(&bytes, Some(format))
        .map_err(|_| unreadable("cannot be decoded".into()))?;
    let shown = image.size();
    if shown.width == 0 || shown.height == 0 {
        return Err(PictureError::Unreadable(
            media.to_owned(),
            "no pixels".into(),
        ));
    }
    Ok((image, shown.height as f32 / shown.width as f32))
}

/// The pictures of an item, in order, each shown or marked missing.
pub fn pictures(mirror: &Mirror, blobs: &BlobStore, images: &[MediaRef]) -> Vec<Picture> {
    images
        .iter()
        .map(|r| {
            let caption = SharedString::from(r.caption.as_deref().unwrap_or_default());
            match load(mirror, blobs, &r.media) {
                Ok((image, aspect)) => Picture {
                    image,
                    caption,
                    missing: false,
                    aspect,
                },
                Err(e) => {
                    tracing::warn!(error = %e, "content image not shown");
                    Picture {
                        image: Image::default(),
                        caption,
                        missing: true,
                        aspect: 0.5,
                    }
                }
            }
        })
        .collect()
}
