//! The upstream contract, end to end: the real egov-sim binary on loopback, driven through
//! `protocol`'s client.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use e2e_tests::EgovSim;
use protocol::cases::Change;
use protocol::client::{Client, ClientConfig, ClientError, Delivery, ManifestFetch, Method};
use protocol::content::{
    self, EntryKind, MANIFEST_SCHEMA, Manifest, ManifestEntry, PublishManifest,
};
use protocol::layers::{FeatureChange, Layer};
use protocol::plots::{Corner, PlotSubmission};
use protocol::ratings::Rating;

/// Pages the whole feed from `after`, checking order within and across pages, and applies
/// it to `mirror` (case_no → (seq, status)). Returns the final cursor.
async fn catch_up(
    client: &Client,
    mirror: &mut HashMap<String, (u64, String)>,
    mut after: u64,
) -> u64 {
    loop {
        let page = client.case_changes(None, after, 250).await.unwrap();
        for change in &page.changes {
            assert!(
                change.seq() > after,
                "seq {} after cursor {after}",
                change.seq()
            );
            after = change.seq();
            match change {
                Change::Upsert { seq, case } => {
                    mirror.insert(case.case_no.clone(), (*seq, format!("{:?}", case.status)));
                }
                Change::Delete { case_no, .. } => {
                    mirror.remove(case_no);
                }
            }
        }
        assert_eq!(page.next_after, after);
        if !page.has_more {
            return after;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_pages_without_gaps_or_duplicates_while_the_workflow_advances() {
    // A day of workflow every second, ticking every 20 ms: cases change while we page.
    let sim = EgovSim::start(&["--cases", "3000", "--speedup", "86400", "--tick-ms", "20"]);
    let client = sim.device_client();
    let mut mirror = HashMap::new();
    let mut cursor = catch_up(&client, &mut mirror, 0).await;
    // The device reads its own hall's feed, which holds 30 % of the seeded cases.
    assert!(
        mirror.len() > 600,
        "the hall's seeded cases arrive: {}",
        mirror.len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    cursor = catch_up(&client, &mut mirror, cursor).await;

    // A fresh reader now: every case it sees at or below our cursor must be in our mirror
    // at the same seq; cases it sees above our cursor changed since (the workflow moved on).
    let mut fresh = HashMap::new();
    catch_up(&client, &mut fresh, 0).await;
    let moved_on = fresh.values().filter(|(seq, _)| *seq > cursor).count();
    assert!(moved_on > 0, "the workflow advanced while we paged");
    for (case_no, (seq, status)) in &fresh {
        if *seq <= cursor {
            assert_eq!(
                mirror.get(case_no),
                Some(&(*seq, status.clone())),
                "{case_no}"
            );
        }
    }
    for case_no in mirror.keys() {
        let still_there = fresh.contains_key(case_no);
        assert!(
            still_there,
            "{case_no} is in the mirror but was deleted upstream before the cursor"
        );
    }
}

fn square_around(lon: f64, lat: f64, half_deg: f64) -> Vec<Corner> {
    [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .iter()
        .enumerate()
        .map(|(i, (dx, dy))| Corner {
            name: format!("J{}", i + 1),
            lon: lon + dx * half_deg,
            lat: lat + dy * half_deg,
            sigma_m: Some(1.5),
            fixes: 30,
        })
        .collect()
}

#[tokio::test]
async fn plots_are_idempotent_checked_and_report_overlaps() {
    let sim = EgovSim::start(&["--cases", "10"]);
    // A bridge of the 樟市镇 land office, submitting as itself.
    let client = sim.client_with(&sim.provision("bridge-zs-01", "hn-gyx-zsz"));
    let parcels = client.layer_changes(Layer::Parcels, 0, 5).await.unwrap();
    let FeatureChange::Upsert { feature, .. } = &parcels.changes[0] else {
        panic!("the seeded layer starts with features");
    };
    let geojson::GeometryValue::Polygon { coordinates: rings } = &feature.geometry.value else {
        panic!("parcels are polygons");
    };
    let (lon, lat) = (rings[0][0][0], rings[0][0][1]);

    let plot = PlotSubmission {
        survey_id: "S-1".into(),
        device_id: "bridge-zs-01".into(),
        office_id: "hn-gyx-zsz".into(),
        name: "樟市镇 村民建房 1".into(),
        surveyed_at: Utc::now(),
        corners: square_around(lon, lat, 0.0001),
        holes: vec![],
        area_m2: Some(450.0),
        area_uncertainty_m2: None,
        warnings: vec![],
    };
    let (first, receipt) = client.post_plot("key-1", &plot).await.unwrap();
    assert_eq!(first, Delivery::Created);
    assert!(
        receipt.overlaps.iter().any(|o| o.feature_id == feature.id),
        "a plot on a parcel's corner overlaps it: {receipt:?}"
    );
    assert!(
        receipt.area_m2 > 300.0 && receipt.area_m2 < 600.0,
        "{}",
        receipt.area_m2
    );

    let (again, replayed) = client.post_plot("key-1", &plot).await.unwrap();
    assert_eq!(again, Delivery::Replayed);
    assert_eq!(
        replayed, receipt,
        "the same key and body get the same answer"
    );

    let mut other = plot.clone();
    other.name = "另一块地".into();
    match client.post_plot("key-1", &other).await.unwrap_err() {
        ClientError::Rejected { status, code, .. } => {
            assert_eq!((status, code.as_str()), (422, "idempotency_conflict"));
        }
        err => panic!("expected a 422, got {err:?}"),
    }

    let mut bow_tie = plot.clone();
    bow_tie.corners.swap(1, 2);
    let err = client.post_plot("key-2", &bow_tie).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        matches!(err, ClientError::Rejected { status: 422, ref code, .. } if code == "invalid_geometry"),
        "{err:?}"
    );
    // Refused plots are not recorded: the key is still free for a corrected plot.
    let (fixed, _) = client.post_plot("key-2", &other).await.unwrap();
    assert_eq!(fixed, Delivery::Created);
}

#[tokio::test]
async fn a_plot_with_a_hole_is_accepted_and_its_area_leaves_the_hole_out() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let client = sim.client_with(&sim.provision("bridge-zs-01", "hn-gyx-zsz"));
    // Far from the seeded layers, so nothing else differs between the three.
    let (lon, lat) = (100.5, 30.5);
    let plot = |name: &str, corners: Vec<Corner>, holes: Vec<Vec<Corner>>| PlotSubmission {
        survey_id: format!("S-{name}"),
        device_id: "bridge-zs-01".into(),
        office_id: "hn-gyx-zsz".into(),
        name: name.into(),
        surveyed_at: Utc::now(),
        corners,
        holes,
        area_m2: None,
        area_uncertainty_m2: None,
        warnings: vec![],
    };
    let mut yard = square_around(lon, lat, 0.00005);
    yard.reverse();
    let area = |receipt: protocol::plots::PlotReceipt| receipt.area_m2;
    let whole = area(
        client
            .post_plot(
                "hole-1",
                &plot("whole", square_around(lon, lat, 0.0002), vec![]),
            )
            .await
            .unwrap()
            .1,
    );
    let with_hole = area(
        client
            .post_plot(
                "hole-2",
                &plot(
                    "with-yard",
                    square_around(lon, lat, 0.0002),
                    vec![yard.clone()],
                ),
            )
            .await
            .unwrap()
            .1,
    );
    let hole = area(
        client
            .post_plot("hole-3", &plot("yard", yard, vec![]))
            .await
            .unwrap()
            .1,
    );
    assert!(hole > 50.0 && whole > 10.0 * hole, "{whole} {hole}");
    assert!(
        (with_hole - (whole - hole)).abs() < 1e-6 * whole,
        "{whole} - {hole} != {with_hole}"
    );
    // A hole outside the boundary is no plot.
    let outside = square_around(lon + 0.01, lat, 0.00005);
    match client
        .post_plot(
            "hole-4",
            &plot("outside", square_around(lon, lat, 0.0002), vec![outside]),
        )
        .await
        .unwrap_err()
    {
        ClientError::Rejected { status, code, .. } => {
            assert_eq!((status, code.as_str()), (422, "invalid_geometry"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn signed_manifest_round_trips_through_the_server() {
    let key = content::generate_signing_key();
    let public = content::encode_verifying_key(&key.verifying_key());
    let sim = EgovSim::start(&["--cases", "10", "--content-key", &public]);
    let (admin, device) = (sim.admin_client(), sim.device_client());
    // Nothing published yet: the upstream's 404 is a state the client names.
    assert_eq!(
        device.manifest(None).await.unwrap(),
        ManifestFetch::NotPublished
    );

    let blob = "{\"title\":\"关于规范农村宅基地审批管理的通知\"}"
        .as_bytes()
        .to_vec();
    let sha = content::sha256_hex(&blob);
    admin.upload_blob(&sha, blob.clone()).await.unwrap();
    let manifest = |version| Manifest {
        schema: MANIFEST_SCHEMA,
        version,
        created_at: Utc::now(),
        publisher: "e2e".into(),
        entries: vec![ManifestEntry {
            id: "notices/1".into(),
            kind: EntryKind::Notice,
            sha256: sha.clone(),
            size: blob.len() as u64,
            media_type: "application/json".into(),
        }],
    };
    let publish = |m: &Manifest| {
        let bytes = m.to_bytes();
        PublishManifest {
            signature: content::sign(&key, &bytes),
            manifest: String::from_utf8(bytes).unwrap(),
        }
    };
    admin
        .publish_manifest(&publish(&manifest(1)))
        .await
        .unwrap();

    let ManifestFetch::Fetched {
        manifest: bytes,
        signature,
        etag,
    } = device.manifest(None).await.unwrap()
    else {
        panic!("the first fetch has a body");
    };
    let verified = content::verify(&bytes, &signature, &[key.verifying_key()]).unwrap();
    assert_eq!(verified.version, 1);
    let fetched = device
        .blob(&verified.entries[0].sha256, 1 << 20)
        .await
        .unwrap();
    content::verify_blob(&verified.entries[0], &fetched).unwrap();
    assert_eq!(
        device.manifest(etag.as_deref()).await.unwrap(),
        ManifestFetch::NotModified
    );

    // Republishing an old version, a manifest naming a blob never uploaded, and a device
    // token on an admin route are all refused.
    let err = admin
        .publish_manifest(&publish(&manifest(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Rejected { status: 409, .. }),
        "{err:?}"
    );
    let mut missing = manifest(2);
    missing.entries[0].sha256 = content::sha256_hex(b"never uploaded");
    let err = admin
        .publish_manifest(&publish(&missing))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Rejected { status: 422, .. }),
        "{err:?}"
    );
    let err = device
        .publish_manifest(&publish(&manifest(3)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Rejected { status: 401, .. }),
        "{err:?}"
    );
    let err = admin
        .upload_blob(&sha, b"other bytes".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Rejected { status: 422, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn injected_faults_are_retryable_errors() {
    let failing = EgovSim::start(&["--cases", "10", "--fail-rate", "1"]);
    let err = failing.device_client().halls().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Unavailable { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());

    let dropping = EgovSim::start(&["--cases", "10", "--drop-rate", "1"]);
    let err = dropping.device_client().halls().await.unwrap_err();
    assert!(matches!(err, ClientError::Connection(_)), "{err:?}");
    assert!(err.is_retryable());

    let slow = EgovSim::start(&["--cases", "10", "--latency", "2000"]);
    let mut config = ClientConfig::new(slow.url.parse().unwrap());
    config.token = Some(slow.device_token.clone());
    config.timeout = Duration::from_millis(300);
    let err = Client::new(config).unwrap().halls().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_rating_lost_in_a_dropped_answer_is_recorded_once() {
    // Half the answers are cut off after the server stored the request.
    let sim = EgovSim::start(&["--cases", "10", "--drop-rate", "0.5"]);
    let client = sim.device_client();
    let rating = Rating {
        rating_id: uuid::Uuid::new_v4(),
        device_id: e2e_tests::DEVICE.into(),
        hall_id: e2e_tests::HALL.into(),
        case_no: Some("GY2026-ZJD-000001".into()),
        score: 5,
        reasons: vec!["fast".into()],
        rated_at: Utc::now(),
    };
    let mut deliveries = Vec::new();
    for _ in 0..60 {
        match client.post_rating(&rating).await {
            Ok((delivery, receipt)) => {
                assert_eq!(receipt.rating_id, rating.rating_id);
                deliveries.push(delivery);
                if deliveries.len() == 3 {
                    break;
                }
            }
            Err(err) => assert!(err.is_retryable(), "{err:?}"),
        }
    }
    assert_eq!(deliveries.len(), 3, "three answers got through in 60 tries");
    // However many tries it took, the server created the rating exactly once.
    let created = deliveries
        .iter()
        .filter(|d| **d == Delivery::Created)
        .count();
    assert!(created <= 1);
    assert!(deliveries[1..].iter().all(|d| *d == Delivery::Replayed));
}

#[tokio::test]
async fn bad_input_gets_a_clear_json_error() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let device = sim.device_client();
    let admin = sim.admin_client();
    let anonymous = Client::with_token(&sim.url, None).unwrap();

    let empty_release = Manifest {
        schema: MANIFEST_SCHEMA,
        version: 1,
        created_at: Utc::now(),
        publisher: "e2e".into(),
        entries: vec![],
    };
    let bad_signature = serde_json::to_value(PublishManifest {
        manifest: String::from_utf8(empty_release.to_bytes()).unwrap(),
        signature: "c2lnbmF0dXJl".into(),
    })
    .unwrap();
    let unknown_score = serde_json::json!({
        "rating_id": uuid::Uuid::new_v4(), "device_id": e2e_tests::DEVICE, "hall_id": e2e_tests::HALL,
        "score": 9, "reasons": [], "rated_at": "2026-11-01T00:00:00Z"
    });
    let unknown_field = serde_json::json!({"kind": "kiosk", "colour": "red"});
    let unknown_command = serde_json::json!({"action": "format_disk"});
    let oversized = serde_json::json!({ "padding": "x".repeat(protocol::MAX_JSON_BODY + 1) });

    // (who asks, method, path, body, expected status, expected error code)
    type Probe<'a> = (
        &'a Client,
        Method,
        &'a str,
        Option<serde_json::Value>,
        u16,
        &'a str,
    );
    let cases: Vec<Probe> = vec![
        (
            &anonymous,
            Method::GET,
            "api/v1/halls",
            None,
            401,
            "unauthorized",
        ),
        (
            &device,
            Method::GET,
            "api/v1/cases/changes?after=-1",
            None,
            400,
            "bad_request",
        ),
        (
            &device,
            Method::GET,
            "api/v1/cases/changes?limit=0",
            None,
            400,
            "bad_request",
        ),
        (
            &device,
            Method::GET,
            "api/v1/cases/changes?hall=nowhere",
            None,
            403,
            "forbidden",
        ),
        (
            &device,
            Method::POST,
            "api/v1/ratings",
            Some(unknown_score),
            422,
            "invalid_rating",
        ),
        (
            &device,
            Method::POST,
            "api/v1/devices/e2e-kiosk/heartbeat",
            Some(unknown_field),
            400,
            "bad_request",
        ),
        (
            &admin,
            Method::POST,
            "api/v1/admin/devices/k1/commands",
            Some(unknown_command),
            400,
            "bad_request",
        ),
        (
            &device,
            Method::POST,
            "api/v1/ratings",
            Some(oversized),
            413,
            "payload_too_large",
        ),
        (
            &admin,
            Method::PUT,
            "api/v1/admin/content/manifest",
            Some(bad_signature),
            422,
            "invalid_signature",
        ),
        (
            &device,
            Method::GET,
            "api/v2/nothing",
            None,
            404,
            "not_found",
        ),
        (
            &device,
            Method::DELETE,
            "api/v1/halls",
            None,
            405,
            "method_not_allowed",
        ),
    ];
    for (client, method, path, body, status, code) in cases {
        let (got, answer) = client
            .raw(method.clone(), path, body.as_ref())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert_eq!(got, status, "{method} {path}: {text}");
        let error: protocol::error::ErrorBody = serde_json::from_slice(&answer)
            .unwrap_or_else(|_| panic!("{method} {path}: not a JSON error body: {text}"));
        assert_eq!(error.error.code, code, "{method} {path}");
        assert!(!error.error.message.is_empty());
    }
    // The server is still serving after all that.
    assert!(!device.halls().await.unwrap().halls.is_empty());
}
