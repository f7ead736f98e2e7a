//! The relay's webhook ingest (`POST /webhooks/meta` up to its commit), driven with a real relay
//! state: an SQLite store in a temporary directory, one workspace that owns one WABA (set up
//! through the relay's own HTTP routes, in process).
//!
//! For every input body: without a signature, or with the signature of another body, it is
//! refused and yields nothing to store. Signed, it yields exactly one op per entry of the
//! envelope, each keyed by the SHA-256 of the entry's exact bytes and sealed to the owner of its
//! WABA (or to the relay's held-event key) so that the right key opens it to those bytes; a
//! signed body that is not an envelope yields one op holding it encrypted for inspection.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use cloud_api::signature::{sign, SignatureError};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use protocol::auth::SessionCreated;
use protocol::sealed::{Opener, WorkspaceSecretKey};
use relay::store::WriteOp;
use relay::webhooks::ingest::{dedupe_key, prepare, split_entries, Ingest};
use relay::{app, AppState, Config, Relay};
use serde_json::json;
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

const APP_SECRET: &str = "fuzz-app-secret";
/// The WABA the test workspace claims (the id in Meta's webhook examples, which seed the corpus).
const OWNED_WABA: &str = "102290129340398";

struct World {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    workspace: Uuid,
    workspace_opener: Opener,
    held_opener: Opener,
    // Kept alive for the whole run: the store lives in it. (libFuzzer exits without running
    // destructors; scripts/fuzz.sh points TMPDIR at a directory it removes afterwards.)
    _relay: Relay,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (relay, workspace, workspace_key) = runtime.block_on(async {
            let relay = Relay::open(Config::for_tests(dir.path(), APP_SECRET))
                .await
                .expect("the relay opens its store");
            let key = WorkspaceSecretKey::generate();
            let created: SessionCreated = call(
                &relay.state(),
                "/v1/accounts",
                None,
                json!({"name": "Fuzz Owner", "email": "fuzz@example.com", "company": "Fuzz",
                    "password": "a long enough password", "device_name": "fuzz",
                    "workspace_public_key": key.public_key().to_base64()}),
                StatusCode::CREATED,
            )
            .await;
            // Linked in the store, as the claim route does once Meta confirmed the grant
            // (no Graph API here: this target is about ingest).
            let state = relay.state();
            state
                .store
                .claim_waba(
                    created.workspace.id,
                    OWNED_WABA,
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .expect("the WABA is claimed");
            state.owners.clear();
            (relay, created.workspace.id, key)
        });
        let state = relay.state();
        World {
            runtime,
            workspace,
            workspace_opener: Opener::new(workspace_key),
            held_opener: Opener::new(state.keys.held_secret()),
            state,
            _relay: relay,
            _dir: dir,
        }
    })
}

/// One JSON request through the relay's router; panics unless it answers `expected`.
async fn call<T: serde::de::DeserializeOwned>(
    state: &AppState,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
    expected: StatusCode,
) -> T {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a response body")
        .to_bytes();
    assert_eq!(
        status,
        expected,
        "{path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).expect("a JSON answer")
}

fuzz_target!(|body: &[u8]| {
    let world = world();
    let now = OffsetDateTime::now_utc();
    let ingest = |signature: Option<&str>| {
        world
            .runtime
            .block_on(prepare(&world.state, body, signature, now))
            .expect("ingest before the commit does not fail on a healthy store")
    };

    assert!(matches!(
        ingest(None),
        Ingest::Refused(SignatureError::Missing)
    ));
    let mut other_body = body.to_vec();
    other_body.push(b' ');
    let wrong = sign(APP_SECRET.as_bytes(), &other_body);
    assert!(matches!(
        ingest(Some(&wrong)),
        Ingest::Refused(SignatureError::Mismatch)
    ));

    let signed = sign(APP_SECRET.as_bytes(), body);
    let Ingest::Store(ops) = ingest(Some(&signed)) else {
        panic!("a correctly signed body was refused");
    };
    let Some(entries) = split_entries(body) else {
        let [WriteOp::InvalidBody { encrypted, .. }] = ops.as_slice() else {
            panic!("a signed non-envelope must give one op to inspect, got {ops:?}");
        };
        let kept = world
            .state
            .keys
            .decrypt_inspection(encrypted)
            .expect("the body kept for inspection decrypts");
        assert_eq!(kept, body, "the body kept for inspection differs");
        return;
    };
    assert_eq!(ops.len(), entries.len(), "one op per entry");
    for (op, entry) in ops.iter().zip(&entries) {
        let WriteOp::WebhookEntry {
            waba_id,
            dedupe_key: key,
            sealed,
            sealed_for,
            ..
        } = op
        else {
            panic!("an entry became {op:?}");
        };
        assert_eq!(waba_id, &entry.waba_id);
        assert_eq!(key, &dedupe_key(entry.raw));
        let opener = if entry.waba_id == OWNED_WABA {
            assert_eq!(
                sealed_for,
                &Some(world.workspace),
                "not sealed to the WABA's owner"
            );
            &world.workspace_opener
        } else {
            assert_eq!(
                sealed_for, &None,
                "sealed to a workspace that owns no such WABA"
            );
            &world.held_opener
        };
        assert_eq!(
            opener.open(sealed).as_deref(),
            Ok(entry.raw),
            "the sealed entry differs"
        );
    }
});
