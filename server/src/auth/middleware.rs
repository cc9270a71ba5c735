//! The one place access is enforced: every request is authenticated (session
//! cookie or bearer token), checked against the access table, guarded against
//! cross-site requests, and answered with security headers.

use std::{net::SocketAddr, sync::Arc};

use app::{
    auth::{Me, Principal, UserRole},
    services::{CspNonce, RequestMeta},
};
use axum::{
    body::Body,
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::{
    rules::{self, Decision, Kind},
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

    let found = authenticate(&auth, req.headers()).await;
    // A route the router matched must have its own entry: fail closed, so a
    // route added without one is unusable (and the role matrix says why).
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let rule = match &matched {
        Some(route) => rules::exact(method.as_str(), route).copied(),
        None => Some(rules::lookup(method.as_str(), &path).copied().unwrap_or_else(|| rules::fallback(&path))),
    };
    let Some(rule) = rule else {
        tracing::error!(method = %method, route = ?matched, "route has no access rule");
        let mut res = json_error(StatusCode::INTERNAL_SERVER_ERROR, "this route has no access rule");
        security_headers(res.headers_mut(), &nonce);
        return res;
    };

    let refusal = if found.bad_bearer {
        Some(json_error(StatusCode::UNAUTHORIZED, "the bearer token is not valid (unknown, revoked or malformed)"))
    } else if let Err(why) = cross_site_check(&method, req.headers(), found.csrf.as_deref(), meta_https) {
        Some(json_error(StatusCode::FORBIDDEN, why))
    } else {
        match rules::decide(rule.need, found.principal.as_ref()) {
            Decision::Allow => None,
            Decision::SignIn => Some(match rule.kind {
                Kind::Page => login_redirect(req.uri()),
                _ => json_error(
                    StatusCode::UNAUTHORIZED,
                    "sign in first: send the session cookie or an Authorization: Bearer token",
                ),
            }),
            Decision::Deny => Some(match rule.kind {
                Kind::Page => forbidden_page(),
                _ => json_error(StatusCode::FORBIDDEN, "your role or token scopes do not allow this"),
            }),
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
            let res = next.run(req).await;
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
    security_headers(res.headers_mut(), &nonce);
    res
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

async fn authenticate(auth: &Auth, headers: &HeaderMap) -> Found {
    let mut found = Found { principal: None, csrf: None, session_hash: None, clear_cookie: false, bad_bearer: false };
    let now = auth.clock.now_ms();

    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        match token {
            Some(t) if !t.is_empty() && t.len() <= 200 => match auth.store.token_by_hash(&hash_secret(t)).await {
                Ok(Some(row)) if row.revoked_at.is_none() => {
                    if row.last_used_at.is_none_or(|at| now - at >= auth.policy.touch_every_ms) {
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

    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|c| cookie_value(c, COOKIE_NAME));
    let Some(secret) = cookie else { return found };
    let hash = hash_secret(secret);
    match auth.store.session_with_user(&hash).await {
        Ok(Some((session, user))) if !user.disabled => match auth.policy.check(session.created_at, session.last_seen_at, now) {
            SessionState::Valid { touch } => {
                if touch {
                    if let Err(e) = auth.store.touch_session(&hash, now).await {
                        tracing::warn!(error = %e, "could not refresh session");
                    }
                }
                let role = UserRole::parse(&user.role).unwrap_or(UserRole::Interviewer);
                found.principal = Some(Principal::User(Me { id: user.id, email: user.email, name: user.name, role }));
                found.csrf = Some(session.csrf_token);
                found.session_hash = Some(hash);
            }
            SessionState::Idle | SessionState::TooOld => {
                let _ = auth.store.delete_session(&hash).await;
                found.clear_cookie = true;
            }
        },
        Ok(_) => found.clear_cookie = true,
        Err(e) => tracing::error!(error = %e, "session lookup failed"),
    }
    found
}

/// State-changing requests must come from our own pages: a matching Origin,
/// or (for cookie sessions without an Origin) the session's CSRF token.
fn cross_site_check(method: &Method, headers: &HeaderMap, csrf: Option<&str>, _https: bool) -> Result<(), &'static str> {
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

/// The peer address; behind a proxy on the same host, the address it reports.
fn client_ip(req: &Request) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if peer.is_none_or(|ip| ip.is_loopback()) {
        let forwarded = req
            .headers()
            .get("x-real-ip")
            .or_else(|| req.headers().get("x-forwarded-for"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(ip) = forwarded {
            return ip;
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
}
