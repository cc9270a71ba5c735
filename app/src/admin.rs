//! Admin pages for people and access: users, API tokens and the audit log.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::AdminOnly;
use crate::auth::{AppError, AuditEntry, CreatedToken, TokenView, UserRole, UserView, SCOPES};

#[server(endpoint = "users_list", output = crate::wire::Json)]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.list_users(&who).await
}

#[server(endpoint = "users_create", output = crate::wire::Json)]
pub async fn create_user(email: String, name: String, role: UserRole, password: String) -> Result<UserView, AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.create_user(&who, crate::auth::NewUser { email, name, role, password }).await
}

#[server(endpoint = "users_set_role", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn set_user_role(id: String, role: UserRole) -> Result<(), AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.set_user_role(&who, &id, role).await
}

#[server(endpoint = "users_set_disabled", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn set_user_disabled(id: String, disabled: bool) -> Result<(), AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.set_user_disabled(&who, &id, disabled).await
}

#[server(endpoint = "tokens_list", output = crate::wire::Json)]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.list_tokens(&who).await
}

#[server(endpoint = "tokens_create", output = crate::wire::Json)]
pub async fn create_token(name: String, scopes: String) -> Result<CreatedToken, AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.create_token(&who, &name, &scopes).await
}

#[server(endpoint = "tokens_revoke", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.revoke_token(&who, &id).await
}

#[server(endpoint = "audit_list", output = crate::wire::Json)]
pub async fn audit_log() -> Result<Vec<AuditEntry>, AppError> {
    let who = crate::services::require_admin()?;
    crate::services::auth_service()?.audit_log(&who, 200).await
}

/// Milliseconds since the epoch as a UTC timestamp, without a date library.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn error_view(value: Option<Result<impl Sized + 'static, AppError>>) -> Option<AnyView> {
    match value {
        Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
        _ => None,
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <AdminOnly><UsersAdmin/></AdminOnly> }
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let users = Resource::new(
        move || (create.version().get(), set_role.version().get(), set_disabled.version().get()),
        |_| list_users(),
    );

    view! {
        <Title text="Users"/>
        <section class="panel">
            <h1>"Users"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || users.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                        <table class="table" data-testid="users">
                            <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|u| {
                                    let id = u.id.clone();
                                    let id2 = u.id.clone();
                                    let other = if u.role == UserRole::Admin { UserRole::Interviewer } else { UserRole::Admin };
                                    view! {
                                        <tr data-email=u.email.clone()>
                                            <td>{u.name.clone()}</td>
                                            <td>{u.email.clone()}</td>
                                            <td>{u.role.as_str()}</td>
                                            <td>{if u.disabled { "disabled" } else { "active" }}</td>
                                            <td class="actions">
                                                <button class="small" on:click=move |_| {
                                                    set_role.dispatch(SetUserRole { id: id.clone(), role: other });
                                                }>{format!("Make {}", other.as_str())}</button>
                                                <button class="small" on:click=move |_| {
                                                    set_disabled.dispatch(SetUserDisabled { id: id2.clone(), disabled: !u.disabled });
                                                }>{if u.disabled { "Enable" } else { "Disable" }}</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                })}
            </Transition>
            {move || error_view(set_role.value().get())}
            {move || error_view(set_disabled.value().get())}
        </section>
        <section class="panel">
            <h2>"Add a user"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-user">
                <label>"Name" <input name="name" required/></label>
                <label>"Email" <input type="email" name="email" required/></label>
                <label>"Role"
                    <select name="role">
                        <option value="interviewer">"Interviewer"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </label>
                <label>"Initial password (at least 10 characters)" <input type="password" name="password" minlength="10" autocomplete="new-password" required/></label>
                <button type="submit" disabled=move || create.pending().get()>"Create user"</button>
            </ActionForm>
            {move || error_view(create.value().get())}
            {move || match create.value().get() {
                Some(Ok(u)) => Some(view! { <p class="notice" role="status">{format!("Created {}", u.email)}</p> }),
                _ => None,
            }}
        </section>
    }
}

#[component]
pub fn TokensPage() -> impl IntoView {
    view! { <AdminOnly><TokensAdmin/></AdminOnly> }
}

#[component]
fn TokensAdmin() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());

    view! {
        <Title text="API tokens"/>
        <section class="panel">
            <h1>"API tokens"</h1>
            <p class="muted">"Services send a token as "<code>"Authorization: Bearer …"</code>". Only a hash is stored."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || tokens.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap"><table class="table" data-testid="tokens">
                            <thead><tr><th>"Name"</th><th>"Scopes"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|t| {
                                    let id = t.id.clone();
                                    let revoked = t.revoked_at_ms.is_some();
                                    view! {
                                        <tr>
                                            <td>{t.name.clone()}</td>
                                            <td>{t.scopes.join(", ")}</td>
                                            <td>{format_ms(t.created_at_ms)}</td>
                                            <td>{t.last_used_at_ms.map(format_ms).unwrap_or_else(|| "never".into())}</td>
                                            <td>{if revoked { "revoked" } else { "active" }}</td>
                                            <td>{(!revoked).then(|| view! {
                                                <button class="small danger" on:click=move |_| {
                                                    revoke.dispatch(RevokeToken { id: id.clone() });
                                                }>"Revoke"</button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
        </section>
        <section class="panel">
            <h2>"Create a token"</h2>
            <ActionForm action=create attr:class="form">
                <label>"Name" <input name="name" required placeholder="billing-service"/></label>
                <label>"Scopes (comma-separated)" <input name="scopes" required placeholder="jobs:write"/></label>
                <p class="muted">{SCOPES.iter().map(|(n, d)| format!("{n}: {d}")).collect::<Vec<_>>().join(" · ")}</p>
                <button type="submit" disabled=move || create.pending().get()>"Create token"</button>
            </ActionForm>
            {move || error_view(create.value().get())}
            {move || match create.value().get() {
                Some(Ok(t)) => Some(view! {
                    <div class="notice" role="status">
                        <p>"Copy this token now; it will not be shown again:"</p>
                        <code class="secret" data-testid="new-token">{t.secret}</code>
                    </div>
                }),
                _ => None,
            }}
        </section>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <AdminOnly><AuditAdmin/></AdminOnly> }
}

#[component]
fn AuditAdmin() -> impl IntoView {
    let entries = Resource::new(|| (), |_| audit_log());
    view! {
        <Title text="Audit log"/>
        <section class="panel">
            <h1>"Audit log"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || entries.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap"><table class="table" data-testid="audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| view! {
                                    <tr>
                                        <td>{format_ms(e.at_ms)}</td>
                                        <td>{e.actor}</td>
                                        <td>{e.action}</td>
                                        <td>{e.target}</td>
                                        <td>{e.detail}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_format_in_utc() {
        assert_eq!(super::format_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_ms(1_795_800_000_000), "2026-11-27 17:20:00 UTC");
    }
}
