//! Signing in and out, the first-run setup page, and the signed-in user the
//! rest of the app reads from context.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use crate::auth::{AppError, Me, UserRole};

#[server(endpoint = "me", output = crate::wire::Json)]
pub async fn who_am_i() -> Result<Option<Me>, AppError> {
    Ok(match crate::services::principal() {
        Some(crate::auth::Principal::User(me)) => Some(me),
        _ => None,
    })
}

#[server(endpoint = "login", output = crate::wire::Json)]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<String, AppError> {
    use crate::services::{auth_service, request_meta, set_cookie};
    let session = auth_service()?.login(&email, &password, &request_meta()?).await?;
    set_cookie(&session.set_cookie);
    let to = crate::auth::safe_next(next.as_deref());
    leptos_axum::redirect(&to);
    Ok(to)
}

#[server(endpoint = "logout", output = crate::wire::Json)]
pub async fn logout() -> Result<(), AppError> {
    use crate::services::{auth_service, request_meta, set_cookie};
    let clear = auth_service()?.logout(&request_meta()?).await?;
    set_cookie(&clear);
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "setup_check", output = crate::wire::Json)]
pub async fn setup_check(token: String) -> Result<bool, AppError> {
    crate::services::auth_service()?.setup_token_valid(&token).await
}

#[server(endpoint = "setup", output = crate::wire::Json)]
pub async fn complete_setup(token: String, email: String, name: String, password: String) -> Result<(), AppError> {
    use crate::services::{auth_service, request_meta, set_cookie};
    let user = crate::auth::NewUser { email, name, role: UserRole::Admin, password };
    let session = auth_service()?.complete_setup(&token, user, &request_meta()?).await?;
    set_cookie(&session.set_cookie);
    leptos_axum::redirect("/");
    Ok(())
}

/// The signed-in user, loaded once per navigation and shared through context.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<Me>, AppError>>);

pub fn provide_current_user() -> CurrentUser {
    let location = use_location();
    // Keyed on the path so a sign-in, sign-out or expiry shows on the next page.
    let res = Resource::new(move || location.pathname.get(), |_| who_am_i());
    let current = CurrentUser(res);
    provide_context(current);
    current
}

pub fn current_user() -> Option<CurrentUser> {
    use_context::<CurrentUser>()
}

/// Renders its children for admins only. The server refuses admin pages and
/// server functions on its own; this covers client-side navigation.
#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    let user = current_user().expect("CurrentUser is provided by the shell");
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                user.0.get().map(move |r| match r {
                    Ok(Some(me)) if me.role == UserRole::Admin => children().into_any(),
                    Ok(Some(_)) => view! { <Forbidden/> }.into_any(),
                    _ => view! {
                        <section class="panel"><h1>"Please sign in"</h1><p><a href="/login">"Sign in"</a></p></section>
                    }
                    .into_any(),
                })
            }}
        </Transition>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    view! {
        <Title text="Not allowed"/>
        <section class="panel" data-testid="forbidden">
            <h1>"This page is for admins"</h1>
            <p>"Your role does not include it. "<a href="/interviews">"Go to your interviews"</a></p>
        </section>
    }
}

fn error_text(value: Option<Result<impl Sized, AppError>>) -> Option<String> {
    match value {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_else(|| "/".to_string());
    let action = ServerAction::<Login>::new();
    let error = move || error_text(action.value().get());

    view! {
        <Title text="Sign in"/>
        <section class="panel auth-card">
            <h1>"Sign in"</h1>
            <ActionForm action=action attr:class="form" attr:data-testid="login-form">
                <input type="hidden" name="next" prop:value=next/>
                <label>"Email" <input type="email" name="email" autocomplete="username" required/></label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
            {move || error().map(|e| view! { <p class="form-error" role="alert" data-testid="login-error">{e}</p> })}
            <p class="muted">"Accounts are created by an admin. The first admin comes from the setup link printed at first start, or from "<code>"meetmind user create --admin"</code>"."</p>
        </section>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let valid = Resource::new(token, setup_check);
    let action = ServerAction::<CompleteSetup>::new();
    let error = move || error_text(action.value().get());

    view! {
        <Title text="Set up MeetMind"/>
        <section class="panel auth-card">
            <h1>"Create the first admin"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Checking the link…"</p> }>
                {move || valid.get().map(|ok| match ok {
                    Ok(true) => view! {
                        <ActionForm action=action attr:class="form">
                            <input type="hidden" name="token" prop:value=token/>
                            <label>"Name" <input name="name" required/></label>
                            <label>"Email" <input type="email" name="email" autocomplete="username" required/></label>
                            <label>
                                "Password (at least 10 characters)"
                                <input type="password" name="password" autocomplete="new-password" minlength="10" required/>
                            </label>
                            <button type="submit" disabled=move || action.pending().get()>"Create admin and sign in"</button>
                        </ActionForm>
                        {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                    }.into_any(),
                    _ => view! {
                        <p data-testid="setup-invalid">
                            "This setup link is not valid: it was used already, it expired, or an admin exists. "
                            <a href="/login">"Sign in"</a>
                        </p>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The header's account area: who is signed in, and a sign-out button.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let user = current_user().expect("CurrentUser is provided by the shell");
    let action = ServerAction::<Logout>::new();
    view! {
        <Transition fallback=|| ()>
            {move || user.0.get().map(|r| match r {
                Ok(Some(me)) => view! {
                    <div class="account">
                        <span class="who" data-testid="who">{me.name.clone()}" · "{me.role.as_str()}</span>
                        <ActionForm action=action attr:class="inline">
                            <button type="submit" class="link">"Sign out"</button>
                        </ActionForm>
                    </div>
                }.into_any(),
                _ => view! { <a class="account" href="/login">"Sign in"</a> }.into_any(),
            })}
        </Transition>
    }
}
