use crate::helpers::{key, notification, spawn_app};

#[tokio::test]
async fn notification_is_recorded() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/notifications",
            Some(&key()),
            &notification("order-1", "Your order shipped! 📦"),
        )
        .await;
    answer.assert_status(201);
    let id = answer.body["notificationId"].as_str().unwrap();
    assert!(id.starts_with("ntf_"));
    let notes = app.effects_of("notify", Some("order-1")).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["reference"], id);
}

#[tokio::test]
async fn sql_in_free_text_is_stored_as_text() {
    let app = spawn_app().await;
    let hostile = "'); DROP TABLE effects; --";
    app.post(
        "/notifications",
        Some(&key()),
        &notification("order-1", hostile),
    )
    .await
    .assert_status(201);
    app.post(
        "/notifications",
        Some(&key()),
        &notification("order-1", "still here"),
    )
    .await
    .assert_status(201);
    assert_eq!(app.effects_of("notify", Some("order-1")).await.len(), 2);
}
