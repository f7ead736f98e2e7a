//! The commands that act as a signed-in device, through `dataoptix_core::device::Device` —
//! the same code the desktop app runs: accounts, connecting a number, the inbox, sending,
//! templates, and the privacy operations.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use dataoptix_core::device::views::ConversationFilter;
use dataoptix_core::device::{
    Device, DeviceError, HeaderMediaInput, JoinInput, ManualSetupInput, OnboardingOutcome,
    Outgoing, RegisterInput, SignInInput,
};
use dataoptix_core::privacy::{activity, export, retention};

use super::{print_json, read_secret, runtime, Context, Failure};

/// Commands of a signed-in device (and signing in).
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Registers a new workspace at a relay (password from stdin); this device becomes the
    /// owner's first device.
    Register {
        /// The relay's URL, e.g. https://relay.example.com (remembered).
        #[arg(long)]
        relay: String,
        /// Your name.
        #[arg(long)]
        name: String,
        /// Your email (the sign-in name).
        #[arg(long)]
        email: String,
        /// The company (workspace) name.
        #[arg(long)]
        company: String,
    },
    /// Signs in on this device (password from stdin). A new device joins with an invitation.
    Login {
        /// The relay's URL (default: the last one used here).
        #[arg(long)]
        relay: Option<String>,
        /// Your email.
        #[arg(long)]
        email: String,
    },
    /// Signs out (the local history stays).
    Logout,
    /// Joins a workspace with an invitation link (password for the new account from stdin).
    Join {
        /// The `dataoptix://join?…#…` link.
        link: String,
        /// Your name.
        #[arg(long)]
        name: String,
    },
    /// Creates an invitation link for a staff member (owner, admin).
    Invite {
        /// Their email.
        email: String,
        /// `admin` or `agent`.
        #[arg(long, default_value = "agent")]
        role: String,
    },
    /// The team: members and roles, signed-in devices, pending invitations.
    Team,
    /// Gives a member another role (owner, admin).
    Role {
        /// The member's id (from `team`).
        member: String,
        /// `owner`, `admin` or `agent`.
        role: String,
    },
    /// Removes a member (owner, admin): their devices are signed out.
    RemoveMember {
        /// The member's id (from `team`).
        member: String,
    },
    /// Signs another device of the workspace out.
    RevokeDevice {
        /// The device's id (from `team`).
        device: String,
    },
    /// Withdraws a pending invitation.
    RevokeInvitation {
        /// The invitation's id (from `team`).
        invitation: String,
    },
    /// Starts Embedded Signup: prints the page to open in a browser and the session id.
    Onboard,
    /// Where an Embedded Signup session stands (connects the number once it is done).
    OnboardStatus {
        /// The session id printed by `onboard`.
        session: String,
    },
    /// Connects a number by hand: WABA id, phone number id, system-user token from stdin.
    SetupManual {
        #[arg(long)]
        waba_id: String,
        #[arg(long)]
        phone_number_id: String,
    },
    /// The inbox, newest conversation first.
    Conversations {
        /// Only conversations with unread messages.
        #[arg(long)]
        unread: bool,
        /// Only conversations with this label.
        #[arg(long)]
        label: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A conversation's messages, newest first.
    Messages {
        /// The conversation id (see `conversations`).
        conversation: i64,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Full-text search over the whole history (works offline).
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Sends a message through the outbox (queued if offline; sent now if possible).
    Send {
        /// The conversation id.
        conversation: i64,
        /// A text message.
        #[arg(long, group = "what")]
        text: Option<String>,
        /// An approved template's name (with --lang and --param for each body variable).
        #[arg(long, group = "what")]
        template: Option<String>,
        /// The template's language.
        #[arg(long, default_value = "en_US")]
        lang: String,
        /// A body variable of the template, in order.
        #[arg(long = "param")]
        params: Vec<String>,
        /// A text-header variable of the template, in order.
        #[arg(long = "header-param")]
        header_params: Vec<String>,
        /// The value of each button that takes one, in order (the end of a dynamic URL, a
        /// coupon code; an authentication code button defaults to the body's code).
        #[arg(long = "button-param")]
        button_params: Vec<String>,
        #[command(flatten)]
        header: HeaderMediaArgs,
        /// React to this message (wamid) with --emoji ("" removes).
        #[arg(long, group = "what")]
        react: Option<String>,
        #[arg(long, default_value = "")]
        emoji: String,
        /// A location: LAT,LNG.
        #[arg(long, group = "what")]
        location: Option<String>,
        /// Quote this message (wamid).
        #[arg(long)]
        reply_to: Option<String>,
    },
    /// Sets a conversation's labels (every device of the workspace sees them).
    Label {
        conversation: i64,
        labels: Vec<String>,
    },
    /// Templates: list the local copy, or sync it from Meta.
    Templates {
        /// Fetch every template from Meta first.
        #[arg(long)]
        sync: bool,
        /// Approved templates only.
        #[arg(long)]
        approved: bool,
    },
    /// Broadcasts: create (from a label, contacts or a CSV), list, show, pause, resume, cancel.
    #[command(subcommand)]
    Broadcast(super::broadcasts::BroadcastCommand),
    /// The number's WhatsApp business profile: show, set.
    #[command(subcommand)]
    Profile(super::broadcasts::ProfileCommand),
    /// Exports one contact (--contact) or the whole workspace as a zip (JSON + transcript).
    Export {
        #[arg(long)]
        contact: Option<i64>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Erases a contact and everything about them here and on the team's other devices, then
    /// reclaims the space (owners and admins).
    EraseContact { contact: i64 },
    /// Shows or sets the retention policy (days; 0 clears), and applies it with --apply.
    Retention {
        #[arg(long)]
        messages_days: Option<u32>,
        #[arg(long)]
        media_days: Option<u32>,
        #[arg(long)]
        raw_events_days: Option<u32>,
        #[arg(long)]
        apply: bool,
    },
    /// The activity log, newest first; --verify checks its hash chain.
    Activity {
        #[arg(long)]
        verify: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

impl From<DeviceError> for Failure {
    fn from(e: DeviceError) -> Self {
        Self(e.to_string())
    }
}

pub(super) fn failure(e: impl std::fmt::Display) -> Failure {
    Failure(e.to_string())
}

fn password_from_stdin(what: &str) -> Result<String, Failure> {
    let secret = read_secret(what)?;
    let text = String::from_utf8(secret.to_vec()).map_err(|_| failure("not UTF-8 text"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs one workspace command.
pub fn run(ctx: &Context<'_>, command: WorkspaceCommand) -> Result<(), Failure> {
    let rt = runtime()?;
    rt.block_on(async {
        let device = Device::open(ctx.data_dir, ctx.keyring, ctx.passphrase, "dataoptix-cli")
            .await
            .map_err(|e| match e {
                DeviceError::NeedsPassphrase { .. } => Failure(format!(
                    "{e}; set DATAOPTIX_PASSPHRASE{}",
                    if ctx.can_prompt {
                        " or run in a terminal"
                    } else {
                        ""
                    }
                )),
                other => other.into(),
            })?;
        let result = dispatch(ctx, &device, command).await;
        device.stop_background().await;
        device.store().clone().close().await;
        result
    })
}

async fn dispatch(
    ctx: &Context<'_>,
    device: &Device,
    command: WorkspaceCommand,
) -> Result<(), Failure> {
    let out = |value: serde_json::Value, human: String| {
        if ctx.json {
            print_json(&value);
        } else {
            println!("{human}");
        }
    };
    match command {
        WorkspaceCommand::Register {
            relay,
            name,
            email,
            company,
        } => {
            let password = password_from_stdin("the new account's password")?;
            let a = device
                .register(RegisterInput {
                    relay_url: relay,
                    name,
                    email,
                    company,
                    password,
                })
                .await?;
            out(
                json!({"workspace_id": a.workspace_id, "user_id": a.user_id}),
                format!(
                    "Registered {} at {}; signed in on this device.",
                    a.company, a.relay_url
                ),
            );
        }
        WorkspaceCommand::Login { relay, email } => {
            let relay = match relay {
                Some(r) => r,
                None => device
                    .last_relay_url()
                    .await?
                    .ok_or_else(|| failure("no relay used here before: pass --relay"))?,
            };
            let password = password_from_stdin("your password")?;
            let a = device
                .sign_in(SignInInput {
                    relay_url: relay,
                    email,
                    password,
                })
                .await?;
            out(
                json!({"workspace_id": a.workspace_id, "user_id": a.user_id, "role": a.role}),
                format!(
                    "Signed in to {} as {} ({}).",
                    a.company, a.user_name, a.role
                ),
            );
        }
        WorkspaceCommand::Logout => {
            device.sign_out().await?;
            out(json!({"signed_out": true}), "Signed out.".into());
        }
        WorkspaceCommand::Join { link, name } => {
            let password = password_from_stdin("the new account's password")?;
            let a = device
                .join(JoinInput {
                    invite_link: link,
                    name,
                    password,
                })
                .await?;
            out(
                json!({"workspace_id": a.workspace_id, "user_id": a.user_id, "role": a.role}),
                format!("Joined {} as {} ({}).", a.company, a.user_name, a.role),
            );
        }
        WorkspaceCommand::Team => {
            let team = device.team().await?;
            let mut human = vec![format!("members (you are {}):", team.my_role)];
            for m in &team.members {
                human.push(format!(
                    "  {}  {} <{}>  {}{}{}",
                    m.id,
                    m.name,
                    m.email,
                    m.role,
                    if m.is_me { "  (you)" } else { "" },
                    if m.active { "" } else { "  (removed)" }
                ));
            }
            human.push("devices:".into());
            for d in &team.devices {
                human.push(format!(
                    "  {}  {} ({}), last seen {}{}",
                    d.id,
                    d.device_name,
                    d.member_name,
                    d.last_seen_at,
                    if d.current { "  (this device)" } else { "" }
                ));
            }
            if team.can_manage {
                human.push("pending invitations:".into());
                for i in &team.invitations {
                    human.push(format!(
                        "  {}  {} as {}, expires {}",
                        i.id, i.email, i.role, i.expires_at
                    ));
                }
            }
            out(
                serde_json::to_value(&team).map_err(failure)?,
                human.join("\n"),
            );
        }
        WorkspaceCommand::Role { member, role } => {
            device.change_role(&member, &role).await?;
            out(
                json!({"member": member, "role": role}),
                format!("{member} is now {role}"),
            );
        }
        WorkspaceCommand::RemoveMember { member } => {
            device.remove_member(&member).await?;
            out(
                json!({"removed": member}),
                format!("{member} removed; their devices are signed out"),
            );
        }
        WorkspaceCommand::RevokeDevice { device: id } => {
            device.revoke_device(&id).await?;
            out(json!({"signed_out": id}), format!("device {id} signed out"));
        }
        WorkspaceCommand::RevokeInvitation { invitation } => {
            device.revoke_invitation(&invitation).await?;
            out(
                json!({"withdrawn": invitation}),
                format!("invitation {invitation} withdrawn"),
            );
        }
        WorkspaceCommand::Invite { email, role } => {
            let role: protocol::auth::Role = role
                .parse()
                .map_err(|_| failure("the role is admin or agent"))?;
            let link = device.invite(&email, role).await?;
            out(json!({"link": link}), link.clone());
        }
        WorkspaceCommand::Onboard => {
            let start = device.start_onboarding().await?;
            out(
                json!({"session": start.session_id, "url": start.url}),
                format!(
                    "Open this page in a browser to connect WhatsApp:\n  {}\nthen run: dataoptix-cli onboard-status {}",
                    start.url, start.session_id
                ),
            );
        }
        WorkspaceCommand::OnboardStatus { session } => {
            let outcome = device.onboarding_status(&session).await?;
            let human = match &outcome {
                OnboardingOutcome::Waiting => "Waiting for Embedded Signup to finish.".to_owned(),
                OnboardingOutcome::Connected { number } => format!(
                    "Connected {} (phone number id {}).",
                    number
                        .display_phone_number
                        .as_deref()
                        .unwrap_or("the number"),
                    number.id
                ),
                OnboardingOutcome::Cancelled { step, explanation } => {
                    format!(
                        "Cancelled{}: {explanation}",
                        step.as_ref()
                            .map(|s| format!(" at {s}"))
                            .unwrap_or_default()
                    )
                }
                OnboardingOutcome::Failed {
                    code, explanation, ..
                } => format!("Failed ({code}): {explanation}"),
            };
            out(serde_json::to_value(&outcome).map_err(failure)?, human);
        }
        WorkspaceCommand::SetupManual {
            waba_id,
            phone_number_id,
        } => {
            let token = password_from_stdin("the system-user access token")?;
            let n = device
                .setup_manual(ManualSetupInput {
                    waba_id,
                    phone_number_id,
                    token,
                })
                .await?;
            out(
                serde_json::to_value(&n).map_err(failure)?,
                format!(
                    "Connected {} ({}).",
                    n.display_phone_number.as_deref().unwrap_or("the number"),
                    n.id
                ),
            );
        }
        WorkspaceCommand::Conversations {
            unread,
            label,
            limit,
        } => {
            let page = device
                .conversations(
                    &ConversationFilter {
                        unread_only: unread,
                        label,
                        assigned_to_me: false,
                    },
                    None,
                    limit,
                )
                .await?;
            let human = page
                .items
                .iter()
                .map(|c| {
                    format!(
                        "{:>6}  {:<24} {:>3} unread  {}  {}",
                        c.id,
                        c.contact.name,
                        c.unread_count,
                        if c.window.open { "open  " } else { "closed" },
                        c.last_preview.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out(serde_json::to_value(&page).map_err(failure)?, human);
        }
        WorkspaceCommand::Messages {
            conversation,
            limit,
        } => {
            let page = device.messages(conversation, None, limit).await?;
            let human = page
                .items
                .iter()
                .rev()
                .map(|m| {
                    format!(
                        "{} {} [{}] {}{}",
                        m.ts,
                        if m.direction == "in" { "<" } else { ">" },
                        m.kind,
                        m.text.as_deref().or(m.caption.as_deref()).unwrap_or(""),
                        m.status
                            .as_deref()
                            .map(|s| format!("  ({s})"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out(serde_json::to_value(&page).map_err(failure)?, human);
        }
        WorkspaceCommand::Search { query, limit } => {
            let found = device.search(&query, limit).await?;
            let human = found
                .messages
                .iter()
                .map(|h| {
                    format!(
                        "{:>6}  {:<20} {}",
                        h.conversation_id, h.contact_name, h.snippet
                    )
                })
                .chain(
                    found
                        .contacts
                        .iter()
                        .map(|c| format!("contact {:>5}  {}", c.id, c.name)),
                )
                .collect::<Vec<_>>()
                .join("\n");
            out(serde_json::to_value(&found).map_err(failure)?, human);
        }
        WorkspaceCommand::Send {
            conversation,
            text,
            template,
            lang,
            params,
            header_params,
            button_params,
            header,
            react,
            emoji,
            location,
            reply_to,
        } => {
            let message = if let Some(body) = text {
                Outgoing::Text {
                    body,
                    preview_url: false,
                }
            } else if let Some(name) = template {
                Outgoing::Template {
                    name,
                    language: lang,
                    params,
                    header_params,
                    header_media: header.input()?,
                    button_params,
                }
            } else if let Some(message_wamid) = react {
                Outgoing::Reaction {
                    message_wamid,
                    emoji,
                }
            } else if let Some(loc) = location {
                let (lat, lng) = lat_lng(&loc, "--location")?;
                Outgoing::Location {
                    latitude: lat,
                    longitude: lng,
                    name: None,
                    address: None,
                }
            } else {
                return Err(failure(
                    "say what to send: --text, --template, --react or --location",
                ));
            };
            let queued = device.send(conversation, message, reply_to).await?;
            // The app's background worker sends continuously; here, try once before exiting.
            let report = device.flush_outbox().await?;
            let sent = device
                .messages(conversation, None, 50)
                .await?
                .items
                .into_iter()
                .find(|m| m.id == queued.id)
                .unwrap_or(queued);
            out(
                json!({"message": sent, "sent": report.sent, "deferred": report.deferred, "failed": report.failed}),
                format!(
                    "{} ({})",
                    if sent.status.as_deref() == Some("pending") {
                        "Queued: it goes out with the next sync"
                    } else {
                        "Sent"
                    },
                    sent.status.as_deref().unwrap_or("?")
                ),
            );
        }
        WorkspaceCommand::Label {
            conversation,
            labels,
        } => {
            device.set_labels(conversation, &labels).await?;
            out(json!({"labels": labels}), "Labels set.".into());
        }
        WorkspaceCommand::Templates { sync, approved } => {
            if sync {
                device.sync_templates().await?;
            }
            let list = device.templates(approved).await?;
            let human = list
                .iter()
                .map(|t| {
                    format!(
                        "{:<32} {:<6} {:<10} {}",
                        t.name,
                        t.language,
                        t.status.as_deref().unwrap_or("?"),
                        t.body_text.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out(serde_json::to_value(&list).map_err(failure)?, human);
        }
        WorkspaceCommand::Broadcast(command) => {
            super::broadcasts::broadcast(device, command, out).await?;
        }
        WorkspaceCommand::Profile(command) => {
            super::broadcasts::profile(device, command, out).await?;
        }
        WorkspaceCommand::Export { contact, out: dest } => {
            let scope = match contact {
                Some(id) => export::ExportScope::Contact(id),
                None => export::ExportScope::Workspace(device.workspace_id().await?),
            };
            let actor = device.actor().await?;
            let media = export::MediaFiles::of(device.vault()).map_err(failure)?;
            let report = export::export(device.store(), &media, &actor, &scope, &dest, |p| {
                if !ctx.json {
                    eprintln!("export: {:?} {}/{}", p.stage, p.done, p.total);
                }
            })
            .await
            .map_err(failure)?;
            out(
                serde_json::to_value(&report).map_err(failure)?,
                format!(
                    "Exported {} contacts, {} messages, {} media files ({} not included, see \
                     manifest.json) to {}.",
                    report.contacts,
                    report.messages,
                    report.media_included.len(),
                    report.media_skipped.len(),
                    report.path.display()
                ),
            );
        }
        WorkspaceCommand::EraseContact { contact } => {
            // As the app does: owners and admins only, and the team's other devices erase
            // them too.
            let report = device.erase_contact(contact).await?;
            out(
                serde_json::to_value(report).map_err(failure)?,
                format!(
                    "Erased the contact: {} messages, {} conversations, {} media files.",
                    report.messages, report.conversations, report.media_files
                ),
            );
        }
        WorkspaceCommand::Retention {
            messages_days,
            media_days,
            raw_events_days,
            apply,
        } => {
            let store = device.store();
            let mut policy = retention::policy(store).await.map_err(failure)?;
            let changed =
                messages_days.is_some() || media_days.is_some() || raw_events_days.is_some();
            let set = |v: Option<u32>, old: Option<u32>| match v {
                Some(0) => None,
                Some(d) => Some(d),
                None => old,
            };
            policy.messages_days = set(messages_days, policy.messages_days);
            policy.media_days = set(media_days, policy.media_days);
            policy.raw_events_days = set(raw_events_days, policy.raw_events_days);
            if changed {
                // As in the app: owners and admins only, and every device of the team follows.
                device
                    .set_retention(dataoptix_core::device::RetentionSettings {
                        messages_days: policy.messages_days,
                        media_days: policy.media_days,
                        raw_events_days: policy.raw_events_days,
                    })
                    .await?;
            }
            let report = if apply {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                // Logged as whoever is signed in; a signed-out data directory can still be
                // cleaned up, by "dataoptix-cli" (never the timer's actor: this run was asked).
                let actor = device
                    .actor()
                    .await
                    .unwrap_or_else(|_| "dataoptix-cli".to_owned());
                Some(
                    retention::apply(store, device.data_dir(), now, &actor)
                        .await
                        .map_err(failure)?,
                )
            } else {
                None
            };
            out(
                json!({"policy": policy, "applied": report}),
                format!(
                    "Retention: {policy:?}{}",
                    report
                        .map(|r| format!("; deleted {r:?}"))
                        .unwrap_or_default()
                ),
            );
        }
        WorkspaceCommand::Activity { verify, limit } => {
            let store = device.store();
            if verify {
                activity::verify(store).await.map_err(failure)?;
            }
            let page = activity::list(store, None, limit).await.map_err(failure)?;
            let human = page
                .items
                .iter()
                .map(|e| {
                    format!(
                        "{:>5} {} {:<28} {:<24} {}",
                        e.id,
                        e.ts,
                        e.action,
                        e.actor,
                        e.subject.as_deref().unwrap_or("")
                    )
                })
                .chain(verify.then(|| "The hash chain is intact.".to_owned()))
                .collect::<Vec<_>>()
                .join("\n");
            out(json!({"entries": page.items, "verified": verify}), human);
        }
    }
    Ok(())
}

/// What fills a template's media or location header, for `send` and `broadcast create`.
#[derive(Debug, Clone, clap::Args)]
#[group(multiple = false)]
pub struct HeaderMediaArgs {
    /// A media header's file on this computer (uploaded to Meta).
    #[arg(long)]
    header_file: Option<PathBuf>,
    /// A media header's public https address.
    #[arg(long)]
    header_link: Option<String>,
    /// A location header's place: LAT,LNG.
    #[arg(long)]
    header_location: Option<String>,
}

impl HeaderMediaArgs {
    /// The header input given, if any.
    pub fn input(self) -> Result<Option<HeaderMediaInput>, Failure> {
        Ok(
            match (self.header_file, self.header_link, self.header_location) {
                (Some(path), _, _) => Some(HeaderMediaInput::File {
                    path: path.to_string_lossy().into_owned(),
                    filename: None,
                }),
                (_, Some(url), _) => Some(HeaderMediaInput::Link {
                    url,
                    filename: None,
                }),
                (_, _, Some(place)) => {
                    let (latitude, longitude) = lat_lng(&place, "--header-location")?;
                    Some(HeaderMediaInput::Location {
                        latitude,
                        longitude,
                        name: None,
                        address: None,
                    })
                }
                _ => None,
            },
        )
    }
}

/// `LAT,LNG` as numbers; `flag` names the option in the error.
fn lat_lng(text: &str, flag: &str) -> Result<(f64, f64), Failure> {
    text.split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .ok_or_else(|| failure(format!("{flag} is LAT,LNG, e.g. 52.37,4.89")))
}
