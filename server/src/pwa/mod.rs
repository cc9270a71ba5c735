//! The installable app: the service worker (generated per build from the
//! hashed asset names cargo-leptos writes to `hash.txt`) and the offline page.

use std::{path::PathBuf, sync::OnceLock};

use axum::{
    http::header,
    response::{Html, IntoResponse},
};

/// `hash.txt` sits next to the server binary (where cargo-leptos puts it and
/// where Leptos reads it); Docker images copy it there too.
pub fn hash_file() -> Option<PathBuf> {
    let path = std::env::current_exe().ok()?.parent()?.join("hash.txt");
    path.exists().then_some(path)
}

/// The built assets: a version that changes with them, and their URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assets {
    pub version: String,
    pub files: Vec<String>,
}

/// From `hash.txt` lines such as `wasm: 1a2b…`; without one (a build
/// without hashing), the plain names and a per-start version.
pub fn assets_from(hashes: Option<&str>) -> Assets {
    let mut version = String::new();
    let mut files = Vec::new();
    if let Some(text) = hashes {
        for line in text.lines() {
            if let Some((kind, hash)) = line.split_once(':') {
                let (kind, hash) = (kind.trim(), hash.trim());
                if !hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    continue;
                }
                // A split build rewrites chunk and loader names into the main
                // js after hashing it, so a change inside a lazy page group
                // can leave `js:` as it was: the loader's and the manifest's
                // hashes must move the version too.
                match kind {
                    "js" | "wasm" | "css" => files.push(format!("/pkg/meetmind.{hash}.{kind}")),
                    "split" => files.push(format!("/pkg/__wasm_split.{hash}.js")),
                    "manifest" => {}
                    _ => continue,
                }
                version.push_str(&hash[..hash.len().min(8)]);
            }
        }
    }
    if !files.iter().any(|f| f.ends_with(".wasm")) {
        files = vec!["/pkg/meetmind.js".into(), "/pkg/meetmind.wasm".into(), "/pkg/meetmind.css".into()];
        version = format!("dev{}", chrono::Utc::now().timestamp_millis());
    }
    Assets { version, files }
}

/// Read per request, as Leptos reads `hash.txt` per page: replacing the site
/// and `hash.txt` in place is a deploy, and the next worker fetch sees it.
fn assets() -> Assets {
    // Without a hash file the version must still be stable for this process.
    static UNHASHED: OnceLock<Assets> = OnceLock::new();
    match hash_file().and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => assets_from(Some(&text)),
        None => UNHASHED.get_or_init(|| assets_from(None)).clone(),
    }
}

/// The stylesheet's URL, hashed when the build hashed it.
pub fn stylesheet() -> String {
    assets().files.into_iter().find(|f| f.ends_with(".css")).unwrap_or_else(|| "/pkg/meetmind.css".into())
}

const SHELL: &[&str] =
    &["/offline", "/manifest.webmanifest", "/pwa.js", "/favicon.svg", "/icons/icon-192.png", "/icons/icon-512.png"];

pub fn service_worker_source(a: &Assets) -> String {
    let precache: Vec<String> = SHELL.iter().map(|s| s.to_string()).chain(a.files.iter().cloned()).collect();
    include_str!("sw.js")
        .replace("__VERSION__", &a.version)
        .replace("__PRECACHE__", &serde_json::to_string(&precache).unwrap_or_else(|_| "[]".into()))
}

pub async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Browsers must see a new build's worker at once.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        service_worker_source(&assets()),
    )
}

pub async fn offline() -> impl IntoResponse {
    Html(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Offline · MeetMind</title><link rel=\"icon\" href=\"/favicon.svg\"></head>\
         <body><main data-testid=\"offline\"><h1>You are offline</h1>\
         <p>MeetMind cannot reach the server right now. What you typed on the interviewer screen is kept in this \
         browser and is sent when the connection returns.</p><p><a href=\"/interviews\">Try again</a></p></main>\
         </body></html>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_precaches_the_hashed_build_and_changes_with_it() {
        let a = assets_from(Some("js: abc123\nwasm: def456\ncss: 789fff\n"));
        assert_eq!(a.files, vec!["/pkg/meetmind.abc123.js", "/pkg/meetmind.def456.wasm", "/pkg/meetmind.789fff.css"]);
        let b = assets_from(Some("js: abc123\nwasm: 000000\ncss: 789fff\n"));
        assert_ne!(a.version, b.version, "a new wasm is a new worker");
        let sw = service_worker_source(&a);
        assert!(sw.contains("\"/pkg/meetmind.def456.wasm\"") && sw.contains("\"/offline\""));
        assert!(sw.contains("/api/"), "API calls are left alone");
        assert!(!sw.contains("__VERSION__") && !sw.contains("__PRECACHE__"), "every placeholder is filled");
    }

    #[test]
    fn a_split_build_precaches_its_loader_and_a_new_chunk_is_a_new_worker() {
        let a = assets_from(Some("js: abc123\nwasm: def456\ncss: 789fff\nmanifest: m1\nsplit: s1\n"));
        assert!(a.files.contains(&"/pkg/__wasm_split.s1.js".to_string()));
        // Only code inside a lazy group changed: the main js and wasm kept their hashes.
        let b = assets_from(Some("js: abc123\nwasm: def456\ncss: 789fff\nmanifest: m2\nsplit: s2\n"));
        assert_ne!(a.version, b.version);
    }
}
