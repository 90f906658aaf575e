//! The OpenAPI 3.1 document, generated from the handlers' annotations, and Swagger UI.
//!
//! The annotations say what is particular to each operation; [`Contract`] adds what the
//! contract says of every operation, so no handler can forget it: public operations declare
//! `security: []`, every error answer carries the error body (`ErrorBody`), the answers every
//! operation of a kind may give (400, 401, 408, 413, 415, 503; 507 on writes) are listed, and
//! 429, 503 and 507 declare their `Retry-After` header.

use axum::Router;
use axum::http::StatusCode;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ErrorBody, ErrorMessage};

use super::{
    account, appointments, asyncapi, auth, doctors, events, history, ops, patients, procedures,
    reports, self_checkin, status, status_link, users,
};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(title = "Fila", description = "Real-time clinic queue: the appointments side of the ImageMais Clinic API. \
        The Socket.IO events are described by the AsyncAPI document at `/api/asyncapi.json`."),
    servers((url = "/", description = "The server that serves this document")),
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
        ops::healthz, ops::readyz, ops::metrics, asyncapi::document,
    ),
    components(schemas(ErrorBody, ErrorMessage)),
    tags(
        (name = "auth", description = "Logging in, trading an API key for a token, sessions"),
        (name = "api-keys", description = "The keys the master user releases to integrations"),
        (name = "users", description = "The clinic's staff (master only)"),
        (name = "account", description = "The clinic's settings"),
        (name = "procedures", description = "Procedures and their prices"),
        (name = "doctors", description = "Doctors, their hours and free slots"),
        (name = "patients", description = "Patients"),
        (name = "appointments", description = "Appointments, their status moves and the queue"),
        (name = "patients' status", description = "Status links, the patient's public status page and self check-in"),
        (name = "events", description = "Missed events, from the durable log"),
        (name = "reports", description = "Waits, attendance, doctors and arrivals over a range of days"),
        (name = "operations", description = "Liveness, readiness, metrics and the documents of the API"),
    ),
    modifiers(&BearerAuth, &Contract),
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
                    .description(Some(
                        "The access token of `POST /api/auth/login` or `POST /api/auth/token`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The probes: never refused at the connection limit (`serve::is_operations`) and, but for
/// `/readyz`, whose 503 is its own answer, never reading the database.
const PROBES: [&str; 3] = ["getHealth", "getReadiness", "getMetrics"];

/// Operations whose 503 is their own answer (not the error body, no `Retry-After`).
const OWN_503: [&str; 1] = ["getReadiness"];

/// What the contract says of every operation (see the module's comment).
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (operation, writes) in operations {
                if let Some(operation) = operation {
                    complete(operation, writes);
                }
            }
        }
    }
}

fn complete(operation: &mut Operation, writes: bool) {
    let id = operation.operation_id.clone().unwrap_or_default();
    // An operation that names no scheme is public: say so, rather than leave it unsaid.
    let security = operation.security.get_or_insert_with(Vec::new);
    let secured = !security.is_empty();
    let has_body = operation.request_body.is_some();
    let has_input = has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let responses = &mut operation.responses.responses;
    let mut add = |code: u16, description: &str| {
        responses
            .entry(code.to_string())
            .or_insert_with(|| ResponseBuilder::new().description(description).into());
    };
    if has_input {
        add(400, "Bad body or query (`message` lists the problems)");
    }
    if secured {
        add(401, "Missing, invalid or expired token");
    }
    if has_body {
        add(
            408,
            "The body did not arrive within the server's request timeout",
        );
        add(413, "Body too large");
        add(415, "Body is not JSON");
    }
    if !PROBES.contains(&id.as_str()) {
        add(
            503,
            "The database cannot be reached now, its disk is read-only or failing, or the \
             server is at its connection limit: retry after `Retry-After` seconds",
        );
    }
    if writes {
        add(
            507,
            "The database's disk is full: nothing was changed; retry after `Retry-After` seconds",
        );
    }
    for (code, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let status = code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok());
        let Some(status) = status else { continue };
        if response.description.is_empty() {
            response.description = status.canonical_reason().unwrap_or("Answer").to_string();
        }
        let own = status == StatusCode::SERVICE_UNAVAILABLE && OWN_503.contains(&id.as_str());
        if (status.is_client_error() || status.is_server_error()) && !own {
            error_answer(response, status);
        }
    }
}

/// The error body on an error answer, and `Retry-After` on those that send it.
fn error_answer(response: &mut Response, status: StatusCode) {
    if response.content.is_empty() {
        response.content.insert(
            "application/json".to_string(),
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        );
    }
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::INSUFFICIENT_STORAGE
    ) {
        response.headers.insert(
            "Retry-After".to_string(),
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
}

/// `GET /api/openapi.json` and Swagger UI at `GET /api/docs`.
pub fn router() -> Router {
    Router::new().merge(SwaggerUi::new("/api/docs").url(OPENAPI_PATH, ApiDoc::openapi()))
}
