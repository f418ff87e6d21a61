//! The web app's built files (`web/dist`, made by `npm run build` in `web/`), embedded in
//! release builds so the image stays one binary. Debug builds read the folder at run time,
//! so a rebuilt app shows without recompiling the api. A build without the folder embeds
//! nothing, and `/app/` then says how to build it (see `reply`).

use std::borrow::Cow;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web/dist/"]
#[allow_missing = true]
struct Built;

/// One built file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: String,
    /// The SHA-256 of the content, hex: the entity tag.
    pub hash: String,
}

/// The built file at `path` (relative to `web/dist`), if there is one.
pub fn built(path: &str) -> Option<Asset> {
    let file = Built::get(path)?;
    Some(Asset {
        content_type: file.metadata.mimetype().to_owned(),
        hash: file
            .metadata
            .sha256_hash()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
        body: file.data,
    })
}
