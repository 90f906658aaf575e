//! Upgrades on both backends: a running node goes on working on a schema a newer Fila extended
//! (additive migrations), and a node started on it is refused, naming its schema, before any
//! migration runs.

use fila::store::Store;
use fila::store::schema::{self, Refusal};
use reqwest::StatusCode;
use sqlx::Executor;

use crate::helpers::TestApp;

/// What a newer Fila's additive migration does: nullable columns and columns with a default on
/// the tables a node writes, a new table, and its row in `_sqlx_migrations` (version 9999).
async fn upgrade_as_a_newer_fila_would(app: &TestApp) {
    for sql in [
        "ALTER TABLE patients ADD COLUMN preferred_name TEXT",
        "ALTER TABLE appointments ADD COLUMN room_note TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE appointment_status_history ADD COLUMN device TEXT",
        "CREATE TABLE future_things (id BIGINT PRIMARY KEY, note TEXT NOT NULL DEFAULT '')",
    ] {
        app.store.pool().execute(sql).await.expect(sql);
    }
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'future things', $1, $2, 0)",
    )
    .bind(true)
    .bind(vec![0u8; 48])
    .execute(app.store.pool())
    .await
    .expect("record the migration");
}

#[tokio::test]
async fn a_running_node_works_on_a_newer_schema_and_a_starting_one_is_refused() {
    let app = TestApp::spawn().await;
    let backend = app.store.backend();
    let current = schema::inspect(&app.db_url, backend).await.unwrap();
    assert!(current.pending.is_empty(), "{:?}", current.pending);
    assert_eq!(current.database, Some(schema::binary_schema(backend)));
    assert_eq!(current.refusal, None);
    let token = app.account_token("recepcao@upgrade.test").await;
    let before = app.seed_clinic(&token, "52998224725").await;
    app.book(&token, &before).await;

    upgrade_as_a_newer_fila_would(&app).await;

    // The running node: reads, creates and status moves (history, event log) all work.
    let clinic = app.seed_clinic(&token, "11144477735").await;
    let booked = app.book(&token, &clinic).await;
    let id = booked["id"].as_i64().expect("id");
    let (status, body) = app.set_status(&token, id, "check-in").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, list) = app.get("/api/appointments", &token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(!app.events(&token).await.is_empty());

    // A node starting now is refused, with what the operator needs to know.
    let upgraded = schema::inspect(&app.db_url, backend).await.unwrap();
    assert_eq!(upgraded.database, Some(9999));
    let expected = Refusal::Newer {
        backend,
        database: 9999,
        binary: schema::binary_schema(backend),
    };
    assert_eq!(upgraded.refusal, Some(expected.clone()));
    let refused = Store::connect(&app.db_url)
        .await
        .expect_err("a newer database is refused");
    assert_eq!(refused.downcast_ref::<Refusal>(), Some(&expected));
    assert_eq!(fila::backup::exit_status(&refused), 2);
}
