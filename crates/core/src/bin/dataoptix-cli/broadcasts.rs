//! `broadcast create|list|show|pause|resume|cancel` and `profile show|set`.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use dataoptix_core::broadcast::{BroadcastSummary, ParamSource, RecipientSource};
use dataoptix_core::device::{BroadcastForm, Device, ProfileUpdate};

use super::workspace::failure;
use super::Failure;

/// Broadcasts: one approved template to many recipients, paced by the outbox.
// Parsed once per process: the size of the `create` variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum BroadcastCommand {
    /// Plans a broadcast, prints who is excluded and why, and (unless --dry-run) sends it:
    /// returns once every recipient is queued, then sends what is due (--wait: until done).
    Create {
        /// A name for the list.
        #[arg(long)]
        name: String,
        /// The approved template's name.
        #[arg(long)]
        template: String,
        /// Its language.
        #[arg(long, default_value = "en_US")]
        lang: String,
        /// One per body variable, in order: `text` (fixed), `col:<column>` (CSV column) or
        /// `@name` (the recipient's name).
        #[arg(long = "param")]
        params: Vec<String>,
        /// The same for the text header's variables.
        #[arg(long = "header-param")]
        header_params: Vec<String>,
        /// The same for each button that takes a value, in order (the end of a dynamic URL,
        /// a coupon code: `col:coupon` gives everyone their own).
        #[arg(long = "button-param")]
        button_params: Vec<String>,
        /// The header's file, link or place, the same for everyone (a file is uploaded once).
        #[command(flatten)]
        header: super::workspace::HeaderMediaArgs,
        /// Recipients: every contact whose conversation has this label.
        #[arg(long, group = "to")]
        label: Option<String>,
        /// Recipients: these contact ids (comma-separated).
        #[arg(long, group = "to", value_delimiter = ',')]
        contacts: Option<Vec<i64>>,
        /// Recipients: a CSV file with a header row and a `phone` column.
        #[arg(long, group = "to")]
        csv: Option<PathBuf>,
        /// The sending number (needed when the workspace has several).
        #[arg(long)]
        phone_number_id: Option<String>,
        /// Only print the plan.
        #[arg(long)]
        dry_run: bool,
        /// Keep sending until nothing is queued.
        #[arg(long)]
        wait: bool,
    },
    /// The broadcasts with their progress.
    List,
    /// One broadcast and its recipients' states.
    Show {
        id: i64,
        /// Recipients shown (0: none).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Holds what is still queued.
    Pause { id: i64 },
    /// Sends again what was held.
    Resume { id: i64 },
    /// Cancels what has not gone out.
    Cancel { id: i64 },
}

/// The number's WhatsApp business profile.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Reads it from Meta.
    Show {
        #[arg(long)]
        phone_number_id: Option<String>,
    },
    /// Changes the given fields (Meta's limits are checked first); `--website` twice at most.
    Set {
        #[arg(long)]
        phone_number_id: Option<String>,
        #[arg(long)]
        about: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long = "website")]
        websites: Vec<String>,
        #[arg(long)]
        vertical: Option<String>,
    },
}

fn source(arg: &str) -> ParamSource {
    if let Some(column) = arg.strip_prefix("col:") {
        ParamSource::Column {
            column: column.to_string(),
        }
    } else if arg == "@name" {
        ParamSource::ContactName
    } else {
        ParamSource::Fixed {
            value: arg.to_string(),
        }
    }
}

fn line(b: &BroadcastSummary) -> String {
    let c = &b.counts;
    format!(
        "#{:<4} {:<24} {:<10} {:<20} total {} · queued {} · sent {} · delivered {} · read {} · failed {} · skipped {} · cancelled {}",
        b.id, b.name, b.status, b.template_name, c.total, c.queued, c.sent, c.delivered, c.read,
        c.failed, c.skipped, c.cancelled
    )
}

/// Runs a broadcast command; `out` prints JSON or the human text.
pub async fn broadcast(
    device: &Device,
    command: BroadcastCommand,
    out: impl Fn(serde_json::Value, String),
) -> Result<(), Failure> {
    let summary = match command {
        BroadcastCommand::Create {
            name,
            template,
            lang,
            params,
            header_params,
            button_params,
            header,
            label,
            contacts,
            csv,
            phone_number_id,
            dry_run,
            wait,
        } => {
            let recipients = match (label, contacts, csv) {
                (Some(label), _, _) => RecipientSource::Label { label },
                (_, Some(contact_ids), _) => RecipientSource::Contacts { contact_ids },
                (_, _, Some(path)) => RecipientSource::Csv {
                    text: std::fs::read_to_string(&path)
                        .map_err(|e| failure(format!("{}: {e}", path.display())))?,
                },
                _ => {
                    return Err(failure(
                        "choose the recipients: --label, --contacts or --csv",
                    ))
                }
            };
            let form = BroadcastForm {
                name,
                phone_number_id,
                template_name: template,
                language: lang,
                body: params.iter().map(|p| source(p)).collect(),
                header: header_params.iter().map(|p| source(p)).collect(),
                buttons: button_params.iter().map(|p| source(p)).collect(),
                header_media: header.input()?,
                recipients,
            };
            let preview = device.preview_broadcast(&form).await?;
            eprintln!(
                "{} recipient(s), {} to send, {} excluded, {} CSV row(s) refused or collapsed",
                preview.total,
                preview.sendable,
                preview.excluded.len(),
                preview.import_issues.len()
            );
            for r in &preview.excluded {
                eprintln!(
                    "  excluded {} {}: {}",
                    r.phone,
                    r.name.as_deref().unwrap_or(""),
                    r.skip_reason.as_deref().unwrap_or("")
                );
            }
            for i in &preview.import_issues {
                eprintln!("  {}", i.message);
            }
            if dry_run {
                out(
                    serde_json::to_value(&preview).map_err(failure)?,
                    "Dry run: nothing sent.".into(),
                );
                return Ok(());
            }
            let created = device.create_broadcast(form).await?;
            loop {
                device.flush_outbox().await?;
                let now = device.broadcast(created.id).await?;
                if !wait || now.counts.queued == 0 {
                    break now;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        BroadcastCommand::List => {
            let list = device.broadcasts().await?;
            let human = list.iter().map(line).collect::<Vec<_>>().join("\n");
            out(serde_json::to_value(&list).map_err(failure)?, human);
            return Ok(());
        }
        BroadcastCommand::Show { id, limit } => {
            let b = device.broadcast(id).await?;
            let recipients = if limit == 0 {
                Vec::new()
            } else {
                device.broadcast_recipients(id, 0, limit).await?
            };
            let mut human = vec![line(&b)];
            human.extend(b.import_issues.iter().map(|i| format!("  {}", i.message)));
            human.extend(recipients.iter().map(|r| {
                format!(
                    "  {:<16} {:<20} {:<10} {}",
                    r.phone,
                    r.name.as_deref().unwrap_or(""),
                    r.state,
                    r.reason.as_deref().unwrap_or("")
                )
            }));
            out(
                json!({"broadcast": b, "recipients": recipients}),
                human.join("\n"),
            );
            return Ok(());
        }
        BroadcastCommand::Pause { id } => device.pause_broadcast(id).await?,
        BroadcastCommand::Resume { id } => {
            device.resume_broadcast(id).await?;
            device.flush_outbox().await?;
            device.broadcast(id).await?
        }
        BroadcastCommand::Cancel { id } => device.cancel_broadcast(id).await?,
    };
    out(
        serde_json::to_value(&summary).map_err(failure)?,
        line(&summary),
    );
    Ok(())
}

/// Runs a profile command.
pub async fn profile(
    device: &Device,
    command: ProfileCommand,
    out: impl Fn(serde_json::Value, String),
) -> Result<(), Failure> {
    let p = match command {
        ProfileCommand::Show { phone_number_id } => {
            device.business_profile(phone_number_id.as_deref()).await?
        }
        ProfileCommand::Set {
            phone_number_id,
            about,
            address,
            description,
            email,
            websites,
            vertical,
        } => {
            let update = ProfileUpdate {
                about,
                address,
                description,
                email,
                websites: (!websites.is_empty()).then_some(websites),
                vertical,
            };
            device
                .update_business_profile(phone_number_id.as_deref(), update)
                .await?
        }
    };
    let field =
        |name: &str, v: &Option<String>| format!("{name:<12} {}", v.as_deref().unwrap_or("—"));
    let human = [
        field("about", &p.about),
        field("description", &p.description),
        field("address", &p.address),
        field("email", &p.email),
        format!("{:<12} {}", "websites", p.websites.join(", ")),
        field("vertical", &p.vertical),
        field("photo", &p.profile_picture_url),
    ]
    .join("\n");
    out(serde_json::to_value(&p).map_err(failure)?, human);
    Ok(())
}
