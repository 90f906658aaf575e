//! The schema check on both backends: a database the server migrated is up to date, and one a
//! newer Fila upgraded is refused, naming its schema, before any migration runs.

use fila::store::Store;
use fila::store::schema::{self, Refusal};

use crate::helpers::TestApp;

#[tokio::test]
async fn a_migrated_database_is_up_to_date_and_one_a_newer_fila_upgraded_is_refused() {
    let app = TestApp::spawn().await;
    let backend = app.store.backend();
    let current = schema::inspect(&app.db_url, backend).await.unwrap();
    assert!(current.pending.is_empty(), "{:?}", current.pending);
    assert_eq!(current.database, Some(schema::binary_schema(backend)));
    assert_eq!(current.refusal, None);

    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'future things', $1, $2, 0)",
    )
    .bind(true)
    .bind(vec![0u8; 48])
    .execute(app.store.pool())
    .await
    .unwrap();

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
