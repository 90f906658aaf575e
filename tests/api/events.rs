use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn the_log_serves_events_after_a_seq_in_order_with_their_payloads() {
    let app = TestApp::spawn().await;
    let token = app.account_token("log@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let booked = app.book(&token, &clinic).await;
    let id = booked["id"].as_i64().unwrap();
    let (_, checked_in) = app.set_status(&token, id, "check-in").await;
    let (status, after) = app.get("/api/events?since=2", &token).await;
    assert_eq!(status, StatusCode::OK);
    let after = after.as_array().unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["seq"], 3);
    assert_eq!(after[0]["event"], "appointments.checkin");
    assert_eq!(after[0]["data"], checked_in);
    assert!(after[0]["at"].as_str().unwrap().ends_with('Z'));
    let (_, none) = app.get("/api/events?since=3", &token).await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn seq_counts_per_account() {
    let app = TestApp::spawn().await;
    let a = app.account_token("seqa@clinica.test").await;
    let b = app.account_token("seqb@clinica.test").await;
    app.post("/api/doctors", &a, json!({"name": "A1"})).await;
    app.post("/api/doctors", &a, json!({"name": "A2"})).await;
    app.post("/api/doctors", &b, json!({"name": "B1"})).await;
    let seqs = |events: Vec<serde_json::Value>| {
        events
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(app.events(&a).await), vec![1, 2]);
    assert_eq!(seqs(app.events(&b).await), vec![1]);
    let (_, account) = app.get("/api/account", &a).await;
    assert_eq!(account["lastSeq"], 2);
}

#[tokio::test]
async fn events_committed_before_a_crash_stay_in_the_log_after_restart() {
    let mut app = TestApp::spawn().await;
    let (account_id, _) = app.create_account("Crash", "crash@clinica.test").await;
    app.stop().await;
    // A change committed with its event row, and the node died before emitting it: the row
    // stays in the log, where reconnecting clients read it.
    let mut tx = app.store.begin_write(account_id).await.unwrap();
    let seq = fila::store::events::next_seq(&mut tx, account_id)
        .await
        .unwrap();
    fila::store::events::insert(
        &mut tx,
        account_id,
        seq,
        "doctors.deleted",
        r#"{"doctorId":7}"#,
        0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let app = app.restart().await;
    let token = app.login("crash@clinica.test", PASSWORD).await;
    let (status, body) = app.get("/api/events?since=0", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["seq"], seq);
    assert_eq!(body[0]["data"], json!({"doctorId": 7}));
}

#[tokio::test]
async fn a_since_older_than_the_log_keeps_is_410() {
    let app = TestApp::spawn().await;
    let token = app.account_token("gone@clinica.test").await;
    for name in ["A", "B", "C"] {
        app.post("/api/doctors", &token, json!({"name": name}))
            .await;
    }
    let mut conn = app.store.pool().acquire().await.unwrap();
    let pruned = fila::store::events::prune(&mut conn, i64::MAX)
        .await
        .unwrap();
    assert_eq!(pruned, 3);
    drop(conn);
    let (status, body) = app.get("/api/events?since=0", &token).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["statusCode"], 410);
    let (status, body) = app.get("/api/events?since=3", &token).await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
    app.post("/api/doctors", &token, json!({"name": "D"})).await;
    let (status, body) = app.get("/api/events?since=3", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["seq"], 4);
}

#[tokio::test]
async fn a_write_dropped_before_commit_logs_nothing_and_frees_the_next_write() {
    let app = TestApp::spawn().await;
    let (account_id, _) = app.create_account("Drop", "drop@clinica.test").await;
    let token = app.login("drop@clinica.test", PASSWORD).await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let before = app.events(&token).await;

    // A handler that fails (or whose client goes away) drops its transaction unfinished.
    let mut tx = app.store.begin_write(account_id).await.unwrap();
    let seq = fila::store::events::append(&mut tx, account_id, "doctors.deleted", "{}", 0)
        .await
        .unwrap();
    assert_eq!(seq, before.len() as i64 + 1);
    drop(tx);

    // The next write gets its turn at once, and the dropped row and its seq are gone.
    let (status, body) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.set_status(&token, id, "check-in"),
    )
    .await
    .expect("the next write is not kept waiting");
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = app.events(&token).await;
    assert_eq!(after.len(), before.len() + 1);
    let last = after.last().unwrap();
    assert_eq!(last["event"], "appointments.checkin");
    assert_eq!(last["seq"], seq, "the rolled-back seq is taken again");
}
