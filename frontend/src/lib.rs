//! The wasm entry point: hydrate the server-rendered page.

use leptos::prelude::document;

/// Slack in the read-only data segment, for `cargo leptos build --split`.
/// The splitter repacks that segment per wasm module; when each module's
/// share padded to the segment's alignment, and bytes that overlapping
/// symbols place in more than one module, make the repacked data even a
/// byte longer than the input segment, it gives up and puts the whole segment
/// (about 86 KB, 41 KB gzipped) into the main module that every page loads
/// ("Overlong segment 0 … putting it in main module"). Small page changes
/// tipped it either way. `#[used]` keeps these bytes in the input segment,
/// and since no code refers to them, no module carries them (BENCHMARKS.md).
#[cfg(target_arch = "wasm32")]
#[used]
static SPLIT_DATA_SLACK: [u8; 4096] = [0x5a; 4096];

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Routes are split into lazily loaded wasm chunks (`cargo leptos build
    // --split`), so hydration waits for the current route's chunk.
    wasm_bindgen_futures::spawn_local(async {
        let owner = leptos::mount::hydrate_from_async(document().body().expect("a <body>"), app::App).await;
        owner.forget();
        // Only now are the route's handlers attached (the tests' cue).
        if let Ok(Some(app)) = document().query_selector(".app") {
            let _ = app.set_attribute("data-hydrated", "true");
        }
    });
}
