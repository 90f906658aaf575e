//! The OpenAPI document, generated from the handlers' annotations, and Swagger UI.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ErrorBody, ErrorMessage};

use super::{
    account, appointments, auth, doctors, events, history, ops, patients, procedures, reports,
    self_checkin, status, status_link, users,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Fila", description = "Real-time clinic queue: the appointments side of the ImageMais Clinic API."),
    paths(
        auth::login, auth::token, auth::refresh, auth::logout, auth::change_password, auth::me,
        auth::create_key, auth::list_keys, auth::revoke_key,
        users::create, users::list, users::get_one, users::update,
        account::get_account, account::update_account,
        procedures::create, procedures::list, procedures::get_one, procedures::update, procedures::remove,
        doctors::create, doctors::list, doctors::get_one, doctors::update, doctors::remove,
        doctors::slots_of_day,
        patients::create, patients::list, patients::get_one, patients::update,
        patients::appointments_of,
        appointments::create, appointments::list, appointments::queue, appointments::calls,
        appointments::get_one, appointments::edit, appointments::remove, appointments::reschedule,
        status::change_status, history::history,
        status_link::create_link, status_link::revoke_links, status_link::public_status,
        status_link::recall, self_checkin::self_checkin,
        events::since,
        reports::waits, reports::attendance, reports::doctors, reports::arrivals,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(ErrorBody, ErrorMessage)),
    modifiers(&BearerAuth, &CommonErrors),
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

/// The answers every operation may give besides its own: 401 where a token is needed, 415
/// and 413 where a JSON body is read, 400 for a bad body or query, all in the error shape.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                let has_input =
                    has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let responses = &mut operation.responses.responses;
                let mut add = |code: &str, description: &str| {
                    responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(description).into());
                };
                if has_input {
                    add("400", "Bad body or query (`message` lists the problems)");
                }
                if secured {
                    add("401", "Missing, invalid or expired token");
                }
                if has_body {
                    add("413", "Body too large");
                    add("415", "Body is not JSON");
                }
            }
        }
    }
}

/// `GET /api/openapi.json` and Swagger UI at `GET /api/docs`.
pub fn router() -> Router {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
}
