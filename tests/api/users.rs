//! Staff users (master only), deactivation, the actor of every status move, and procedures
//! edited and removed.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::helpers::{PASSWORD, TestApp, names};

const STAFF_PASSWORD: &str = "recepcao123";

/// A master token and a staff user created by it: `(master, staff token, staff id)`.
async fn master_and_staff(app: &TestApp, prefix: &str) -> (String, String, i64) {
    let master = app
        .account_token(&format!("{prefix}-master@clinica.test"))
        .await;
    let email = format!("{prefix}-ana@clinica.test");
    let (s, user) = app
        .post(
            "/api/users",
            &master,
            json!({"name": "Ana Recepção", "email": email, "password": STAFF_PASSWORD, "isMaster": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let id = user["id"].as_i64().unwrap();
    assert_eq!(
        user,
        json!({"id": id, "name": "Ana Recepção", "email": email, "isMaster": false, "active": true})
    );
    let staff = app.login(&email, STAFF_PASSWORD).await;
    (master, staff, id)
}

#[tokio::test]
async fn the_master_manages_users_and_staff_cannot() {
    let app = TestApp::spawn().await;
    let (master, staff, staff_id) = master_and_staff(&app, "manage").await;

    let (s, me) = app.get("/api/me", &staff).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["isMaster"], false);
    let (s, list) = app.get("/api/users", &master).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["manage-ana@clinica.test", "manage-master@clinica.test"]
    );

    // A staff user can work the agenda but not manage users, keys or settings.
    let (s, _) = app.get("/api/appointments", &staff).await;
    assert_eq!(s, StatusCode::OK);
    for (method, path, body) in [
        (Method::GET, "/api/users".to_string(), None),
        (
            Method::POST,
            "/api/users".to_string(),
            Some(json!({"name": "X", "email": "x@clinica.test", "password": "12345678"})),
        ),
        (
            Method::PATCH,
            format!("/api/users/{staff_id}"),
            Some(json!({"isMaster": true})),
        ),
        (Method::GET, format!("/api/users/{staff_id}"), None),
        (Method::GET, "/api/api-keys".to_string(), None),
        (
            Method::POST,
            "/api/api-keys".to_string(),
            Some(json!({"name": "k"})),
        ),
        (Method::DELETE, "/api/api-keys/1".to_string(), None),
        (
            Method::PATCH,
            "/api/account".to_string(),
            Some(json!({"name": "Nova"})),
        ),
    ] {
        let (s, body) = app.call(method.clone(), &path, Some(&staff), body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["statusCode"], 403);
    }
    let (_, list) = app.get("/api/users", &master).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "nothing was created");

    // Bad input and a taken email change nothing.
    let (s, body) = app
        .post(
            "/api/users",
            &master,
            json!({"name": " ", "email": "nope", "password": "short"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"].as_array().unwrap().len(), 3, "{body}");
    let (s, _) = app
        .post(
            "/api/users",
            &master,
            json!({"name": "Outra", "email": "MANAGE-ana@clinica.test", "password": "12345678"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The master edits the user: name, master flag, password.
    let (s, changed) = app
        .patch(
            &format!("/api/users/{staff_id}"),
            &master,
            json!({"name": "Ana Souza", "isMaster": true, "password": "nova-senha-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Ana Souza");
    assert_eq!(changed["isMaster"], true);
    let promoted = app.login("manage-ana@clinica.test", "nova-senha-1").await;
    let (s, _) = app.get("/api/users", &promoted).await;
    assert_eq!(s, StatusCode::OK, "a promoted user manages users");

    // Another clinic sees none of these users.
    let other = app.account_token("manage-other@clinica.test").await;
    let (s, _) = app.get(&format!("/api/users/{staff_id}"), &other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .patch(
            &format!("/api/users/{staff_id}"),
            &other,
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/api/users", &other).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deactivation_cuts_the_users_tokens_at_once() {
    let app = TestApp::spawn().await;
    let (master, staff, staff_id) = master_and_staff(&app, "cut").await;
    let (s, _) = app.get("/api/doctors", &staff).await;
    assert_eq!(s, StatusCode::OK);

    let (s, user) = app
        .patch(
            &format!("/api/users/{staff_id}"),
            &master,
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{user}");
    assert_eq!(user["active"], false);

    let (s, body) = app.get("/api/doctors", &staff).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "user deactivated");
    let (s, _) = app
        .call(Method::POST, "/api/auth/refresh", Some(&staff), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no refresh");
    let (s, body) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "cut-ana@clinica.test", "password": STAFF_PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no login");
    assert_eq!(body["message"], "user deactivated");
    let (s, body) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "cut-ana@clinica.test", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["message"], "invalid email or password",
        "a wrong password says nothing about the user"
    );

    // The master cannot lock themselves out.
    let (_, me) = app.get("/api/me", &master).await;
    let master_id = me["userId"].as_i64().unwrap();
    for patch in [json!({"active": false}), json!({"isMaster": false})] {
        let (s, _) = app
            .patch(&format!("/api/users/{master_id}"), &master, patch)
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
    }
    let (s, _) = app.get("/api/users", &master).await;
    assert_eq!(s, StatusCode::OK);

    // Reactivated, the user logs in again.
    let (s, user) = app
        .patch(
            &format!("/api/users/{staff_id}"),
            &master,
            json!({"active": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(user["active"], true);
    let again = app.login("cut-ana@clinica.test", STAFF_PASSWORD).await;
    let (s, _) = app.get("/api/doctors", &again).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_status_history_records_who_made_each_move() {
    let app = TestApp::spawn().await;
    let (master, staff, staff_id) = master_and_staff(&app, "actor").await;
    let clinic = app.seed_clinic(&master, "529.982.247-25").await;
    let id = app.book(&master, &clinic).await["id"].as_i64().unwrap();
    let (_, key) = app
        .post("/api/api-keys", &master, json!({"name": "Totem"}))
        .await;
    let (_, traded) = app.trade_key(key["key"].as_str().unwrap()).await;
    let integration = traded["accessToken"].as_str().unwrap().to_string();

    let (s, _) = app.set_status(&staff, id, "check-in").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.set_status(&master, id, "em atendimento").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.set_status(&integration, id, "finalizado").await;
    assert_eq!(s, StatusCode::OK);

    let (s, history) = app
        .get(&format!("/api/appointments/{id}/history"), &staff)
        .await;
    assert_eq!(s, StatusCode::OK, "{history}");
    let moves = history.as_array().unwrap();
    assert_eq!(moves.len(), 3);
    let (_, me) = app.get("/api/me", &master).await;
    let master_id = me["userId"].as_i64().unwrap();
    assert_eq!(moves[0]["from"]["name"], "Agendado");
    assert_eq!(moves[0]["to"]["name"], "Check-in");
    assert_eq!(moves[0]["userId"], staff_id);
    assert_eq!(moves[0]["userName"], "Ana Recepção");
    assert_eq!(moves[0]["apiKeyId"], json!(null));
    assert_eq!(moves[1]["to"]["name"], "Em atendimento");
    assert_eq!(moves[1]["userId"], master_id);
    assert_eq!(moves[1]["doctorId"], clinic.doctor_id);
    assert_eq!(moves[2]["to"]["name"], "Finalizado");
    assert_eq!(moves[2]["apiKeyId"], key["id"]);
    assert_eq!(moves[2]["apiKeyName"], "Totem");
    assert_eq!(moves[2]["userId"], master_id, "the key's releaser");
    assert!(moves[0]["at"].as_str().unwrap().ends_with('Z'));

    let other = app.account_token("actor-other@clinica.test").await;
    let (s, _) = app
        .get(&format!("/api/appointments/{id}/history"), &other)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another clinic's appointment");
}

#[tokio::test]
async fn procedures_are_edited_and_removed_and_their_doctors_broadcast() {
    let app = TestApp::spawn().await;
    let token = app.account_token("procedures@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let path = format!("/api/procedures/{}", clinic.procedure_id);
    let before = app.events(&token).await.len();

    let (s, changed) = app
        .patch(
            &path,
            &token,
            json!({"name": "Ultrassom de tireoide", "price": 120.5}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Ultrassom de tireoide");
    assert_eq!(changed["price"], "120.50");
    let events = app.events(&token).await;
    assert_eq!(names(&events[before..]), ["doctors.updated"]);
    assert_eq!(
        events[before]["data"]["procedures"][0]["name"],
        "Ultrassom de tireoide"
    );

    let (s, body) = app.patch(&path, &token, json!({"price": "-1"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    let (s, _) = app.delete(&path, &token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&path, &token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, doctor) = app
        .get(&format!("/api/doctors/{}", clinic.doctor_id), &token)
        .await;
    assert_eq!(doctor["procedures"], json!([]));
    let events = app.events(&token).await;
    assert_eq!(
        names(&events[before..]),
        ["doctors.updated", "doctors.updated"]
    );
    let (_, list) = app.get("/api/procedures", &token).await;
    assert_eq!(list, json!([]));
    let (s, _) = app.delete(&path, &token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_master_sets_how_the_panel_writes_names() {
    let app = TestApp::spawn().await;
    let (master, staff, _) = master_and_staff(&app, "panel").await;
    let (_, account) = app.get("/api/account", &staff).await;
    assert_eq!(account["panelNameStyle"], "short", "the default");
    let (s, account) = app
        .patch(
            "/api/account",
            &master,
            json!({"panelNameStyle": "initials"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{account}");
    assert_eq!(account["panelNameStyle"], "initials");
    assert_eq!(account["waitWarnMinutes"], 15, "the rest is kept");
    let (s, body) = app
        .patch("/api/account", &master, json!({"panelNameStyle": "nick"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _) = app
        .patch("/api/account", &staff, json!({"panelNameStyle": "full"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, account) = app.get("/api/account", &master).await;
    assert_eq!(account["panelNameStyle"], "initials");
}

/// How many of the account's users are active masters, read from the database.
async fn active_masters(app: &TestApp, account_id: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE account_id = $1 AND is_master = 1 AND active = 1",
    )
    .bind(account_id)
    .fetch_one(app.store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_last_active_master_cannot_be_demoted_or_deactivated() {
    let app = TestApp::spawn().await;
    let (account_id, master_id) = app
        .create_account("Clínica", "last-master@clinica.test")
        .await;
    let master = app.login("last-master@clinica.test", PASSWORD).await;

    // Alone, the master can neither deactivate nor demote themselves: 409, nothing changes.
    for patch in [
        json!({"active": false}),
        json!({"isMaster": false}),
        json!({"name": "Outro nome", "active": false, "isMaster": false}),
    ] {
        let (s, body) = app
            .patch(&format!("/api/users/{master_id}"), &master, patch.clone())
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{patch}: {body}");
        assert_eq!(body["statusCode"], 409);
        assert_eq!(body["error"], "Conflict");
    }
    let (_, me) = app.get(&format!("/api/users/{master_id}"), &master).await;
    assert_eq!(me["name"], "Clínica", "nothing changed");
    assert_eq!(
        (me["isMaster"].clone(), me["active"].clone()),
        (json!(true), json!(true))
    );

    // A second master can be demoted, then deactivated; the first one stays the last.
    let (s, second) = app
        .post(
            "/api/users",
            &master,
            json!({"name": "Bia", "email": "last-bia@clinica.test", "password": STAFF_PASSWORD, "isMaster": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let second_id = second["id"].as_i64().unwrap();
    assert_eq!(active_masters(&app, account_id).await, 2);
    let (s, body) = app
        .patch(
            &format!("/api/users/{second_id}"),
            &master,
            json!({"isMaster": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app
        .patch(
            &format!("/api/users/{second_id}"),
            &master,
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = app
        .patch(
            &format!("/api/users/{master_id}"),
            &master,
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(active_masters(&app, account_id).await, 1);
}

/// `actor` sends `patch` for user `target` once the barrier opens; answers the status.
fn patch_at_barrier(
    app: &TestApp,
    barrier: Arc<Barrier>,
    actor: String,
    target: i64,
    patch: Value,
) -> tokio::task::JoinHandle<StatusCode> {
    let request = app
        .client
        .patch(format!("{}/api/users/{target}", app.base))
        .bearer_auth(actor)
        .json(&patch);
    tokio::spawn(async move {
        barrier.wait().await;
        request.send().await.expect("PATCH").status()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_masters_removing_each_other_at_once_leave_one_active_master() {
    const ROUNDS: usize = 24;
    let app = TestApp::spawn().await;
    let emails = ["race-a@clinica.test", "race-b@clinica.test"];
    let (account_id, a_id) = app.create_account("Clínica", emails[0]).await;
    let a = app.login(emails[0], PASSWORD).await;
    let (s, b) = app
        .post(
            "/api/users",
            &a,
            json!({"name": "B", "email": emails[1], "password": PASSWORD, "isMaster": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let ids = [a_id, b["id"].as_i64().unwrap()];
    // Each round, both masters remove the other at once: deactivate or demote, all four pairs.
    let removals = [json!({"active": false}), json!({"isMaster": false})];
    let mut last_master_conflicts = 0;
    for round in 0..ROUNDS {
        let tokens = [
            app.login(emails[0], PASSWORD).await,
            app.login(emails[1], PASSWORD).await,
        ];
        let barrier = Arc::new(Barrier::new(2));
        let by_a = patch_at_barrier(
            &app,
            barrier.clone(),
            tokens[0].clone(),
            ids[1],
            removals[round % 2].clone(),
        );
        let by_b = patch_at_barrier(
            &app,
            barrier,
            tokens[1].clone(),
            ids[0],
            removals[(round / 2) % 2].clone(),
        );
        let statuses = [by_a.await.unwrap(), by_b.await.unwrap()];
        let succeeded = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(
            succeeded, 1,
            "round {round}: exactly one wins: {statuses:?}"
        );
        for status in statuses.iter().filter(|s| **s != StatusCode::OK) {
            // 409 when the loser's change reached its transaction after the winner's commit;
            // 401 / 403 when the loser's token or master flag was already gone at the door.
            assert!(
                [
                    StatusCode::CONFLICT,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN
                ]
                .contains(status),
                "round {round}: {statuses:?}"
            );
            if *status == StatusCode::CONFLICT {
                last_master_conflicts += 1;
            }
        }
        assert_eq!(
            active_masters(&app, account_id).await,
            1,
            "round {round}: the clinic keeps one active master"
        );
        // Both masters again for the next round.
        sqlx::query("UPDATE users SET is_master = 1, active = 1 WHERE account_id = $1")
            .bind(account_id)
            .execute(app.store.pool())
            .await
            .unwrap();
    }
    eprintln!("{last_master_conflicts} of {ROUNDS} rounds ended in the last-master 409");
}
