//! The device facade against the real relay and `dataoptix-sim` over HTTP: register, connect
//! a number through Embedded Signup (the page's completion played by the test, as the browser
//! would), receive a message through sync, read it through the inbox views; deep-link rules;
//! manual setup; sign-out and restore.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dataoptix_core::device::views::ConversationFilter;
use dataoptix_core::device::{
    ButtonForm, Device, DeviceError, DeviceEvent, HeaderForm, ManualSetupInput, OnboardingOutcome,
    Outgoing, RegisterInput, SignInInput, SyncState, TemplateForm,
};
use dataoptix_core::store::{ContactInput, PhoneNumberInput};
use dataoptix_core::vault::{MemoryStore, PassphraseSource};
use serde_json::json;

mod common;
use common::{eventually, SignupWorld, PASSWORD};

const CONFIG_ID: &str = "cfg-device";

/// The relay and the simulator for these tests.
async fn world() -> SignupWorld {
    SignupWorld::start(CONFIG_ID).await
}

async fn device(dir: &std::path::Path, secrets: &MemoryStore) -> Device {
    Device::open(dir, secrets, &PassphraseSource::none(), "Front desk")
        .await
        .unwrap()
}

/// Ana registers the bakery's workspace on `w`'s relay.
fn ana_registers(w: &SignupWorld) -> RegisterInput {
    RegisterInput {
        relay_url: w.base.clone(),
        name: "Ana Owner".into(),
        email: "ana@example.com".into(),
        company: "Panadería Ana".into(),
        password: PASSWORD.into(),
    }
}

/// Connects the simulator's number on `d` by manual setup (token checked with Graph).
async fn connect_manually(w: &SignupWorld, d: &Device) {
    d.setup_manual(ManualSetupInput {
        waba_id: w.sim.info.waba_id.clone(),
        phone_number_id: w.sim.info.phone_number_id.clone(),
        token: w.sim.info.access_token.clone(),
    })
    .await
    .unwrap();
}

/// Sheena writes `text` to the business (simulator → relay → sync); returns her conversation.
async fn customer_writes(w: &SignupWorld, d: &Device, text: &str) -> i64 {
    reqwest::Client::new()
        .post(w.sim.control_url("/inbound"))
        .json(
            &json!({"from": "16505551234", "name": "Sheena Nelson", "type": "text",
                      "text": {"body": text}}),
        )
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    eventually("the customer's conversation", async || {
        let page = d
            .conversations(&ConversationFilter::default(), None, 10)
            .await
            .unwrap();
        page.items.first().map(|c| c.id)
    })
    .await
}

/// The outbox count is this workspace's: what another workspace queued in the same store (a
/// session signed out of since) is neither sent nor counted here.
#[tokio::test]
async fn the_outbox_count_is_this_workspaces() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = device(data.path(), &secrets).await;
    d.register(ana_registers(&w)).await.unwrap();
    let store = d.store();
    store
        .upsert_workspace("another-workspace", "Elsewhere")
        .await
        .unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: "p-elsewhere".into(),
            workspace_id: "another-workspace".into(),
            waba_id: "b-elsewhere".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let contact = store
        .upsert_contact(&ContactInput {
            workspace_id: "another-workspace".into(),
            wa_id: Some("15550009999".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let elsewhere = store
        .ensure_conversation("another-workspace", "p-elsewhere", contact)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outbox (idempotency_key, conversation_id, payload_json, next_attempt_at,
                             created_at, updated_at)
         VALUES ('elsewhere-1', ?, '{}', 0, 0, 0)",
    )
    .bind(elsewhere)
    .execute(store.pool())
    .await
    .unwrap();
    assert_eq!(d.outbox_count().await.unwrap(), 0);
    assert_eq!(d.flush_outbox().await.unwrap().sent, 0);
    w.stop().await;
}

#[tokio::test]
async fn register_connect_receive_and_read_the_inbox() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = device(data.path(), &secrets).await;
    assert!(d.account().await.unwrap().is_none());
    assert_eq!(d.sync_state(), SyncState::SignedOut);

    let account = d
        .register(RegisterInput {
            relay_url: format!("{}/", w.base),
            name: "Ana Owner".into(),
            email: "ana@example.com".into(),
            company: "Panadería Ana".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_eq!(account.role, "owner");
    assert_eq!(account.relay_url, w.base);
    assert!(account.numbers.is_empty());

    // Embedded Signup: the device starts it, the page finishes it, the deep link names it.
    let start = d.start_onboarding().await.unwrap();
    assert!(start.url.starts_with(&w.base));
    assert!(d.started_onboarding(&start.session_id).await);
    // A cold start by the deep link (a new process; here a second handle) still knows it.
    let cold = device(data.path(), &secrets).await;
    assert!(cold.started_onboarding(&start.session_id).await);
    drop(cold);
    assert_eq!(
        d.onboarding_status(&start.session_id).await.unwrap(),
        OnboardingOutcome::Waiting
    );
    let signup = w.finish_signup_on_the_page(&start.session_id).await;
    let outcome = d.onboarding_status(&start.session_id).await.unwrap();
    let OnboardingOutcome::Connected { number } = outcome else {
        panic!("not connected: {outcome:?}");
    };
    assert_eq!(number.id, signup["phone_number_id"].as_str().unwrap());
    assert_eq!(number.waba_id, signup["waba_id"].as_str().unwrap());
    assert!(!number.reconnect_required);
    // The token is in the vault, sealed (never in the database).
    let token = d.number_token(&number.id).unwrap().unwrap();
    assert!(!token.is_empty());
    assert_eq!(d.account().await.unwrap().unwrap().numbers.len(), 1);
    // A session this device did not start is refused.
    assert!(matches!(
        d.onboarding_status("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await,
        Err(DeviceError::NotFound(_))
    ));

    // A customer writes; the background sync brings it into the inbox.
    let mut events = d.subscribe();
    d.start_background().await.unwrap();
    let resp = reqwest::Client::new()
        .post(w.sim.control_url("/inbound"))
        .json(&json!({"from": "16505551234", "name": "Sheena Nelson",
            "phone_number_id": number.id, "type": "text",
            "text": {"body": "<script>alert(1)</script> Do you deliver?"}}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let page = eventually("the conversation", async || {
        let page = d
            .conversations(&ConversationFilter::default(), None, 50)
            .await
            .unwrap();
        (!page.items.is_empty()).then_some(page)
    })
    .await;
    let c = &page.items[0];
    assert_eq!(c.contact.name, "Sheena Nelson");
    assert_eq!(c.phone_number_id, number.id);
    assert!(c.window.open, "the customer just wrote: {c:?}");
    assert_eq!(c.unread_count, 1);
    assert_eq!(
        c.last_preview.as_deref(),
        Some("<script>alert(1)</script> Do you deliver?")
    );
    let thread = d.messages(c.id, None, 50).await.unwrap();
    assert_eq!(thread.items.len(), 1);
    assert_eq!(thread.items[0].direction, "in");
    assert_eq!(thread.items[0].kind, "text");
    assert!(thread.next.is_none());
    let found = d.search("deliver", 20).await.unwrap();
    assert_eq!(found.messages.len(), 1);
    assert_eq!(found.messages[0].contact_name, "Sheena Nelson");
    assert_eq!(found.contacts.len(), 0);
    assert_eq!(d.search("sheena", 20).await.unwrap().contacts.len(), 1);
    // The sync announced the change, and the message once, for a desktop notification.
    let mut saw_inbox = false;
    let mut announced = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while announced.is_empty() || !saw_inbox {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("inbox change and new-message events")
            .unwrap();
        match e {
            DeviceEvent::InboxChanged { .. } => saw_inbox = true,
            DeviceEvent::NewMessages { messages, more } => {
                assert_eq!(more, 0);
                announced.extend(messages);
            }
            _ => {}
        }
    }
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0].contact_name, "Sheena Nelson");
    assert_eq!(announced[0].conversation_id, c.id);
    assert_eq!(
        announced[0].preview,
        "<script>alert(1)</script> Do you deliver?"
    );
    eventually("online", async || {
        (d.sync_state() == SyncState::Online).then_some(())
    })
    .await;

    // Reply: queued as pending, sent by the background outbox, ticks reach read via sync.
    let reply = d
        .send(
            c.id,
            Outgoing::Text {
                body: "Yes, every morning!".into(),
                preview_url: false,
            },
            Some(thread.items[0].wamid.clone()),
        )
        .await
        .unwrap();
    // Queued; the background outbox may already have sent it by the time the view is read.
    assert!(
        matches!(reply.status.as_deref(), Some("pending" | "sent")),
        "{:?}",
        reply.status
    );
    assert_eq!(reply.author.as_deref(), Some("Ana Owner"));
    assert_eq!(
        reply.reply_to.as_ref().map(|q| q.wamid.as_str()),
        Some(thread.items[0].wamid.as_str())
    );
    let read = eventually("the reply read", async || {
        let page = d.messages(c.id, None, 10).await.unwrap();
        page.items
            .into_iter()
            .find(|m| m.id == reply.id && m.status.as_deref() == Some("read"))
    })
    .await;
    assert!(read.wamid.starts_with("wamid."), "{}", read.wamid);
    assert_eq!(d.outbox_count().await.unwrap(), 0);
    // Labels and read state.
    d.set_labels(c.id, &["vip".into(), "bakery".into()])
        .await
        .unwrap();
    d.mark_read(c.id).await.unwrap();
    let c2 = d.conversation(c.id).await.unwrap();
    assert_eq!(c2.labels, vec!["bakery".to_string(), "vip".to_string()]);
    assert_eq!(c2.unread_count, 0);
    let vip = d
        .conversations(
            &ConversationFilter {
                label: Some("vip".into()),
                ..ConversationFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(vip.items.len(), 1);
    // Who set them is kept with them (the assignee was never set).
    let changes = d.conversation_changes(c.id).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].field, "labels");
    assert!(changes[0].mine);
    assert!(!changes[0].author_name.is_empty());
    // An unknown template is refused plainly; free-form text stays allowed in the window.
    let missing = d
        .send(
            c.id,
            Outgoing::Template {
                name: "nope".into(),
                language: "en_US".into(),
                params: vec![],
                header_params: vec![],
                header_media: None,
                button_params: Vec::new(),
            },
            None,
        )
        .await;
    assert!(
        matches!(missing, Err(DeviceError::NotFound(_))),
        "{missing:?}"
    );

    // Restart: the session and history come back from the vault and the store.
    d.stop_background().await;
    drop(d);
    let again = device(data.path(), &secrets).await;
    let restored = again.account().await.unwrap().unwrap();
    assert_eq!(restored.email, "ana@example.com");
    assert_eq!(restored.numbers.len(), 1);
    assert_eq!(
        again
            .conversations(&ConversationFilter::default(), None, 50)
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // Sign out keeps the history but forgets the session; signing in again restores it.
    again.sign_out().await.unwrap();
    assert!(again.account().await.unwrap().is_none());
    assert!(matches!(
        again
            .conversations(&ConversationFilter::default(), None, 5)
            .await,
        Err(DeviceError::SignedOut)
    ));
    assert_eq!(
        again.last_relay_url().await.unwrap().as_deref(),
        Some(w.base.as_str())
    );
    let wrong = again
        .sign_in(SignInInput {
            relay_url: w.base.clone(),
            email: "ana@example.com".into(),
            password: "not the password".into(),
        })
        .await;
    assert!(
        matches!(wrong, Err(DeviceError::Unauthenticated(_))),
        "{wrong:?}"
    );
    // The password typed into the email field: refused, and kept out of the log.
    let misplaced = again
        .sign_in(SignInInput {
            relay_url: w.base.clone(),
            email: "hunter2-secret".into(),
            password: "whatever".into(),
        })
        .await;
    assert!(misplaced.is_err());
    again
        .sign_in(SignInInput {
            relay_url: w.base.clone(),
            email: "ana@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    // The refused attempt is in the activity log, under the email typed, without the password.
    let log = again.activity(None, 50).await.unwrap();
    let refused: Vec<_> = log
        .items
        .iter()
        .filter(|e| e.action == "account.sign_in_failed")
        .collect();
    assert_eq!(refused.len(), 2, "{:?}", log.items);
    // Newest first.
    assert_eq!(refused[1].actor, "ana@example.com (not signed in)");
    assert!(refused[1].details.contains("wrong email or password"));
    assert_eq!(refused[0].actor, "someone (not signed in)");
    for entry in &log.items {
        let all = format!("{}{}{:?}", entry.actor, entry.details, entry.subject);
        assert!(
            !all.contains("not the password") && !all.contains("hunter2"),
            "{entry:?}"
        );
    }
    assert!(log.items.iter().any(|e| e.action == "account.sign_in"));
    assert_eq!(
        again
            .conversations(&ConversationFilter::default(), None, 50)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(matches!(
        again.messages(c.id + 1_000, None, 5).await,
        Err(DeviceError::NotFound(_))
    ));
    // Another workspace registered on this device later does not reach the earlier history.
    again.sign_out().await.unwrap();
    again
        .register(RegisterInput {
            relay_url: w.base.clone(),
            name: "Other Owner".into(),
            email: "other@example.com".into(),
            company: "Other shop".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert!(again
        .conversations(&ConversationFilter::default(), None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(matches!(
        again.messages(c.id, None, 5).await,
        Err(DeviceError::NotFound(_))
    ));
    assert!(matches!(
        again.conversation(c.id).await,
        Err(DeviceError::NotFound(_))
    ));
    w.stop().await;
}

#[tokio::test]
async fn a_new_device_joins_by_invitation_and_an_unknown_device_cannot_sign_in() {
    let w = world().await;
    let owner_dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let owner = device(owner_dir.path(), &secrets).await;
    owner.register(ana_registers(&w)).await.unwrap();

    // Signing in on a fresh device without the workspace key is refused with the way out.
    let laptop_dir = tempfile::tempdir().unwrap();
    let laptop_secrets = MemoryStore::new();
    let laptop = device(laptop_dir.path(), &laptop_secrets).await;
    let refused = laptop
        .sign_in(SignInInput {
            relay_url: w.base.clone(),
            email: "ana@example.com".into(),
            password: PASSWORD.into(),
        })
        .await;
    assert!(
        matches!(refused, Err(DeviceError::KeyMissing)),
        "{refused:?}"
    );

    // An agent joins with the owner's invitation link.
    let link = owner
        .invite("bo@example.com", protocol::auth::Role::Agent)
        .await
        .unwrap();
    assert!(link.starts_with("dataoptix://join?relay="));
    let joined = laptop
        .join(dataoptix_core::device::JoinInput {
            invite_link: link.clone(),
            name: "Bo Agent".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_eq!(joined.role, "agent");
    assert_eq!(joined.company, "Panadería Ana");
    // The link works once.
    let other_dir = tempfile::tempdir().unwrap();
    let other = device(other_dir.path(), &MemoryStore::new()).await;
    let again = other
        .join(dataoptix_core::device::JoinInput {
            invite_link: link,
            name: "Mallory".into(),
            password: PASSWORD.into(),
        })
        .await;
    assert!(matches!(again, Err(DeviceError::NotFound(_))), "{again:?}");
    // Agents may not start onboarding, nor change what speaks for the whole business.
    assert!(matches!(
        laptop.start_onboarding().await,
        Err(DeviceError::Forbidden)
    ));
    let photo = laptop_dir.path().join("photo.png");
    std::fs::write(&photo, dataoptix_sim::assets::PNG.bytes).unwrap();
    assert!(matches!(
        laptop
            .update_business_profile(
                None,
                dataoptix_core::device::ProfileUpdate {
                    about: Some("hijacked".into()),
                    ..Default::default()
                }
            )
            .await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        laptop.set_profile_photo(None, &photo).await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        laptop.upload_header_sample("IMAGE", &photo).await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        laptop.set_messages_per_second("pn-1", 10).await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        laptop.cancel_broadcast(1).await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        laptop.export_everything(laptop_dir.path()).await,
        Err(DeviceError::Forbidden)
    ));

    // The team as each sees it: the owner manages, the agent only looks.
    let pending = owner
        .invite("cy@example.com", protocol::auth::Role::Admin)
        .await
        .unwrap();
    assert!(pending.contains("invitation="));
    let team = owner.team().await.unwrap();
    assert!(team.can_manage);
    assert_eq!(team.my_role, "owner");
    let names: Vec<(&str, &str, bool)> = team
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.role.as_str(), m.is_me))
        .collect();
    assert_eq!(
        names,
        vec![("Ana Owner", "owner", true), ("Bo Agent", "agent", false)]
    );
    assert_eq!(team.devices.len(), 2, "{:?}", team.devices);
    assert_eq!(team.devices.iter().filter(|d| d.current).count(), 1);
    let emails: Vec<&str> = team.invitations.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(emails, vec!["cy@example.com"]);
    let agent_view = laptop.team().await.unwrap();
    assert!(!agent_view.can_manage);
    assert!(agent_view.invitations.is_empty());
    assert_eq!(agent_view.devices.len(), 1, "an agent sees its own device");
    let bo = team
        .members
        .iter()
        .find(|m| m.name == "Bo Agent")
        .unwrap()
        .id
        .clone();
    assert!(matches!(
        laptop.change_role(&bo, "owner").await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        owner.change_role("../sessions/current", "admin").await,
        Err(DeviceError::InvalidInput(_))
    ));

    // The owner withdraws the invitation, promotes Bo, then removes him: his device is out.
    let invitation = team.invitations[0].id.clone();
    owner.revoke_invitation(&invitation).await.unwrap();
    assert!(owner.team().await.unwrap().invitations.is_empty());
    owner.change_role(&bo, "admin").await.unwrap();
    assert_eq!(laptop.team().await.unwrap().my_role, "admin");
    let me = team.members.iter().find(|m| m.is_me).unwrap().id.clone();
    assert!(matches!(
        owner.remove_member(&me).await,
        Err(DeviceError::InvalidInput(_))
    ));
    let devices = owner.team().await.unwrap().devices;
    let mine = devices.iter().find(|d| d.current).unwrap().id.clone();
    assert!(matches!(
        owner.revoke_device(&mine).await,
        Err(DeviceError::InvalidInput(_))
    ));
    let bos = devices
        .iter()
        .find(|d| d.member_name == "Bo Agent")
        .unwrap();
    owner.revoke_device(&bos.id).await.unwrap();
    assert!(matches!(
        laptop.team().await,
        Err(DeviceError::Unauthenticated(_))
    ));
    owner.remove_member(&bo).await.unwrap();
    let after = owner.team().await.unwrap();
    assert_eq!(after.devices.len(), 1);
    assert!(!after.members.iter().find(|m| m.id == bo).unwrap().active);
    w.stop().await;
}

/// A reaction sent from the thread goes through the outbox and shows under its message; an
/// empty emoji takes it back; a message of another conversation cannot be reacted to.
#[tokio::test]
async fn a_reaction_lands_under_its_message_and_can_be_taken_back() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    connect_manually(&w, &d).await;
    d.start_background().await.unwrap();
    let conversation = customer_writes(&w, &d, "Do you deliver on Sundays?").await;
    let inbound = d.messages(conversation, None, 10).await.unwrap().items[0].clone();
    let react = |emoji: &str| Outgoing::Reaction {
        message_wamid: inbound.wamid.clone(),
        emoji: emoji.into(),
    };
    let shown = d.send(conversation, react("👍"), None).await.unwrap();
    assert_eq!(
        shown.id, inbound.id,
        "the thread gets the message reacted to"
    );
    let mine = async |d: &Device| {
        d.messages(conversation, None, 10).await.unwrap().items[0]
            .reactions
            .iter()
            .filter(|r| r.by == "me")
            .map(|r| r.emoji.clone())
            .collect::<Vec<_>>()
    };
    eventually("our reaction", async || {
        (mine(&d).await == ["👍"]).then_some(())
    })
    .await;
    d.send(conversation, react(""), None).await.unwrap();
    eventually("the reaction taken back", async || {
        mine(&d).await.is_empty().then_some(())
    })
    .await;
    let sent = sim_sent_reactions(&w).await;
    assert_eq!(sent, [inbound.wamid.clone(), inbound.wamid.clone()]);
    let elsewhere = d
        .send(
            conversation,
            Outgoing::Reaction {
                message_wamid: "wamid.not-here".into(),
                emoji: "👍".into(),
            },
            None,
        )
        .await;
    assert!(
        matches!(elsewhere, Err(DeviceError::NotFound(_))),
        "{elsewhere:?}"
    );

    // "typing…" while a reply is written: one read receipt with the indicator, however often
    // the composer asks within the period.
    for _ in 0..3 {
        d.show_typing(conversation).await.unwrap();
    }
    let typing = eventually("the typing indicator", async || {
        let marks: serde_json::Value = reqwest::get(w.sim.control_url("/read_marks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let typing: Vec<serde_json::Value> = marks["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["typing_indicator"] == true)
            .cloned()
            .collect();
        (!typing.is_empty()).then_some(typing)
    })
    .await;
    assert_eq!(typing.len(), 1, "{typing:?}");
    assert_eq!(typing[0]["message_id"], inbound.wamid.as_str());
    d.stop_background().await;
    w.stop().await;
}

/// The reactions the business sent, as Meta (the simulator) received them: the wamids.
async fn sim_sent_reactions(w: &SignupWorld) -> Vec<String> {
    let sent: serde_json::Value = reqwest::get(w.sim.control_url("/sent?type=reaction"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sent["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["request"]["reaction"]["message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Meta's word on the account reaches Settings: a ban warning asks for attention, a review
/// decision and new limits list with their facts, and a customer's opt-out is not an account
/// notice.
#[tokio::test]
async fn account_notices_list_what_meta_said_about_the_account_newest_first() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    connect_manually(&w, &d).await;
    d.start_background().await.unwrap();
    let post = |path: &'static str, body: serde_json::Value| {
        let url = w.sim.control_url(path);
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{}", resp.status());
        }
    };
    // First, so that it has been applied once the two notices are in.
    post("/users/16505551234/preferences", json!({"value": "stop"})).await;
    post(
        "/events/account_review_update",
        json!({"value": {"decision": "APPROVED"}}),
    )
    .await;
    post(
        "/events/account_update",
        json!({"value": {"event": "DISABLED_UPDATE",
            "ban_info": {"waba_ban_state": ["SCHEDULE_FOR_DISABLE"], "waba_ban_date": "2026-12-01"}}}),
    )
    .await;
    let notices = eventually("the two notices", async || {
        let n = d.account_notices(50).await.unwrap();
        (n.len() >= 2).then_some(n)
    })
    .await;
    let kinds: Vec<&str> = notices.iter().map(|n| n.kind.as_str()).collect();
    assert!(!kinds.contains(&"user_preferences"), "{kinds:?}");
    let ban = notices.iter().find(|n| n.kind == "account_update").unwrap();
    assert_eq!(ban.code.as_deref(), Some("DISABLED_UPDATE"));
    assert!(
        ban.facts
            .iter()
            .any(|f| f.name == "ban_state" && f.value == "SCHEDULE_FOR_DISABLE"),
        "{ban:?}"
    );
    assert!(ban.attention);
    let review = notices
        .iter()
        .find(|n| n.kind == "account_review_update")
        .unwrap();
    assert_eq!(review.code.as_deref(), Some("APPROVED"));
    assert!(!review.attention);
    assert!(
        notices
            .windows(2)
            .all(|p| (p[0].at, p[0].id) >= (p[1].at, p[1].id)),
        "newest first"
    );
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn manual_setup_checks_the_token_with_the_graph_api() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    let bad = d
        .setup_manual(ManualSetupInput {
            waba_id: w.sim.info.waba_id.clone(),
            phone_number_id: w.sim.info.phone_number_id.clone(),
            token: "EAAG-not-a-valid-token".into(),
        })
        .await;
    assert!(matches!(bad, Err(DeviceError::Meta(_))), "{bad:?}");
    assert!(matches!(
        d.setup_manual(ManualSetupInput {
            waba_id: "12ab".into(),
            phone_number_id: w.sim.info.phone_number_id.clone(),
            token: "x".into(),
        })
        .await,
        Err(DeviceError::InvalidInput(_))
    ));
    let number = d
        .setup_manual(ManualSetupInput {
            waba_id: w.sim.info.waba_id.clone(),
            phone_number_id: w.sim.info.phone_number_id.clone(),
            token: w.sim.info.access_token.clone(),
        })
        .await
        .unwrap();
    assert_eq!(number.id, w.sim.info.phone_number_id);
    assert!(number.display_phone_number.is_some());
    w.stop().await;
}

/// Waits for a `TemplatesChanged` event, skipping the others.
async fn templates_changed(events: &mut tokio::sync::broadcast::Receiver<DeviceEvent>) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(DeviceEvent::TemplatesChanged) = events.recv().await {
                return;
            }
        }
    })
    .await
    .expect("a TemplatesChanged event");
}

fn studio_form(name: &str) -> TemplateForm {
    TemplateForm {
        name: name.into(),
        language: "en_US".into(),
        category: "UTILITY".into(),
        header: Some(HeaderForm {
            format: "TEXT".into(),
            text: Some("Order {{1}}".into()),
            example: Some("#1042".into()),
        }),
        body: "Hi {{1}}, your order {{2}} is ready for pickup.".into(),
        body_examples: vec!["Ana".into(), "#1042".into()],
        footer: Some("Panadería Ana".into()),
        buttons: vec![ButtonForm {
            kind: "QUICK_REPLY".into(),
            text: "Thanks".into(),
            ..ButtonForm::default()
        }],
    }
}

#[tokio::test]
async fn the_templates_studio_lints_submits_and_sees_the_review_live() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    // Without a number there is no business account to submit to.
    assert!(matches!(
        d.create_template(&studio_form("studio_pickup")).await,
        Err(DeviceError::NotFound(_))
    ));
    connect_manually(&w, &d).await;
    let mut events = d.subscribe();
    d.start_background().await.unwrap();

    // Lint: issues on the form's own fields, and a preview filled with the examples.
    let mut bad = studio_form("Order Ready");
    bad.body_examples.clear();
    let check = d.lint_template(&bad);
    assert!(check.has_errors);
    assert!(check.issues.iter().any(|i| i.field == "name"), "{check:?}");
    let ok = d.lint_template(&studio_form("studio_pickup"));
    assert!(!ok.has_errors, "{ok:?}");
    assert_eq!(
        ok.preview.body,
        "Hi Ana, your order #1042 is ready for pickup."
    );
    // A draft with errors never reaches Meta; the error carries the issues.
    let refused = d.create_template(&bad).await.unwrap_err();
    assert_eq!(refused.kind(), "lint");
    assert!(refused.lint_issues().iter().any(|i| i.field == "name"));

    // Submit: PENDING at once, then APPROVED by the (simulated) review, live through the
    // webhook → relay → sync, announced as TemplatesChanged.
    let created = d
        .create_template(&studio_form("studio_pickup"))
        .await
        .unwrap();
    assert_eq!(created.status.as_deref(), Some("PENDING"));
    let approved = eventually("the template approved", async || {
        let t = d.templates(false).await.unwrap();
        t.into_iter()
            .find(|t| t.id == created.id && t.status.as_deref() == Some("APPROVED"))
    })
    .await;
    assert_eq!(approved.name, "studio_pickup");
    templates_changed(&mut events).await;

    // Open it in the editor: the same form, editable, with its history.
    let detail = d.template_detail(created.id).await.unwrap();
    assert!(detail.editable);
    assert!(detail.category_locked);
    assert_eq!(detail.form, studio_form("studio_pickup"));
    assert!(detail.history.iter().any(|h| h.value == "APPROVED"));

    // Edit: an approved template keeps its category; the content goes back to review.
    let mut changed = detail.form.clone();
    changed.category = "MARKETING".into();
    assert!(matches!(
        d.edit_template(created.id, &changed).await,
        Err(DeviceError::InvalidInput(_))
    ));
    changed.category = "UTILITY".into();
    // The simulator reviews in 50 ms and stamps webhook entries to the second; the relay
    // takes two entries with the same bytes for one Meta retry. Wait for the next second so
    // the edit's approval is a new entry (Meta's reviews take minutes).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    changed.body = "Hello {{1}}, order {{2}} is ready.".into();
    let edited = d.edit_template(created.id, &changed).await.unwrap();
    assert_eq!(edited.status.as_deref(), Some("PENDING"));
    assert_eq!(
        edited.body_text.as_deref(),
        Some("Hello {{1}}, order {{2}} is ready.")
    );
    // In review it cannot be edited again.
    let pending = d.template_detail(created.id).await.unwrap();
    if pending.template.status.as_deref() == Some("PENDING") {
        assert!(matches!(
            d.edit_template(created.id, &changed).await,
            Err(DeviceError::Conflict(_))
        ));
    }
    eventually("the edit approved", async || {
        let t = d.template_detail(created.id).await.unwrap().template;
        (t.status.as_deref() == Some("APPROVED")).then_some(())
    })
    .await;

    // A rejection arrives with its reason.
    let rejected = d
        .create_template(&studio_form("studio_reject"))
        .await
        .unwrap();
    let rejected = eventually("the rejection", async || {
        let t = d.template_detail(rejected.id).await.unwrap().template;
        (t.status.as_deref() == Some("REJECTED")).then_some(t)
    })
    .await;
    assert!(rejected.rejected_reason.is_some(), "{rejected:?}");

    // Delete: gone from Meta and from here.
    d.delete_template(rejected.id).await.unwrap();
    assert!(matches!(
        d.template_detail(rejected.id).await,
        Err(DeviceError::NotFound(_))
    ));
    d.sync_templates().await.unwrap();
    let names: Vec<String> = d
        .templates(false)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"studio_pickup".to_string()), "{names:?}");
    assert!(!names.contains(&"studio_reject".to_string()), "{names:?}");
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn unread_total_private_notes_and_quick_replies_through_the_device() {
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    // Nothing of it works for a conversation that does not exist.
    assert!(matches!(
        d.add_note(4242, "hello").await,
        Err(DeviceError::NotFound(_))
    ));
    connect_manually(&w, &d).await;
    d.start_background().await.unwrap();
    let conversation = customer_writes(&w, &d, "Is the bakery open on Sunday?").await;

    // The unread count the tray shows, back to zero once read.
    assert_eq!(d.unread_total().await.unwrap(), 1);
    d.mark_read(conversation).await.unwrap();
    assert_eq!(d.unread_total().await.unwrap(), 0);

    // Notes: trimmed, authored by the signed-in member, oldest first; blank ones refused.
    let first = d
        .add_note(conversation, "  Regular customer, likes rye.  ")
        .await
        .unwrap();
    assert_eq!(first.text, "Regular customer, likes rye.");
    assert!(first.mine);
    assert_eq!(first.author_name, "Ana Owner");
    d.add_note(conversation, "Call back after 5 pm")
        .await
        .unwrap();
    assert!(matches!(
        d.add_note(conversation, "   ").await,
        Err(DeviceError::InvalidInput(_))
    ));
    let notes: Vec<String> = d
        .notes(conversation)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(
        notes,
        ["Regular customer, likes rye.", "Call back after 5 pm"]
    );

    // Quick replies: one word shortcuts, unique; edits keep the id; deletes are final.
    let hours = d
        .save_quick_reply(None, "Hours", "Open 8–18, Sundays 8–11.")
        .await
        .unwrap();
    assert_eq!(hours.shortcut, "/hours");
    assert!(matches!(
        d.save_quick_reply(None, "/hours", "again").await,
        Err(DeviceError::Conflict(_))
    ));
    assert!(matches!(
        d.save_quick_reply(None, "opening hours", "x").await,
        Err(DeviceError::InvalidInput(_))
    ));
    assert!(matches!(
        d.save_quick_reply(Some("no-such-id"), "/x", "x").await,
        Err(DeviceError::NotFound(_))
    ));
    let edited = d
        .save_quick_reply(Some(&hours.id), "/hours", "Open 8–18 every day.")
        .await
        .unwrap();
    assert_eq!(edited.id, hours.id);
    d.save_quick_reply(None, "/thanks", "Thank you!")
        .await
        .unwrap();
    let listed: Vec<(String, String)> = d
        .quick_replies()
        .await
        .unwrap()
        .into_iter()
        .map(|q| (q.shortcut, q.text))
        .collect();
    assert_eq!(
        listed,
        [
            ("/hours".to_owned(), "Open 8–18 every day.".to_owned()),
            ("/thanks".to_owned(), "Thank you!".to_owned())
        ]
    );
    d.delete_quick_reply(&hours.id).await.unwrap();
    assert_eq!(d.quick_replies().await.unwrap().len(), 1);
    assert!(matches!(
        d.delete_quick_reply(&hours.id).await,
        Err(DeviceError::NotFound(_))
    ));
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn buttons_lists_and_contact_cards_reach_meta() {
    use dataoptix_core::device::{
        ButtonsForm, ContactCardForm, ListForm, ListRowForm, ListSectionForm,
    };
    let w = world().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    connect_manually(&w, &d).await;
    d.start_background().await.unwrap();
    let customer = "16505551234";
    let conversation = customer_writes(&w, &d, "What do you have today?").await;

    let buttons = d
        .send(
            conversation,
            Outgoing::Buttons(ButtonsForm {
                header: None,
                body: "Pick up or delivery?".into(),
                footer: None,
                buttons: vec!["Pick up".into(), "Delivery".into()],
            }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(buttons.kind, "interactive");
    assert_eq!(buttons.text.as_deref(), Some("Pick up or delivery?"));
    let list = Outgoing::List(ListForm {
        header: None,
        body: "Today's bread".into(),
        footer: Some("Baked at 6".into()),
        button: "See bread".into(),
        sections: vec![ListSectionForm {
            title: None,
            rows: vec![ListRowForm {
                title: "Rye".into(),
                description: Some("1 kg".into()),
            }],
        }],
    });
    d.send(conversation, list, None).await.unwrap();
    d.send(
        conversation,
        Outgoing::Contact(ContactCardForm {
            name: "Flour Mill".into(),
            phones: vec!["+1 650 555 0100".into()],
            email: None,
            organization: Some("Flour Mill Ltd".into()),
        }),
        None,
    )
    .await
    .unwrap();
    // A form Meta would refuse never reaches the outbox.
    let refused = d
        .send(
            conversation,
            Outgoing::Buttons(ButtonsForm {
                header: None,
                body: "Too many".into(),
                footer: None,
                buttons: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            }),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(DeviceError::InvalidInput(_))),
        "{refused:?}"
    );

    // Meta (the simulator) accepted the three, as sent.
    let sent = eventually("three messages at Meta", async || {
        let v: serde_json::Value = reqwest::get(w.sim.control_url(&format!("/sent?to={customer}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = v["data"].as_array().cloned().unwrap_or_default();
        (data.len() == 3).then_some(data)
    })
    .await;
    let kinds: Vec<String> = sent
        .iter()
        .map(|m| {
            let r = &m["request"];
            match r["type"].as_str().unwrap() {
                "interactive" => {
                    format!("interactive/{}", r["interactive"]["type"].as_str().unwrap())
                }
                other => other.to_owned(),
            }
        })
        .collect();
    assert_eq!(
        kinds,
        ["interactive/button", "interactive/list", "contacts"]
    );
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn a_contact_corrected_restricted_and_erased_on_one_device_is_so_on_every_device() {
    let w = world().await;
    let (owner_dir, laptop_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let owner = w.register(owner_dir.path()).await;
    connect_manually(&w, &owner).await;
    owner.start_background().await.unwrap();
    let conversation = customer_writes(&w, &owner, "Do you deliver to Rua Augusta 12?").await;
    let link = owner
        .invite("bo@example.com", protocol::auth::Role::Agent)
        .await
        .unwrap();
    let laptop = device(laptop_dir.path(), &MemoryStore::new()).await;
    laptop
        .join(dataoptix_core::device::JoinInput {
            invite_link: link,
            name: "Bo Agent".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    laptop.start_background().await.unwrap();
    let on_laptop = async |d: &Device| {
        d.contacts("", None, 10)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|c| c.contact.wa_id.as_deref() == Some("16505551234"))
    };
    eventually("the customer on the laptop", async || {
        on_laptop(&laptop).await
    })
    .await;

    // Corrected and restricted on the front desk: so on the laptop.
    let contact = owner.conversation(conversation).await.unwrap().contact.id;
    owner
        .rename_contact(contact, Some("Mrs Sheena Nelson"))
        .await
        .unwrap();
    owner.set_contact_restricted(contact, true).await.unwrap();
    let seen = eventually("the correction on the laptop", async || {
        on_laptop(&laptop)
            .await
            .filter(|c| c.contact.name == "Mrs Sheena Nelson" && c.contact.restricted)
    })
    .await;
    // The laptop lifts the restriction: the newer change wins on both.
    laptop
        .set_contact_restricted(seen.contact.id, false)
        .await
        .unwrap();
    eventually("the lifted restriction on the front desk", async || {
        let c = owner.contact(contact).await.unwrap();
        (!c.contact.restricted).then_some(())
    })
    .await;

    // The owner's retention policy is the team's: the laptop keeps its history by it (the
    // laptop's member, an agent, cannot set one).
    let policy = dataoptix_core::device::RetentionSettings {
        messages_days: Some(400),
        media_days: Some(90),
        raw_events_days: None,
    };
    owner.set_retention(policy).await.unwrap();
    eventually("the retention policy on the laptop", async || {
        (laptop.retention().await.unwrap() == policy).then_some(())
    })
    .await;
    assert!(matches!(
        laptop.set_retention(policy).await,
        Err(DeviceError::Forbidden)
    ));
    let log = laptop.activity(None, 50).await.unwrap();
    assert!(
        log.items
            .iter()
            .any(|e| e.action == "privacy.retention_policy_synced"
                && e.actor.starts_with("Ana Owner")),
        "{:?}",
        log.items
    );

    // Erased on the front desk: gone from the laptop too, its activity log says by whom.
    owner.erase_contact(contact).await.unwrap();
    eventually("the erasure on the laptop", async || {
        on_laptop(&laptop).await.is_none().then_some(())
    })
    .await;
    let leftover: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE text_body LIKE '%Rua Augusta%'")
            .fetch_one(laptop.store().pool())
            .await
            .unwrap();
    assert_eq!(leftover, 0);
    let log = laptop.activity(None, 50).await.unwrap();
    assert!(
        log.items.iter().any(|e| e.action == "privacy.erase_contact_synced"
            && e.actor.starts_with("Ana Owner")),
        "{:?}",
        log.items
    );
    // The erasure's event came back to the front desk too: nothing more happened there.
    assert!(owner.contacts("", None, 10).await.unwrap().items.is_empty());

    // She writes again afterwards: a new conversation on both, not erased. Meta dates messages
    // in whole seconds, and one dated in the erasure's own second counts as before it (as the
    // erasure's cut-off on the other devices does): "afterwards" is a second later.
    reqwest::Client::new()
        .post(w.sim.control_url("/clock/advance"))
        .json(&json!({"seconds": 2}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    customer_writes(&w, &owner, "Hello again").await;
    eventually("her new message on the laptop", async || {
        on_laptop(&laptop).await.map(|_| ())
    })
    .await;
    owner.stop_background().await;
    laptop.stop_background().await;
}
