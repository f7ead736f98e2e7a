//! `dataoptix-cli`: the DataOptix core, headless, over the same data directory as the desktop
//! app — for power users, support, scripting, and the tests that need a real process
//! environment (a private D-Bus session with its own keyring, or none at all).
//!
//! Output: a short human line (or a JSON object with `--json`) on stdout; errors as one plain
//! line on stderr with exit code 1 (2 for usage errors). Secrets are never printed, except the
//! record `vault get NAME` was explicitly asked for. Logs (tracing) go to stderr, and only when
//! `RUST_LOG` is set.

/// Rust's allocations go through mimalloc, as in the desktop app (src-tauri/main.rs says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod broadcasts;
mod workspace;

use clap::{Parser, Subcommand};
use std::time::Duration;

use dataoptix_core::store::{Store, StoreError, DB_FILE};
use dataoptix_core::sync::{saved_syncer, SyncError, SyncProgress, Syncer};
use dataoptix_core::vault::{
    KeySource, KeyringStore, PassphrasePurpose, PassphraseSource, Vault, VaultError,
    KEYRING_SERVICE, PASSPHRASE_ENV, STORE_KEY_RECORD,
};
use serde_json::json;
use zeroize::Zeroizing;

/// The environment variable naming the data directory (same as `--data-dir`).
const DATA_DIR_ENV: &str = "DATAOPTIX_DATA_DIR";

/// DataOptix without a window: the same core and data directory as the desktop app.
#[derive(Debug, Parser)]
#[command(name = "dataoptix-cli", version, about, propagate_version = true)]
struct Cli {
    /// The data directory (default: the platform data dir, e.g. ~/.local/share/dataoptix).
    #[arg(long, global = true, env = DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest command costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Workspace(workspace::WorkspaceCommand),
    /// The vault: the master key (OS keyring or passphrase) and the secrets sealed under it.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// The encrypted local store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Claims a WhatsApp Business Account for the workspace at the relay, which checks with
    /// Meta that the access token grants it. The token (a system user's) comes from
    /// DATAOPTIX_ACCESS_TOKEN, else from standard input (typed without echo on a terminal).
    ClaimWaba {
        /// The WABA id.
        waba_id: String,
        /// One of the WABA's phone numbers, checked with it.
        #[arg(long)]
        phone_number_id: Option<String>,
    },
    /// Syncs with the relay: applies its event log to the store, a page per transaction.
    /// Without --once, keeps going (long-poll, reconnecting with backoff) until Ctrl-C.
    Sync {
        /// Catch up and exit.
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Creates the vault (or opens the existing one): the OS keyring if available, else a
    /// passphrase from DATAOPTIX_PASSPHRASE or a prompt.
    Init,
    /// Where the master key lives and whether the vault opens (exit code 1 if it does not).
    Status,
    /// Seals the secret read from stdin as record NAME.
    Put {
        /// Record name: lowercase letters, digits, '.', '_' and '-'.
        name: String,
    },
    /// Writes the secret of record NAME to stdout, exactly as stored.
    Get {
        /// Record name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Creates (or opens) the encrypted store and brings its schema up to date.
    Init,
    /// Counts of contacts, conversations and messages.
    Stats,
}

/// A failure, reported as one plain line.
#[derive(Debug)]
struct Failure(String);

impl From<VaultError> for Failure {
    fn from(error: VaultError) -> Self {
        Self(error.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self(error.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self(error.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse(); // usage errors exit with 2
    init_tracing();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}

/// Logs only when asked for, and only to stderr (stdout is for results).
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => dirs::data_dir()
            .map(|dir| dir.join("dataoptix"))
            .ok_or_else(|| {
                Failure(format!(
                    "cannot tell where your data directory is (no HOME); use --data-dir or set \
                     {DATA_DIR_ENV}"
                ))
            })?,
    };
    // The only place that reads DATAOPTIX_PASSPHRASE: the library takes the value as given.
    let env_value = std::env::var(PASSPHRASE_ENV).ok();
    let prompt = |purpose| prompt_passphrase(&data_dir, purpose);
    let mut passphrase = PassphraseSource::from_env_value(env_value);
    let can_prompt = can_prompt();
    if can_prompt {
        passphrase = passphrase.with_prompt(&prompt);
    }
    let keyring = KeyringStore::default();
    let ctx = Context {
        data_dir: &data_dir,
        json: cli.json,
        keyring: &keyring,
        passphrase: &passphrase,
        can_prompt,
    };
    match cli.command {
        Command::Vault(VaultCommand::Init) => vault_init(&ctx),
        Command::Vault(VaultCommand::Status) => vault_status(&ctx),
        Command::Vault(VaultCommand::Put { name }) => vault_put(&ctx, &name),
        Command::Vault(VaultCommand::Get { name }) => vault_get(&ctx, &name),
        Command::Store(StoreCommand::Init) => store_cmd(&ctx, true),
        Command::Store(StoreCommand::Stats) => store_cmd(&ctx, false),
        Command::Workspace(command) => workspace::run(&ctx, command),
        Command::ClaimWaba {
            waba_id,
            phone_number_id,
        } => claim_waba(&ctx, &waba_id, phone_number_id.as_deref()),
        Command::Sync { once } => sync_cmd(&ctx, once),
    }
}

struct Context<'a> {
    data_dir: &'a Path,
    json: bool,
    keyring: &'a KeyringStore,
    passphrase: &'a PassphraseSource<'a>,
    can_prompt: bool,
}

impl Context<'_> {
    /// Opens (or creates) the vault.
    fn vault(&self) -> Result<Vault, Failure> {
        Vault::open(self.data_dir, self.keyring, self.passphrase).map_err(|e| self.explain(e))
    }

    /// Opens the vault, which must exist.
    fn existing_vault(&self) -> Result<Vault, Failure> {
        Vault::open_existing(self.data_dir, self.keyring, self.passphrase)
            .map_err(|e| self.explain(e))?
            .ok_or_else(|| {
                Failure(format!(
                    "there is no vault in {} yet; run `dataoptix-cli vault init` first",
                    self.data_dir.display()
                ))
            })
    }

    /// The error's text, plus what to do when a passphrase is needed and there is no terminal
    /// to ask for it on.
    fn explain(&self, error: VaultError) -> Failure {
        match error {
            VaultError::PassphraseRequired { .. } if !self.can_prompt => Failure(format!(
                "{error} (there is no terminal to ask on here, so only {PASSPHRASE_ENV} can give it)"
            )),
            other => Failure::from(other),
        }
    }
}

fn source_text(source: KeySource, vault_id: &str) -> String {
    match source {
        KeySource::Keyring => format!(
            "master key in the OS keyring (service {KEYRING_SERVICE:?}, entry \
             \"master-key.{vault_id}\")"
        ),
        KeySource::Passphrase => "master key derived from your passphrase (Argon2id)".to_owned(),
    }
}

fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

fn vault_init(ctx: &Context<'_>) -> Result<(), Failure> {
    let existed = Vault::info(ctx.data_dir)?.is_some();
    let vault = ctx.vault()?;
    if ctx.json {
        print_json(&json!({
            "source": vault.source(),
            "vault_id": vault.id(),
            "created": !existed,
            "data_dir": ctx.data_dir,
        }));
    } else {
        let verb = if existed { "opened" } else { "created" };
        println!(
            "Vault {verb} in {}: {}.",
            ctx.data_dir.display(),
            source_text(vault.source(), vault.id())
        );
    }
    Ok(())
}

fn vault_status(ctx: &Context<'_>) -> Result<(), Failure> {
    let Some(info) = Vault::info(ctx.data_dir)? else {
        return Err(Failure(format!(
            "there is no vault in {} yet; run `dataoptix-cli vault init`",
            ctx.data_dir.display()
        )));
    };
    let vault = Vault::open(ctx.data_dir, ctx.keyring, ctx.passphrase).map_err(|error| {
        Failure(format!(
            "the vault in {} ({}) does not open: {}",
            ctx.data_dir.display(),
            source_text(info.source, &info.id),
            ctx.explain(error).0
        ))
    })?;
    if ctx.json {
        print_json(&json!({
            "source": vault.source(),
            "vault_id": vault.id(),
            "data_dir": ctx.data_dir,
            "opens": true,
        }));
    } else {
        println!(
            "Vault in {}: {}; it opens.",
            ctx.data_dir.display(),
            source_text(vault.source(), vault.id())
        );
    }
    Ok(())
}

fn vault_put(ctx: &Context<'_>, name: &str) -> Result<(), Failure> {
    if name == STORE_KEY_RECORD {
        return Err(Failure(format!(
            "{name:?} holds the database key and is managed by DataOptix; replacing it would \
             make the store unreadable"
        )));
    }
    let vault = ctx.existing_vault()?;
    let secret = read_secret(name)?;
    if secret.is_empty() {
        return Err(Failure(format!(
            "no secret given for {name:?}: pipe it on stdin, e.g. `printf %s \"$TOKEN\" | \
             dataoptix-cli vault put {name}`"
        )));
    }
    vault.put_record(name, &secret)?;
    if ctx.json {
        print_json(&json!({ "name": name, "stored": true, "bytes": secret.len() }));
    } else {
        println!("Sealed {name:?} in the vault ({} bytes).", secret.len());
    }
    Ok(())
}

fn vault_get(ctx: &Context<'_>, name: &str) -> Result<(), Failure> {
    let vault = ctx.existing_vault()?;
    let secret = vault
        .get_record(name)?
        .ok_or_else(|| Failure(format!("there is no record {name:?} in the vault")))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&secret)?;
    out.flush()?;
    Ok(())
}

fn store_cmd(ctx: &Context<'_>, init: bool) -> Result<(), Failure> {
    let path = ctx.data_dir.join(DB_FILE);
    let vault = if init {
        ctx.vault()?
    } else {
        let vault = ctx.existing_vault()?;
        if !path.exists() {
            return Err(Failure(format!(
                "there is no store in {} yet; run `dataoptix-cli store init` first",
                ctx.data_dir.display()
            )));
        }
        vault
    };
    let key = vault.store_key()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let counts = runtime.block_on(async {
        let store = Store::open(&path, &key).await?;
        let counts = store.counts().await;
        store.close().await;
        counts
    })?;
    match (init, ctx.json) {
        (true, true) => print_json(&json!({
            "path": path,
            "source": vault.source(),
            "counts": counts,
        })),
        (true, false) => println!(
            "Store ready at {} (encrypted, key sealed in the vault).",
            path.display()
        ),
        (false, true) => print_json(&json!(counts)),
        (false, false) => println!(
            "contacts: {}\nconversations: {}\nmessages: {}",
            counts.contacts, counts.conversations, counts.messages
        ),
    }
    Ok(())
}

impl From<SyncError> for Failure {
    fn from(error: SyncError) -> Self {
        Self(error.to_string())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The store and the saved relay session, or a plain explanation.
async fn linked(ctx: &Context<'_>, vault: &Vault) -> Result<(Store, Syncer), Failure> {
    let path = ctx.data_dir.join(DB_FILE);
    let store = Store::open(&path, &vault.store_key()?).await?;
    // A second handle on the same vault directory, so that device events carrying a number's
    // token (`number_connected`) are applied into the vault, not kept raw.
    let tokens = Vault::open(ctx.data_dir, ctx.keyring, ctx.passphrase)?;
    let syncer = saved_syncer(vault, &store)
        .await?
        .map(|s| s.with_vault(std::sync::Arc::new(tokens)));
    let syncer = syncer.ok_or_else(|| {
        Failure(
            "this device is not linked to a relay yet; run `dataoptix-cli register` first".into(),
        )
    })?;
    Ok((store, syncer))
}

fn claim_waba(
    ctx: &Context<'_>,
    waba_id: &str,
    phone_number_id: Option<&str>,
) -> Result<(), Failure> {
    let token = match std::env::var("DATAOPTIX_ACCESS_TOKEN") {
        Ok(token) => Zeroizing::new(token),
        Err(_) => {
            let secret = read_secret("the access token")?;
            let text = std::str::from_utf8(&secret)
                .map_err(|_| Failure("the access token is not UTF-8 text".into()))?;
            Zeroizing::new(text.trim().to_owned())
        }
    };
    if token.trim().is_empty() {
        return Err(Failure(
            "an access token is required: set DATAOPTIX_ACCESS_TOKEN or give it on standard input"
                .into(),
        ));
    }
    let vault = ctx.existing_vault()?;
    let claimed = runtime()?.block_on(async {
        let (store, syncer) = linked(ctx, &vault).await?;
        let claimed = syncer
            .client()
            .claim_waba(waba_id, token.trim(), phone_number_id)
            .await?;
        store.close().await;
        Ok::<_, Failure>(claimed)
    })?;
    if ctx.json {
        print_json(
            &json!({"waba_id": claimed.waba_id, "released_events": claimed.released_events}),
        );
    } else {
        println!("Claimed WABA {}.", claimed.waba_id);
    }
    Ok(())
}

fn sync_cmd(ctx: &Context<'_>, once: bool) -> Result<(), Failure> {
    let vault = ctx.existing_vault()?;
    let json_out = ctx.json;
    runtime()?.block_on(async {
        let (store, syncer) = linked(ctx, &vault).await?;
        let report = |p: &SyncProgress| {
            if json_out {
                print_json(&json!(p));
            } else {
                eprintln!("synced {} events (cursor {})", p.events, p.cursor);
            }
        };
        let outcome = if once {
            syncer.run_once_with(report).await.map(|p| {
                if json_out {
                    print_json(&json!(p));
                } else {
                    println!(
                        "Up to date: {} events applied, {} new messages, cursor {}.",
                        p.events, p.messages_inserted, p.cursor
                    );
                }
            })
        } else {
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            syncer.run(Duration::from_secs(25), report, stop).await
        };
        if outcome.as_ref().is_err_and(|e| e.is_workspace_deleted()) {
            // As the app notes it: the next command here then sends nothing.
            dataoptix_core::device::remember_workspace_deleted(&store, syncer.workspace_id()).await;
        }
        store.close().await;
        Ok::<_, Failure>(outcome?)
    })
}

/// A prompt is possible only with a terminal to ask on; scripts and tests (stdin and stderr
/// redirected) never block on one.
fn can_prompt() -> bool {
    std::io::stdin().is_terminal() || std::io::stderr().is_terminal()
}

fn prompt_passphrase(data_dir: &Path, purpose: PassphrasePurpose) -> Option<Zeroizing<String>> {
    let dir = data_dir.display();
    match purpose {
        PassphrasePurpose::Unlock => rpassword::prompt_password(format!("Passphrase for {dir}: "))
            .ok()
            .map(Zeroizing::new),
        PassphrasePurpose::Create => {
            eprintln!(
                "No OS keyring is available: choose a passphrase to protect {dir}. It cannot be \
                 recovered if you forget it."
            );
            for _ in 0..3 {
                let first = Zeroizing::new(rpassword::prompt_password("New passphrase: ").ok()?);
                if first.is_empty() {
                    eprintln!("The passphrase cannot be empty.");
                    continue;
                }
                let again = Zeroizing::new(rpassword::prompt_password("Repeat it: ").ok()?);
                if first == again {
                    return Some(first);
                }
                eprintln!("The two passphrases differ; try again.");
            }
            None
        }
    }
}

/// The secret for `vault put`: typed without echo on a terminal, else all of stdin (raw bytes).
fn read_secret(name: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("Secret for {name}: "))?;
        return Ok(Zeroizing::new(typed.into_bytes()));
    }
    let mut secret = Zeroizing::new(Vec::new());
    std::io::stdin().lock().read_to_end(&mut secret)?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["dataoptix-cli", "vault", "put", "token.x", "--json"]).unwrap();
        assert!(cli.json);
        assert!(
            matches!(cli.command, Command::Vault(VaultCommand::Put { ref name }) if name == "token.x")
        );
        let err = Cli::try_parse_from(["dataoptix-cli", "vault", "put"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
