//! Login: exchange the API key for a browser session cookie. A plain HTML
//! form, so it works before (or without) the wasm loading.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let wrong_key = move || query.with(|q| q.get("error").is_some());
    view! {
        <Title text="Log in"/>
        <section class="card login">
            <h1>"Log in"</h1>
            <p class="muted">"This server requires its API key (the value of " <code>"--api-key"</code> " / "
                <code>"TRAINYARD_API_KEY"</code> ")."</p>
            <form method="post" action="/login" rel="external">
                <label for="api_key">"API key"</label>
                <input id="api_key" name="api_key" type="password" autocomplete="current-password" required autofocus/>
                <button type="submit">"Log in"</button>
            </form>
            <Show when=wrong_key>
                <p class="error" role="alert" data-testid="login-error">"That key is not right. Check for extra spaces and try again."</p>
            </Show>
        </section>
    }
}
