//! Device tokens are bound to their device and hall (the real egov-sim binary, provisioned
//! with its real `device add` / `device revoke` commands and the admin route).

use e2e_tests::{EgovSim, HALL};
use protocol::client::{Client, ClientError, Method};
use protocol::devices::{CommandAction, DeviceKind, Heartbeat};

fn heartbeat(hall_id: &str) -> Heartbeat {
    Heartbeat {
        kind: DeviceKind::Kiosk,
        hall_id: hall_id.into(),
        app_version: "0.1.0".into(),
        content_version: None,
        feed_cursor: None,
        last_sync_at: None,
        uptime_s: 1,
        free_disk_bytes: 1 << 30,
        last_error: None,
        faults: vec![],
        completed: vec![],
        bridge: None,
    }
}

/// The status and error code of a refused call.
fn refusal<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::Rejected { status, code, .. }) => (status, code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_device_token_works_only_for_its_own_device_and_hall() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let alice = sim.client_with(&sim.provision("kiosk-a", HALL));
    let bob_token = sim.provision("kiosk-b", HALL);
    let bob = sim.client_with(&bob_token);
    let admin = sim.admin_client();

    // A screenshot command for bob: alice must not be able to acknowledge it away or
    // answer it with her own picture.
    let command = admin
        .queue_command("kiosk-b", &CommandAction::Screenshot)
        .await
        .unwrap();
    let mut ack = heartbeat(HALL);
    ack.completed = vec![protocol::devices::CommandResult {
        id: command.id,
        ok: true,
        message: None,
    }];
    assert_eq!(
        refusal(alice.heartbeat("kiosk-b", &ack).await),
        (403, "forbidden".into())
    );
    assert_eq!(
        refusal(
            alice
                .put_screenshot("kiosk-b", command.id, b"\x89PNG\r\n\x1a\nfake".to_vec())
                .await
        ),
        (403, "forbidden".into())
    );
    // Nor claim another hall in her own heartbeat.
    let (status, code) = refusal(alice.heartbeat("kiosk-a", &heartbeat("hn-zrzyt")).await);
    assert_eq!((status, code.as_str()), (403, "forbidden"));

    // Bob's command is still there for bob, and bob's fleet row is bob's own.
    let reply = bob.heartbeat("kiosk-b", &heartbeat(HALL)).await.unwrap();
    assert_eq!(reply.commands.len(), 1);
    assert_eq!(reply.commands[0].id, command.id);
    alice.heartbeat("kiosk-a", &heartbeat(HALL)).await.unwrap();
    let fleet = admin.fleet().await.unwrap();
    let ids: Vec<&str> = fleet.devices.iter().map(|d| d.device_id.as_str()).collect();
    assert_eq!(ids, ["kiosk-a", "kiosk-b"]);
    assert_eq!(fleet.devices[1].pending_commands, 1);

    // A device reads its own hall's feed only.
    assert_eq!(
        refusal(alice.case_changes(Some("hn-zrzyt"), 0, 10).await),
        (403, "forbidden".into())
    );
    alice.case_changes(Some(HALL), 0, 10).await.unwrap();
}

#[tokio::test]
async fn admin_and_device_tokens_do_not_stand_in_for_each_other() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let device = sim.device_client();
    let admin = sim.admin_client();
    // The admin token is no device.
    assert_eq!(refusal(admin.halls().await), (401, "unauthorized".into()));
    assert_eq!(
        refusal(admin.heartbeat(e2e_tests::DEVICE, &heartbeat(HALL)).await),
        (401, "unauthorized".into())
    );
    // A device token is no administrator.
    assert_eq!(refusal(device.fleet().await), (401, "unauthorized".into()));
    assert_eq!(
        refusal(device.issue_device_token("intruder", HALL).await),
        (401, "unauthorized".into())
    );
    assert_eq!(
        refusal(device.queue_command("x", &CommandAction::SyncNow).await),
        (401, "unauthorized".into())
    );
    // An unauthenticated bad body gets the 401, not a 400 about its fields.
    let anonymous = Client::with_token(&sim.url, None).unwrap();
    let (status, body) = anonymous
        .raw(
            Method::PUT,
            "api/v1/admin/content/manifest",
            Some(&serde_json::json!({"not": "a manifest"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn revoking_or_replacing_a_token_takes_effect_at_once() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let first = sim.client_with(&sim.provision("kiosk-r", HALL));
    let other = sim.device_client();
    first.halls().await.unwrap();

    // Revoked from another process while the server runs: refused from the next request.
    let out = sim.device_command(&["revoke", "kiosk-r"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(refusal(first.halls().await), (401, "unauthorized".into()));
    other.halls().await.unwrap();
    let again = sim.device_command(&["revoke", "kiosk-r"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("kiosk-r has no token"));

    // Issued anew by the admin route; a second issue replaces the first at once.
    let admin = sim.admin_client();
    let issued = admin.issue_device_token("kiosk-r", HALL).await.unwrap();
    assert_eq!(
        (issued.device_id.as_str(), issued.hall_id.as_str()),
        ("kiosk-r", HALL)
    );
    let second = sim.client_with(&issued.token);
    second.halls().await.unwrap();
    let replaced = admin.issue_device_token("kiosk-r", HALL).await.unwrap();
    assert_ne!(replaced.token, issued.token);
    assert_eq!(refusal(second.halls().await), (401, "unauthorized".into()));
    sim.client_with(&replaced.token).halls().await.unwrap();
    admin.revoke_device_token("kiosk-r").await.unwrap();
    assert_eq!(
        refusal(sim.client_with(&replaced.token).halls().await),
        (401, "unauthorized".into())
    );
    assert_eq!(
        refusal(admin.revoke_device_token("kiosk-r").await),
        (404, "not_found".into())
    );

    // Bad provisioning requests name the field.
    let err = admin
        .issue_device_token("kiosk-x", "nowhere")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Rejected { status: 422, message, .. } if message.starts_with("hall_id")),
        "{err:?}"
    );
    let out = sim.device_command(&["add", "bad/id", "--hall", HALL]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("device_id"));
}

#[tokio::test]
async fn the_store_keeps_no_token_only_its_hash() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let token = sim.provision("kiosk-h", HALL);
    sim.client_with(&token).halls().await.unwrap();
    let secret = token.trim_start_matches("lhdev-");
    for entry in std::fs::read_dir(sim.data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }
}
