//! The OpenAPI document: the operations `super::operations()` serves, under the title,
//! tags and security scheme declared here.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Orderflow", description = "Event-driven order processing: place orders, watch them complete, get an email."),
    tags(
        (name = "auth", description = "Accounts, tokens and passwords"),
        (name = "products", description = "The catalogue and its stock"),
        (name = "orders", description = "Placing, following and cancelling orders"),
        (name = "admin", description = "The admin desk: orders, users, dead letters, the outbox and emails"),
        (name = "webhooks", description = "Signed event deliveries to registered endpoints"),
        (name = "ops", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

/// The document `/openapi.json` serves.
pub fn document() -> utoipa::openapi::OpenApi {
    let operations = super::operations();
    let mut doc = ApiDoc::openapi();
    doc.paths = operations.paths;
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(operations.schemas);
    // After the paths are in: CommonErrors adds to every operation.
    BearerAuth.modify(&mut doc);
    CommonErrors.modify(&mut doc);
    doc
}

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

/// Errors any operation can answer, documented once instead of on every handler:
/// malformed or oversized bodies, a missing or bad token, timeouts, overload and outages.
struct CommonErrors;

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| problem(description).into());
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                if op.request_body.is_some() {
                    add(op, "400", "invalid_json: the body is not JSON");
                    add(op, "413", "payload_too_large");
                    add(
                        op,
                        "415",
                        "unsupported_media_type: Content-Type must be application/json",
                    );
                    add(op, "422", "validation_failed");
                }
                if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    add(op, "422", "validation_failed");
                }
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(op, "401", "unauthorized: missing or invalid bearer token");
                }
                add(op, "408", "timeout");
                add(op, "500", "internal");
                add(op, "503", "unavailable: a dependency is down; retry later");
            }
        }
    }
}
