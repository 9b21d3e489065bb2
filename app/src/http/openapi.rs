//! The OpenAPI document, generated from the handlers' annotations.

use super::{admin, auth, health, orders, products};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Orderflow", description = "Event-driven order processing: place orders, watch them complete, get an email."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::me,
        products::list, products::get, products::create, products::update,
        orders::place, orders::list, orders::get, orders::cancel,
        admin::dead_letters, admin::redrive,
        health::healthz, health::readyz, health::metrics,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "products"), (name = "orders"), (name = "ops"), (name = "admin"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
