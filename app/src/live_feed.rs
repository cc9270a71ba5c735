//! Server-Sent Events in the browser, for every live page. EventSource
//! retries a dropped connection on its own, but gives up for good when a
//! reconnect gets an HTTP error (a proxy's 502 while the server restarts).
//! Then this opens a new one with exponential backoff and jitter (1 s
//! doubling to 30 s), until the page goes away. Each (re)connection emits
//! "open", so the page reloads what it may have missed. A stream the server
//! ends with `signed-out` reloads the page, which the server then answers
//! with the sign-in form.

use leptos::prelude::*;

/// "live" or "reconnecting": the state of a page's stream, the same everywhere.
#[component]
pub fn ConnectionBadge(connected: ReadSignal<bool>) -> impl IntoView {
    view! { <span class="badge" data-testid="connection">{move || if connected.get() { "live" } else { "reconnecting" }}</span> }
}

/// Runs `f` every `period` while the calling component lives.
pub(crate) fn every(period: std::time::Duration, f: impl Fn() + 'static) {
    let handle = set_interval_with_handle(f, period);
    on_cleanup(move || {
        if let Ok(h) = handle {
            h.clear();
        }
    });
}

/// Many events, one reload: the returned marker can be called as often as
/// events arrive; `reload` then runs at most once per `period`.
pub(crate) fn coalesced(period: std::time::Duration, reload: impl Fn() + 'static) -> impl Fn() + Copy + 'static {
    let dirty = StoredValue::new(false);
    every(period, move || {
        if dirty.try_get_value() == Some(true) {
            dirty.set_value(false);
            reload();
        }
    });
    move || dirty.set_value(true)
}

/// Delay before reconnect attempt `n` (0-based), before jitter.
pub fn backoff_ms(attempt: u32) -> u32 {
    1_000u32.saturating_mul(1 << attempt.min(5)).min(30_000)
}

pub(crate) fn listen(
    url: String,
    names: &'static [&'static str],
    on_event: impl Fn(&str, String) + 'static,
    connected: WriteSignal<bool>,
) {
    #[cfg(feature = "hydrate")]
    {
        use std::{
            cell::{Cell, RefCell},
            rc::Rc,
        };
        use wasm_bindgen::{closure::Closure, JsCast};

        struct Conn {
            source: RefCell<Option<web_sys::EventSource>>,
            attempt: Cell<u32>,
            stopped: Cell<bool>,
        }
        let conn = Rc::new(Conn { source: RefCell::new(None), attempt: Cell::new(0), stopped: Cell::new(false) });
        let on_event: Rc<dyn Fn(&str, String)> = Rc::new(on_event);
        let connect: Rc<RefCell<Option<Rc<dyn Fn()>>>> = Rc::new(RefCell::new(None));
        let again = connect.clone();
        let c = conn.clone();
        *connect.borrow_mut() = Some(Rc::new(move || {
            if c.stopped.get() {
                return;
            }
            let Ok(source) = web_sys::EventSource::new(&url) else { return };
            for name in names {
                let f = on_event.clone();
                let n = name.to_string();
                let cb = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                    f(&n, e.data().as_string().unwrap_or_default());
                });
                let _ = source.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
                cb.forget();
            }
            // The server ends a stream whose caller signed out or lost
            // access with `signed-out`: reconnecting would only be refused.
            // Stop and load the page again: the server answers with the
            // sign-in form (back here afterwards) or, for a demoted caller,
            // with why the page is refused. (Building the sign-in address
            // here moved 41 KB into the main wasm module; BENCHMARKS.md.)
            let gone = c.clone();
            let out = Closure::<dyn Fn()>::new(move || {
                gone.stopped.set(true);
                if let Some(s) = gone.source.borrow_mut().take() {
                    s.close();
                }
                let _ = window().location().reload();
            });
            let _ = source.add_event_listener_with_callback("signed-out", out.as_ref().unchecked_ref());
            out.forget();
            let reopen = on_event.clone();
            let opened = c.clone();
            let open = Closure::<dyn Fn()>::new(move || {
                opened.attempt.set(0);
                connected.set(true);
                reopen("open", String::new());
            });
            source.set_onopen(Some(open.as_ref().unchecked_ref()));
            open.forget();
            let failed = c.clone();
            let retry = again.clone();
            let err = Closure::<dyn Fn()>::new(move || {
                connected.set(false);
                let closed =
                    failed.source.borrow().as_ref().is_some_and(|s| s.ready_state() == web_sys::EventSource::CLOSED);
                if !closed || failed.stopped.get() {
                    return; // the browser is retrying by itself
                }
                let n = failed.attempt.get();
                failed.attempt.set(n + 1);
                let base = backoff_ms(n) as f64;
                let delay = base * (0.75 + js_sys::Math::random() * 0.5);
                if let Some(f) = retry.borrow().clone() {
                    set_timeout(move || f(), std::time::Duration::from_millis(delay as u64));
                }
            });
            source.set_onerror(Some(err.as_ref().unchecked_ref()));
            err.forget();
            if let Some(old) = c.source.replace(Some(source)) {
                old.close();
            }
        }));
        if let Some(f) = connect.borrow().clone() {
            f();
        }
        let keep = send_wrapper::SendWrapper::new((conn, connect));
        on_cleanup(move || {
            let (conn, connect) = &*keep;
            conn.stopped.set(true);
            if let Some(s) = conn.source.borrow_mut().take() {
                s.close();
            }
            // Break the closure's reference to itself.
            connect.borrow_mut().take();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, names, on_event, connected);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        assert_eq!(
            (0..8).map(backoff_ms).collect::<Vec<_>>(),
            vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
    }
}
