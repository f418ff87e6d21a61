//! What `/app/<path>` answers, decided from the path and the built files alone.

use super::assets::Asset;

/// Vite names the files under `assets/` by their content's hash: a new build gives new
/// names, so a browser may keep these for good.
const HASHED_FOLDER: &str = "assets/";

#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// A built file, and how long a browser may keep it.
    File { asset: Asset, caching: Caching },
    /// The app was not built into this binary: a page saying how to build it.
    NotBuilt,
    /// A file name that is not among the built files.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Content-hashed: a year, never revalidated.
    Immutable,
    /// The entry page and unhashed files: revalidated on every use (by entity tag), so a
    /// deploy shows at once.
    Revalidate,
}

impl Caching {
    pub fn header(self) -> &'static str {
        match self {
            Self::Immutable => "public, max-age=31536000, immutable",
            Self::Revalidate => "no-cache",
        }
    }
}

/// The answer for `path` (what follows `/app/`). Paths without a file extension are the
/// app's own screens (`accounts/…`), which the entry page routes in the browser.
pub fn reply(path: &str, built: impl Fn(&str) -> Option<Asset>) -> Reply {
    let path = path.trim_start_matches('/');
    let is_screen = path.is_empty() || !last_segment(path).contains('.');
    if let Some(asset) = (!is_screen).then(|| built(path)).flatten() {
        let caching = if path.starts_with(HASHED_FOLDER) {
            Caching::Immutable
        } else {
            Caching::Revalidate
        };
        return Reply::File { asset, caching };
    }
    match built("index.html") {
        None => Reply::NotBuilt,
        Some(_) if !is_screen => Reply::NotFound,
        Some(asset) => Reply::File {
            asset,
            caching: Caching::Revalidate,
        },
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The page `/app/` answers in a build without the app.
pub const NOT_BUILT_PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
<title>Web app not built</title></head>\n<body>\n<h1>The web app is not part of this build</h1>\n\
<p>This api binary was compiled without the web app's files. Build them, then the api:</p>\n\
<pre>cargo xtask build       # the image: builds the web app first\n\
npm ci --prefix web &amp;&amp; npm run build --prefix web &amp;&amp; cargo build --package api</pre>\n\
<p>A debug build reads <code>web/dist</code> at run time: after <code>npm run build --prefix web</code>, \
reload this page.</p>\n</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::HashMap;

    use super::*;

    fn asset(body: &'static str) -> Asset {
        Asset {
            body: Cow::Borrowed(body.as_bytes()),
            content_type: "text/plain".to_owned(),
            hash: format!("hash-of-{body}"),
        }
    }

    fn built() -> impl Fn(&str) -> Option<Asset> {
        let files = HashMap::from([
            ("index.html", asset("entry page")),
            ("assets/index-4f2a9c.js", asset("script")),
            ("favicon.svg", asset("icon")),
        ]);
        move |path| files.get(path).cloned()
    }

    fn not_built() -> impl Fn(&str) -> Option<Asset> {
        |_| None
    }

    #[test]
    fn hashed_files_are_kept_for_good_and_the_rest_revalidated() {
        assert_eq!(
            reply("assets/index-4f2a9c.js", built()),
            Reply::File {
                asset: asset("script"),
                caching: Caching::Immutable
            }
        );
        assert_eq!(
            reply("favicon.svg", built()),
            Reply::File {
                asset: asset("icon"),
                caching: Caching::Revalidate
            }
        );
    }

    #[test]
    fn every_screen_gets_the_entry_page_to_route_in_the_browser() {
        for path in ["", "/", "accounts", "accounts/0b7e/statement", "sign-in/"] {
            assert_eq!(
                reply(path, built()),
                Reply::File {
                    asset: asset("entry page"),
                    caching: Caching::Revalidate
                },
                "{path:?}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_not_found_rather_than_the_entry_page() {
        // A stale page asking for an old build's script must not get HTML as JavaScript.
        assert_eq!(reply("assets/index-0000.js", built()), Reply::NotFound);
        assert_eq!(reply("robots.txt", built()), Reply::NotFound);
    }

    #[test]
    fn without_a_build_every_path_says_how_to_build() {
        for path in ["", "accounts", "assets/index-4f2a9c.js"] {
            assert_eq!(reply(path, not_built()), Reply::NotBuilt, "{path:?}");
        }
        assert!(NOT_BUILT_PAGE.contains("cargo xtask build"));
    }
}
