//! The API's routes and its OpenAPI document come from one list of handlers: each
//! handler's `#[utoipa::path]` names the path and methods axum serves it at and the
//! operation the document describes, so a route cannot be served undocumented or
//! documented unserved.

use super::AppState;
use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Paths, RefOr};

/// The routes and what documents them, built up one handler at a time by [`api!`].
pub struct Api {
    pub router: Router<AppState>,
    pub paths: Paths,
    /// Every schema the operations reference, for the document's components.
    pub schemas: Vec<(String, RefOr<Schema>)>,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            router: Router::new(),
            paths: Paths::new(),
            schemas: Vec::new(),
        }
    }
}

impl Api {
    /// Serves `handler` at the path and methods its `#[utoipa::path]` (`P`) names, and
    /// documents it. `SchemaReferences` and `Tags` are utoipa's hidden traits for the
    /// schemas an operation uses and the tags it is filed under; utoipa-axum's router
    /// relies on them the same way.
    pub fn operation<P, H, T>(mut self, handler: H) -> Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + utoipa::__dev::Tags<'static>,
        H: Handler<T, AppState>,
        T: 'static,
    {
        let path = P::path();
        let methods = P::methods();
        let filter = methods
            .iter()
            .map(filter_of)
            .reduce(MethodFilter::or)
            .unwrap_or_else(|| panic!("#[utoipa::path] of {path} names no method"));
        self.router = self.router.route(&path, on(filter, handler));
        // `Path::operation` leaves out the attribute's `tag`, which utoipa hands out
        // apart (as its own router does): without it every operation lands under
        // "default" in Swagger UI and in one module of a generated client.
        let mut operation = P::operation();
        let tags = P::tags();
        if !tags.is_empty() {
            operation.tags = Some(tags.into_iter().map(str::to_owned).collect());
        }
        self.paths.add_path_operation(&path, methods, operation);
        P::schemas(&mut self.schemas);
        self
    }
}

fn filter_of(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

/// `api![module::handler, …]`: each handler served and documented from its
/// `#[utoipa::path]` (the `__path_<handler>` type that attribute generates).
macro_rules! api {
    ($($module:ident :: $handler:ident),* $(,)?) => {
        pastey::paste! {
            $crate::http::routes::Api::default()
                $( .operation::<$module::[<__path_ $handler>], _, _>($module::$handler) )*
        }
    };
}
pub(crate) use api;
