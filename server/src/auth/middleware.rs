//! The one place access is enforced: every request is authenticated (session
//! cookie or bearer token), checked against the access table, guarded against
//! cross-site requests, and answered with security headers. Event streams
//! stay open for hours, so theirs is checked again while they run.

use std::{
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use app::{
    auth::{Me, Principal, UserRole},
    services::{CspNonce, RequestMeta},
};
use axum::{
    body::{Body, BodyDataStream, Bytes},
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use futures_util::StreamExt;
use serde_json::json;

use super::{
    rules::{self, Decision, Kind, Need},
    secret::{hash_secret, random_secret, same_secret},
    session::{cookie_value, SessionPolicy, SessionState, COOKIE_NAME},
    Auth,
};

/// What authentication found, beyond the principal.
struct Found {
    principal: Option<Principal>,
    /// The session's CSRF token when a session cookie authenticated the call.
    csrf: Option<String>,
    session_hash: Option<String>,
    /// A stale session cookie to clear in the response.
    clear_cookie: bool,
    /// An Authorization header was sent but is not valid.
    bad_bearer: bool,
}

pub async fn guard(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let nonce = random_secret();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let meta_https = auth.is_https(req.headers());
    let client_ip = client_ip(&req);

    let found = authenticate(&auth, req.headers(), true).await;
    // A route the router matched must have its own entry: fail closed, so a
    // route added without one is unusable (and the role matrix says why).
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let rule = match &matched {
        Some(route) => rules::exact(method.as_str(), route).copied(),
        None => Some(rules::lookup(method.as_str(), &path).copied().unwrap_or_else(|| rules::fallback(&path))),
    };
    let Some(rule) = rule else {
        tracing::error!(method = %method, route = ?matched, "route has no access rule");
        let res = json_error(StatusCode::INTERNAL_SERVER_ERROR, "this route has no access rule");
        return with_answer_headers(res, &nonce, Kind::Api, meta_https);
    };

    let refusal = if found.bad_bearer {
        Some(json_error(StatusCode::UNAUTHORIZED, "the bearer token is not valid (unknown, revoked or malformed)"))
    } else if let Err(why) = cross_site_check(&method, req.headers(), found.csrf.as_deref(), meta_https) {
        Some(json_error(StatusCode::FORBIDDEN, why))
    } else {
        match (rules::decide(rule.need, found.principal.as_ref()), rule.kind) {
            (Decision::Allow, _) => None,
            (Decision::SignIn, Kind::Page) => Some(login_redirect(req.uri())),
            (Decision::Deny, Kind::Page) => Some(forbidden_page()),
            // Not signed in or not allowed alike: a browser's stream only learns it must reload.
            _ if browser_wants_stream(req.headers()) => Some(signed_out_stream()),
            (Decision::SignIn, _) => Some(json_error(
                StatusCode::UNAUTHORIZED,
                "sign in first: send the session cookie or an Authorization: Bearer token",
            )),
            (Decision::Deny, _) => {
                Some(json_error(StatusCode::FORBIDDEN, "your role or token scopes do not allow this"))
            }
        }
    };

    let mut res = match refusal {
        Some(r) => r,
        None => {
            let ext = req.extensions_mut();
            ext.insert(RequestMeta { client_ip, https: meta_https, session_hash: found.session_hash.clone() });
            ext.insert(CspNonce(nonce.clone()));
            if let Some(p) = found.principal.clone() {
                ext.insert(p);
            }
            // Kept in case the answer is an event stream (see `recheck_stream`).
            let opened = (rule.need != Need::Public).then(|| (credentials(req.headers()), found.principal.clone()));
            let res = next.run(req).await;
            let res = match opened {
                Some((creds, principal)) if is_event_stream(&res) => {
                    recheck_stream(res, &auth, creds, rule.need, principal)
                }
                _ => res,
            };
            if rule.kind == Kind::Api && path.starts_with("/api/") && !path.starts_with("/api/v1/") {
                server_fn_status(res).await
            } else {
                res
            }
        }
    };
    if found.clear_cookie {
        if let Ok(v) = HeaderValue::from_str(&SessionPolicy::clear_cookie(meta_https)) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    with_answer_headers(res, &nonce, rule.kind, meta_https)
}

/// The headers every answer leaving the guard carries, whatever decided it.
fn with_answer_headers(mut res: Response, nonce: &str, kind: Kind, https: bool) -> Response {
    security_headers(res.headers_mut(), nonce);
    privacy_headers(res.headers_mut(), kind, https);
    res
}

/// Pages and API answers carry transcripts, candidates' details and tokens:
/// no browser or proxy cache may keep them (a shared computer's back button
/// or disk cache would show them to the next person). Static files keep
/// their caching, and an answer that set its own `Cache-Control` (event
/// streams) keeps it. Over HTTPS, browsers are told to stay on HTTPS.
fn privacy_headers(h: &mut HeaderMap, kind: Kind, https: bool) {
    if kind != Kind::Asset && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
}

/// Server functions answer every error with 500; give each its real status
/// (422 for bad input, 429 when throttled, ...) so clients and logs tell them apart.
async fn server_fn_status(res: Response) -> Response {
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(e) = serde_json::from_slice::<app::auth::AppError>(&bytes) {
        parts.status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// How often an open event stream checks again that its caller may still see
/// it (the default of `Auth::sse_recheck`). The streams send at least a
/// keep-alive every 15 s, and the check also runs on its own timer.
pub const SSE_RECHECK: Duration = Duration::from_secs(15);

/// The last frame of a stream whose caller lost access (signed out, disabled,
/// demoted, token revoked).
const SIGNED_OUT: &[u8] = b"event: signed-out\ndata: {}\n\n";

/// The request headers that carry credentials.
fn credentials(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in [header::AUTHORIZATION, header::COOKIE] {
        for value in headers.get_all(&name).iter() {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// A browser's EventSource asking without a token: it cannot read a
/// refusal's status (a 401 only makes it retry, for ever), so it is refused
/// in its own terms, with `signed_out_stream`. Token callers get the 401.
fn browser_wants_stream(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION)
        && headers.get_all(header::ACCEPT).iter().any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")))
}

/// A stream that is only the `signed-out` frame: the page that asked
/// reloads, and the server answers it with the sign-in form or the 403 page.
/// This reaches the tab whose stream had dropped (asleep, offline) before
/// its session ended, so no open stream could tell it.
fn signed_out_stream() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(SIGNED_OUT))
        .unwrap_or_default()
}

fn is_event_stream(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().get(..17).is_some_and(|t| t.eq_ignore_ascii_case("text/event-stream")))
}

/// An event stream being sent, with what is needed to check its caller again.
struct Watched {
    body: BodyDataStream,
    auth: Arc<Auth>,
    credentials: HeaderMap,
    need: Need,
    /// Who opened the stream.
    opened_by: Option<Principal>,
    every: Duration,
    /// When the next check is due; one timer per stream, reset after each
    /// check rather than made anew for every chunk.
    due: Pin<Box<tokio::time::Sleep>>,
    ended: bool,
}

/// Access is checked when a stream opens, but a stream lasts: after sign-out,
/// a disabled account, a role taken away or a revoked token it must stop.
/// The stream's body re-runs authentication with the request's credentials
/// and the route's rule at most every `Auth::sse_recheck` when a chunk is
/// about to go out, and on a timer when none flows. When the caller may no
/// longer see it, the stream ends with a `signed-out` frame; when the caller
/// is still allowed but their role or scopes changed, it ends without one,
/// so the reconnect runs the handler's own checks (such as owning the
/// interview) again.
fn recheck_stream(
    res: Response,
    auth: &Arc<Auth>,
    credentials: HeaderMap,
    need: Need,
    opened_by: Option<Principal>,
) -> Response {
    let every = auth.sse_recheck();
    let (parts, body) = res.into_parts();
    let watched = Watched {
        body: body.into_data_stream(),
        auth: auth.clone(),
        credentials,
        need,
        opened_by,
        every,
        due: Box::pin(tokio::time::sleep(every)),
        ended: false,
    };
    Response::from_parts(parts, Body::from_stream(futures_util::stream::unfold(watched, next_watched)))
}

/// What a re-check found.
enum Still {
    Allowed,
    /// Allowed, but not as the same role or scopes as when the stream opened.
    Changed,
    Refused,
}

/// Checks again, without recording a use: an open stream alone must not keep
/// an idle session alive.
async fn check_again(auth: &Auth, credentials: &HeaderMap, need: Need, opened_by: Option<&Principal>) -> Still {
    let found = authenticate(auth, credentials, false).await;
    if found.bad_bearer || rules::decide(need, found.principal.as_ref()) != Decision::Allow {
        return Still::Refused;
    }
    if same_access(opened_by, found.principal.as_ref()) {
        Still::Allowed
    } else {
        Still::Changed
    }
}

/// The same caller with the same role or scopes.
fn same_access(a: Option<&Principal>, b: Option<&Principal>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Principal::User(a)), Some(Principal::User(b))) => a.id == b.id && a.role == b.role,
        (Some(Principal::Token { id: a, scopes: sa, .. }), Some(Principal::Token { id: b, scopes: sb, .. })) => {
            a == b && sa == sb
        }
        _ => false,
    }
}

async fn next_watched(mut w: Watched) -> Option<(Result<Bytes, axum::Error>, Watched)> {
    if w.ended {
        return None;
    }
    loop {
        tokio::select! {
            chunk = w.body.next() => {
                let chunk = chunk?;
                if w.due.is_elapsed() {
                    // Only the fields: the body is not Sync, so `&w` must not be held across the await.
                    let still = check_again(&w.auth, &w.credentials, w.need, w.opened_by.as_ref()).await;
                    match still {
                        Still::Allowed => w.due.as_mut().reset(tokio::time::Instant::now() + w.every),
                        still => return w.end(still),
                    }
                }
                return Some((chunk, w));
            }
            _ = w.due.as_mut() => {
                let still = check_again(&w.auth, &w.credentials, w.need, w.opened_by.as_ref()).await;
                match still {
                    Still::Allowed => w.due.as_mut().reset(tokio::time::Instant::now() + w.every),
                    still => return w.end(still),
                }
            }
        }
    }
}

impl Watched {
    /// Ends the stream: the pending chunk is dropped, and a refused caller is told.
    fn end(mut self, still: Still) -> Option<(Result<Bytes, axum::Error>, Watched)> {
        self.ended = true;
        match still {
            Still::Refused => Some((Ok(Bytes::from_static(SIGNED_OUT)), self)),
            _ => None,
        }
    }
}

async fn authenticate(auth: &Auth, headers: &HeaderMap, record_use: bool) -> Found {
    let mut found = Found { principal: None, csrf: None, session_hash: None, clear_cookie: false, bad_bearer: false };
    let now = auth.clock.now_ms();

    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        match token {
            Some(t) if !t.is_empty() && t.len() <= 200 => match auth.store.token_by_hash(&hash_secret(t)).await {
                Ok(Some(row)) if row.revoked_at.is_none() => {
                    if record_use && row.last_used_at.is_none_or(|at| now - at >= auth.policy.touch_every_ms) {
                        if let Err(e) = auth.store.touch_token(&row.id, now).await {
                            tracing::warn!(error = %e, "could not record token use");
                        }
                    }
                    let scopes = row.scopes.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
                    found.principal = Some(Principal::Token { id: row.id, name: row.name, scopes });
                }
                Ok(_) => found.bad_bearer = true,
                Err(e) => {
                    tracing::error!(error = %e, "token lookup failed");
                    found.bad_bearer = true;
                }
            },
            _ => found.bad_bearer = true,
        }
        return found;
    }

    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| cookie_value(c, COOKIE_NAME));
    let Some(secret) = cookie else { return found };
    let hash = hash_secret(secret);
    match auth.store.session_with_user(&hash).await {
        Ok(Some((session, user))) if !user.disabled => {
            match auth.policy.check(session.created_at, session.last_seen_at, now) {
                SessionState::Valid { touch } => {
                    if touch && record_use {
                        if let Err(e) = auth.store.touch_session(&hash, now).await {
                            tracing::warn!(error = %e, "could not refresh session");
                        }
                    }
                    let role = UserRole::parse(&user.role).unwrap_or(UserRole::Interviewer);
                    found.principal =
                        Some(Principal::User(Me { id: user.id, email: user.email, name: user.name, role }));
                    found.csrf = Some(session.csrf_token);
                    found.session_hash = Some(hash);
                }
                SessionState::Idle | SessionState::TooOld => {
                    let _ = auth.store.delete_session(&hash).await;
                    found.clear_cookie = true;
                }
            }
        }
        Ok(_) => found.clear_cookie = true,
        Err(e) => tracing::error!(error = %e, "session lookup failed"),
    }
    found
}

/// State-changing requests must come from our own pages: a matching Origin,
/// or (for cookie sessions without an Origin) the session's CSRF token.
fn cross_site_check(
    method: &Method,
    headers: &HeaderMap,
    csrf: Option<&str>,
    _https: bool,
) -> Result<(), &'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || headers.contains_key(header::AUTHORIZATION) {
        return Ok(());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        return if origin.to_str().ok().is_some_and(|o| same_origin(o, host)) {
            Ok(())
        } else {
            Err("cross-origin request refused: the Origin does not match this site")
        };
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err("cross-site request refused");
    }
    match csrf {
        None => Ok(()),
        Some(expected) => {
            let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if same_secret(sent, expected) {
                Ok(())
            } else {
                Err("missing or wrong CSRF token: send an Origin header or X-CSRF-Token")
            }
        }
    }
}

fn same_origin(origin: &str, host: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else { return false };
    let Some(h) = url.host_str() else { return false };
    let authority = match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h.to_string(),
    };
    !host.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// The client's address for throttling and the audit trail.
///
/// The peer address, unless the peer is a proxy on this host (loopback). Then
/// only the hop that proxy added is believed: the rightmost `X-Forwarded-For`
/// entry (nginx's `$proxy_add_x_forwarded_for` appends the address it saw).
/// Everything left of it, and `X-Real-IP`, is whatever the client sent, so
/// trusting it would let anyone dodge the per-IP login limit or aim it at
/// someone else. A last entry that is not an IP address is ignored.
fn client_ip(req: &Request) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    client_ip_from(peer, req.headers())
}

fn client_ip_from(peer: Option<IpAddr>, headers: &HeaderMap) -> String {
    if peer.is_none_or(|ip| ip.is_loopback()) {
        // A proxy sends one combined header; with several, the last one is its.
        let last_hop = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|s| s.trim().parse::<IpAddr>().ok());
        if let Some(ip) = last_hop {
            return ip.to_string();
        }
    }
    peer.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into())
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn login_redirect(uri: &axum::http::Uri) -> Response {
    let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, format!("/login?next={encoded}"))
        .body(Body::empty())
        .unwrap_or_default()
}

fn forbidden_page() -> Response {
    let html = r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not allowed · MeetMind</title><link rel="icon" type="image/svg+xml" href="/favicon.svg"><link rel="stylesheet" href="/pkg/meetmind.css"></head><body><main class="content"><section class="panel" data-testid="forbidden"><h1>This page is for admins</h1><p>Your role does not include it. <a href="/interviews">Go to your interviews</a> or <a href="/login">sign in as someone else</a>.</p></section></main></body></html>"#.replace("/pkg/meetmind.css", &crate::pwa::stylesheet());
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn security_headers(h: &mut HeaderMap, nonce: &str) {
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    let pairs = [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff".into()),
        ("referrer-policy", "same-origin".into()),
        ("x-frame-options", "DENY".into()),
        ("cross-origin-opener-policy", "same-origin".into()),
        ("permissions-policy", "camera=(), geolocation=(), microphone=(self)".into()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origin_must_match_host() {
        assert!(same_origin("http://127.0.0.1:3000", "127.0.0.1:3000"));
        assert!(same_origin("https://meet.example.com", "meet.example.com"));
        assert!(!same_origin("https://evil.example", "meet.example.com"));
        assert!(!same_origin("null", "meet.example.com"));
        let post = Method::POST;
        let ok = headers(&[("origin", "http://a.io"), ("host", "a.io")]);
        assert!(cross_site_check(&post, &ok, Some("t"), false).is_ok());
        let evil = headers(&[("origin", "http://evil.io"), ("host", "a.io")]);
        assert!(cross_site_check(&post, &evil, None, false).is_err(), "even without a session");
        assert!(cross_site_check(&Method::GET, &evil, Some("t"), false).is_ok());
        // No Origin: a cookie session needs its CSRF token.
        assert!(cross_site_check(&post, &headers(&[("host", "a.io")]), Some("t"), false).is_err());
        assert!(cross_site_check(&post, &headers(&[("x-csrf-token", "t")]), Some("t"), false).is_ok());
        assert!(cross_site_check(&post, &headers(&[("host", "a.io")]), None, false).is_ok());
    }

    #[test]
    fn event_streams_are_recognised_and_their_access_compared() {
        let typed = |ct: &str| Response::builder().header(header::CONTENT_TYPE, ct).body(Body::empty()).unwrap();
        assert!(is_event_stream(&typed("text/event-stream")));
        assert!(is_event_stream(&typed("Text/Event-Stream; charset=utf-8")));
        assert!(!is_event_stream(&typed("application/json")));
        assert!(!is_event_stream(&Response::new(Body::empty())));
        let me = |role| Principal::User(Me { id: "1".into(), email: "a@x.io".into(), name: "A".into(), role });
        assert!(same_access(Some(&me(UserRole::Admin)), Some(&me(UserRole::Admin))));
        assert!(
            !same_access(Some(&me(UserRole::Admin)), Some(&me(UserRole::Interviewer))),
            "a role change is a change"
        );
        fn token(scopes: &[&str]) -> Principal {
            Principal::Token {
                id: "t".into(),
                name: "svc".into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            }
        }
        assert!(same_access(Some(&token(&["admin"])), Some(&token(&["admin"]))));
        assert!(!same_access(Some(&token(&["admin"])), Some(&token(&["jobs:read"]))));
        assert!(!same_access(Some(&token(&["admin"])), Some(&me(UserRole::Admin))));
        let creds =
            credentials(&headers(&[("cookie", "mm_session=x"), ("authorization", "Bearer t"), ("host", "a.io")]));
        assert_eq!(creds.len(), 2, "only the credentials are kept");
    }

    fn request_from(peer: [u8; 4], pairs: &[(&'static str, &str)]) -> Request {
        let mut req = axum::http::Request::builder()
            .uri("/login")
            .extension(ConnectInfo(SocketAddr::from((peer, 40_000))))
            .body(Body::empty())
            .unwrap();
        *req.headers_mut() = headers(pairs);
        req
    }

    #[test]
    fn client_ip_trusts_only_the_last_hop_and_only_from_a_loopback_proxy() {
        // Behind nginx: the client wrote the first entry, nginx appended the last.
        let req = request_from([127, 0, 0, 1], &[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        assert_eq!(client_ip(&req), "203.0.113.9");
        // X-Real-IP is not set by our proxy config, so it is the client's word.
        let req = request_from([127, 0, 0, 1], &[("x-real-ip", "6.6.6.6")]);
        assert_eq!(client_ip(&req), "127.0.0.1");
        let req = request_from([127, 0, 0, 1], &[("x-real-ip", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(client_ip(&req), "203.0.113.9");
        // Not an address: ignored.
        let req = request_from([127, 0, 0, 1], &[("x-forwarded-for", "203.0.113.9, evil")]);
        assert_eq!(client_ip(&req), "127.0.0.1");
        // A direct, non-loopback peer is the client, whatever it says.
        let req =
            request_from([198, 51, 100, 7], &[("x-forwarded-for", "6.6.6.6, 203.0.113.9"), ("x-real-ip", "6.6.6.6")]);
        assert_eq!(client_ip(&req), "198.51.100.7");
    }
}
