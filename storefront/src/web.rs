//! Placeholder for the storefront web page (static HTML/JS served from here, calling the JSON
//! API). Not built yet: `router()` is already merged into the app (see `routes::router`), so
//! adding the page means adding routes here and nothing else.

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
