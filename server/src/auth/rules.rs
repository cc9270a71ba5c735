//! The access table: every route, page and server function, and what its
//! caller needs. The middleware consults only this table, and the role-matrix
//! test walks it, so a route without an entry fails the test.

use app::auth::Principal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in person or an API token.
    Authenticated,
    /// A signed-in person (admin or interviewer), not a token.
    User,
    /// An admin, or a token with the `admin` scope.
    Admin,
    /// A token or person holding this scope (admins hold all).
    Scope(&'static str),
}

/// How a refusal looks: pages send people to the login form, the API
/// answers JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Page,
    Api,
    Asset,
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// `*` for any method.
    pub method: &'static str,
    /// Segments; `{x}` matches one segment, a trailing `*` the rest.
    pub path: &'static str,
    pub kind: Kind,
    pub need: Need,
}

const fn page(path: &'static str, need: Need) -> Rule {
    Rule { method: "GET", path, kind: Kind::Page, need }
}
const fn api(method: &'static str, path: &'static str, need: Need) -> Rule {
    Rule { method, path, kind: Kind::Api, need }
}
const fn asset(path: &'static str) -> Rule {
    Rule { method: "GET", path, kind: Kind::Asset, need: Need::Public }
}

use Need::*;

pub const RULES: &[Rule] = &[
    // Operations. Prometheus scrapes with a `metrics:read` token.
    api("GET", "/healthz", Public),
    api("GET", "/readyz", Public),
    api("GET", "/metrics", Scope("metrics:read")),
    // Static files of the site.
    asset("/pkg/*"),
    asset("/favicon.svg"),
    // The installable app: manifest, icons, service worker, offline page.
    asset("/manifest.webmanifest"),
    asset("/icons/*"),
    asset("/pwa.js"),
    asset("/sw.js"),
    asset("/offline"),
    // Pages.
    page("/login", Public),
    page("/setup", Public),
    page("/", Admin),
    page("/jobs", Admin),
    page("/jobs/{id}", Admin),
    page("/dlq", Admin),
    page("/queues", Admin),
    page("/schedules", Admin),
    page("/workflows", Admin),
    page("/workflows/new", Admin),
    page("/workflows/{id}", Admin),
    page("/providers", Admin),
    page("/interviews", User),
    page("/interviews/{id}/live", User),
    page("/interviews/{id}/report", User),
    // The candidate's room: the token in the address is the credential.
    page("/room/{token}", Public),
    page("/admin/users", Admin),
    page("/admin/tokens", Admin),
    page("/admin/audit", Admin),
    // Server functions (all POST).
    api("POST", "/api/me", Public),
    api("POST", "/api/login", Public),
    api("POST", "/api/setup_check", Public),
    api("POST", "/api/setup", Public),
    api("POST", "/api/logout", User),
    api("POST", "/api/users_list", Admin),
    api("POST", "/api/users_create", Admin),
    api("POST", "/api/users_set_role", Admin),
    api("POST", "/api/users_set_disabled", Admin),
    api("POST", "/api/tokens_list", Admin),
    api("POST", "/api/tokens_create", Admin),
    api("POST", "/api/tokens_revoke", Admin),
    api("POST", "/api/audit_list", Admin),
    api("POST", "/api/providers_health", Admin),
    api("POST", "/api/providers_force", Admin),
    api("POST", "/api/rubric_templates", Scope("interviews:read")),
    api("POST", "/api/interviews_list", Scope("interviews:read")),
    api("POST", "/api/interview_create", Scope("interviews:write")),
    api("POST", "/api/interview_detail", Scope("interviews:read")),
    api("POST", "/api/interview_live", Scope("interviews:read")),
    api("POST", "/api/interview_transcript", Scope("interviews:read")),
    api("POST", "/api/interview_suggestions", Scope("interviews:read")),
    api("POST", "/api/interview_append", Scope("interviews:write")),
    api("POST", "/api/interview_start", Scope("interviews:write")),
    api("POST", "/api/interview_end", Scope("interviews:write")),
    api("POST", "/api/interview_pause", Scope("interviews:write")),
    api("POST", "/api/interview_link_revoke", Scope("interviews:write")),
    api("POST", "/api/interview_decide", Scope("interviews:write")),
    api("POST", "/api/interview_link", Scope("interviews:write")),
    api("POST", "/api/interview_search", Scope("interviews:read")),
    api("POST", "/api/interview_ask", Scope("interviews:read")),
    // The candidate's room: the token in the request is the credential.
    api("POST", "/api/room_get", Public),
    api("POST", "/api/room_consent", Public),
    api("POST", "/api/room_append", Public),
    // REST.
    api("GET", "/api/v1/openapi.json", Authenticated),
    api("GET", "/api/v1/me", Authenticated),
    api("GET", "/api/v1/users", Admin),
    api("POST", "/api/v1/users", Admin),
    api("PATCH", "/api/v1/users/{id}", Admin),
    api("GET", "/api/v1/tokens", Admin),
    api("POST", "/api/v1/tokens", Admin),
    api("DELETE", "/api/v1/tokens/{id}", Admin),
    api("GET", "/api/v1/audit", Admin),
    api("GET", "/api/v1/jobs", Scope("jobs:read")),
    api("POST", "/api/v1/jobs", Scope("jobs:write")),
    api("GET", "/api/v1/jobs/{id}", Scope("jobs:read")),
    api("POST", "/api/v1/jobs/{id}/cancel", Scope("jobs:write")),
    api("POST", "/api/v1/jobs/{id}/retry", Scope("jobs:write")),
    api("GET", "/api/v1/dlq", Scope("jobs:read")),
    api("POST", "/api/v1/dlq/requeue", Scope("jobs:write")),
    api("POST", "/api/v1/dlq/purge", Admin),
    api("DELETE", "/api/v1/dlq/{id}", Admin),
    api("POST", "/api/v1/dlq/{id}/requeue", Scope("jobs:write")),
    api("GET", "/api/v1/workflows", Scope("workflows:read")),
    api("POST", "/api/v1/workflows", Scope("workflows:write")),
    api("GET", "/api/v1/workflows/{id}", Scope("workflows:read")),
    api("POST", "/api/v1/workflows/{id}/cancel", Scope("workflows:write")),
    api("POST", "/api/v1/workflows/{id}/retry", Scope("workflows:write")),
    api("GET", "/api/v1/schedules", Scope("workflows:read")),
    api("GET", "/api/v1/schedules/preview", Scope("workflows:read")),
    api("GET", "/api/v1/workflow-templates", Scope("workflows:read")),
    api("POST", "/api/v1/workflow-templates", Scope("workflows:write")),
    api("DELETE", "/api/v1/workflow-templates/{id}", Scope("workflows:write")),
    api("POST", "/api/v1/workflow-templates/{id}/run", Scope("workflows:write")),
    api("POST", "/api/v1/schedules", Scope("workflows:write")),
    api("DELETE", "/api/v1/schedules/{id}", Scope("workflows:write")),
    api("POST", "/api/v1/schedules/{id}/pause", Scope("workflows:write")),
    api("POST", "/api/v1/schedules/{id}/resume", Scope("workflows:write")),
    api("GET", "/api/v1/starvation", Scope("jobs:read")),
    api("GET", "/api/v1/providers", Admin),
    api("GET", "/api/v1/providers/calls", Admin),
    api("POST", "/api/v1/providers/{name}/breaker", Admin),
    api("GET", "/api/v1/queues", Scope("jobs:read")),
    api("PATCH", "/api/v1/queues/{name}", Admin),
    api("POST", "/api/v1/queues/{name}/pause", Admin),
    api("POST", "/api/v1/queues/{name}/resume", Admin),
    api("GET", "/api/v1/events", Admin),
    api("GET", "/api/v1/rubric-templates", Scope("interviews:read")),
    api("GET", "/api/v1/interviews", Scope("interviews:read")),
    api("POST", "/api/v1/interviews", Scope("interviews:write")),
    api("GET", "/api/v1/interviews/{id}", Scope("interviews:read")),
    api("DELETE", "/api/v1/interviews/{id}", Admin),
    api("GET", "/api/v1/interviews/{id}/export", Admin),
    api("GET", "/api/v1/interviews/{id}/segments", Scope("interviews:read")),
    api("POST", "/api/v1/interviews/{id}/segments", Scope("interviews:write")),
    api("GET", "/api/v1/interviews/{id}/suggestions", Scope("interviews:read")),
    api("GET", "/api/v1/interviews/{id}/events", Scope("interviews:read")),
    api("POST", "/api/v1/interviews/{id}/start", Scope("interviews:write")),
    api("POST", "/api/v1/interviews/{id}/end", Scope("interviews:write")),
    api("POST", "/api/v1/interviews/{id}/cancel", Scope("interviews:write")),
    api("POST", "/api/v1/interviews/{id}/decision", Scope("interviews:write")),
    api("POST", "/api/v1/interviews/{id}/link", Scope("interviews:write")),
    api("DELETE", "/api/v1/interviews/{id}/link", Scope("interviews:write")),
    api("POST", "/api/v1/interviews/{id}/pause", Scope("interviews:write")),
    api("POST", "/api/v1/interviews/{id}/resume", Scope("interviews:write")),
    api("GET", "/api/v1/interviews/{id}/search", Scope("interviews:read")),
    api("POST", "/api/v1/interviews/{id}/ask", Scope("interviews:read")),
    api("GET", "/api/v1/interviews/{id}/report", Scope("interviews:read")),
    api("GET", "/api/v1/search", Scope("interviews:read")),
    api("GET", "/api/v1/room/{token}", Public),
    api("POST", "/api/v1/room/{token}/consent", Public),
    api("POST", "/api/v1/room/{token}/segments", Public),
    api("GET", "/api/v1/room/{token}/events", Public),
];

fn matches(pattern: &str, path: &str) -> bool {
    let mut pat = pattern.trim_end_matches('/').split('/');
    let mut got = path.trim_end_matches('/').split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return true,
            (Some("*"), Some(s)) => return !s.is_empty(),
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') => {
                if s.is_empty() {
                    return false;
                }
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

/// The rule for a request. HEAD is treated as GET.
pub fn lookup(method: &str, path: &str) -> Option<&'static Rule> {
    let method = if method == "HEAD" { "GET" } else { method };
    RULES.iter().find(|r| (r.method == "*" || r.method == method) && matches(r.path, path))
}

/// The rule written for exactly this route pattern (as the router matched it).
pub fn exact(method: &str, route: &str) -> Option<&'static Rule> {
    let method = if method == "HEAD" { "GET" } else { method };
    RULES.iter().find(|r| (r.method == "*" || r.method == method) && r.path == route)
}

/// What to do when no rule matches: unknown pages and API paths still need
/// someone signed in, so probing reveals nothing; signed-in callers get 404.
pub fn fallback(path: &str) -> Rule {
    if path == "/api" || path.starts_with("/api/") {
        Rule { method: "*", path: "", kind: Kind::Api, need: Authenticated }
    } else {
        Rule { method: "*", path: "", kind: Kind::Page, need: User }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No credentials: 401 for the API, a redirect to /login for pages.
    SignIn,
    /// Credentials that lack the right: 403.
    Deny,
}

pub fn decide(need: Need, who: Option<&Principal>) -> Decision {
    let Some(p) = who else {
        return if need == Public { Decision::Allow } else { Decision::SignIn };
    };
    let ok = match need {
        Public | Authenticated => true,
        User => matches!(p, Principal::User(_)),
        Admin => p.is_admin(),
        Scope(s) => p.has_scope(s),
    };
    if ok {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::auth::{Me, UserRole};

    #[test]
    fn patterns() {
        assert!(matches("/api/v1/tokens/{id}", "/api/v1/tokens/abc"));
        assert!(!matches("/api/v1/tokens/{id}", "/api/v1/tokens"));
        assert!(!matches("/api/v1/tokens/{id}", "/api/v1/tokens/abc/x"));
        assert!(matches("/pkg/*", "/pkg/meetmind.wasm"));
        assert!(!matches("/pkg/*", "/pkg"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/jobs"));
        assert_eq!(lookup("HEAD", "/healthz").map(|r| r.path), Some("/healthz"));
        assert!(lookup("DELETE", "/healthz").is_none());
    }

    #[test]
    fn every_rule_is_reachable_and_unique() {
        for (i, r) in RULES.iter().enumerate() {
            let first = RULES.iter().position(|o| o.method == r.method && o.path == r.path).unwrap();
            assert_eq!(first, i, "duplicate rule {} {}", r.method, r.path);
        }
    }

    #[test]
    fn decisions() {
        let interviewer = Principal::User(Me {
            id: "1".into(),
            email: "i@x.io".into(),
            name: "I".into(),
            role: UserRole::Interviewer,
        });
        let token = Principal::Token { id: "t".into(), name: "svc".into(), scopes: vec!["jobs:write".into()] };
        assert_eq!(decide(Public, None), Decision::Allow);
        assert_eq!(decide(User, None), Decision::SignIn);
        assert_eq!(decide(Admin, Some(&interviewer)), Decision::Deny);
        assert_eq!(decide(User, Some(&token)), Decision::Deny);
        assert_eq!(decide(Scope("jobs:write"), Some(&token)), Decision::Allow);
        assert_eq!(decide(Scope("metrics:read"), Some(&token)), Decision::Deny);
        assert_eq!(decide(Authenticated, Some(&token)), Decision::Allow);
    }

    /// A live page reloads itself when its event stream says `signed-out`,
    /// and a refused browser stream says exactly that (middleware.rs). So a
    /// caller the page lets in but its stream refuses would reload forever:
    /// whoever may open a page may open the stream it follows. The pairs are
    /// the `listen(...)` calls in `app`, and the test counts those.
    #[test]
    fn whoever_may_open_a_live_page_may_follow_its_stream() {
        const PAGE_STREAMS: &[(&str, &str)] = &[
            ("/", "/api/v1/events"),
            ("/jobs", "/api/v1/events"),
            ("/jobs/{id}", "/api/v1/events"),
            ("/dlq", "/api/v1/events"),
            ("/workflows", "/api/v1/events"),
            ("/workflows/{id}", "/api/v1/events"),
            ("/interviews/{id}/live", "/api/v1/interviews/{id}/events"),
            ("/room/{token}", "/api/v1/room/{token}/events"),
        ];
        let user = |role| Principal::User(Me { id: "1".into(), email: "u@x.io".into(), name: "U".into(), role });
        let token = |scopes: &[&str]| Principal::Token {
            id: "t".into(),
            name: "svc".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let callers = [
            None,
            Some(user(UserRole::Admin)),
            Some(user(UserRole::Interviewer)),
            Some(token(&["admin"])),
            Some(token(&["jobs:read", "jobs:write", "workflows:read", "workflows:write"])),
            Some(token(&["interviews:read", "interviews:write"])),
        ];
        let pages = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
        let calls: usize = std::fs::read_dir(&pages)
            .expect("the app crate's sources")
            .map(|e| std::fs::read_to_string(e.expect("a directory entry").path()).expect("a source file"))
            .map(|src| src.matches("listen(").count() - src.matches("fn listen(").count())
            .sum();
        assert_eq!(calls, PAGE_STREAMS.len(), "a page follows a stream this test does not know: add the pair");
        for (page, stream) in PAGE_STREAMS {
            let page_rule = exact("GET", page).unwrap_or_else(|| panic!("no rule for the page {page}"));
            let stream_rule = exact("GET", stream).unwrap_or_else(|| panic!("no rule for the stream {stream}"));
            assert_eq!(page_rule.kind, Kind::Page, "{page}");
            for caller in &callers {
                if decide(page_rule.need, caller.as_ref()) == Decision::Allow {
                    assert_eq!(
                        decide(stream_rule.need, caller.as_ref()),
                        Decision::Allow,
                        "{caller:?} may open {page} but not follow {stream}"
                    );
                }
            }
        }
    }
}
