//! The OpenAPI document, generated from the handlers' annotations, and Swagger UI.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::{account, appointments, auth, doctors, events, ops, patients, procedures, status};

#[derive(OpenApi)]
#[openapi(
    info(title = "Fila", description = "Real-time clinic queue: the appointments side of the ImageMais Clinic API."),
    paths(
        auth::login, auth::token, auth::refresh, auth::me,
        auth::create_key, auth::list_keys, auth::revoke_key,
        account::get_account, account::update_account,
        procedures::create, procedures::list,
        doctors::create, doctors::list, doctors::get_one, doctors::update, doctors::remove,
        patients::create, patients::list, patients::get_one, patients::update,
        appointments::create, appointments::list, appointments::queue, appointments::calls,
        appointments::get_one, appointments::edit, appointments::remove, appointments::reschedule,
        status::change_status,
        events::since,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `GET /api/openapi.json` and Swagger UI at `GET /api/docs`.
pub fn router() -> Router {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
}
