//! The wasm entry point: hydrate the server-rendered page.

use leptos::prelude::document;

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
