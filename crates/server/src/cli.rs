//! The command line: `cairn serve`, `cairn migrate`, `cairn admin create-user`, `cairn inspect`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use cairn_core::Cairn;
use cairn_core::accounts::{self, Origin, Registration};
use clap::{Parser, Subcommand};

use crate::config::{Config, Validated};
use crate::{app, inspect};

/// Cairn: a federated community server for communities of practice.
///
/// Configuration comes from built-in defaults, then the TOML file given by --config or
/// CAIRN_CONFIG, then CAIRN_* environment variables (for example CAIRN_DATABASE_URL,
/// CAIRN_BIND, CAIRN_DOMAIN), which win. See config/cairn.toml for every key.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, propagate_version = true)]
pub struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "CAIRN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations, then serve the web UI, the JSON API and the
    /// ActivityPub endpoints until stopped with Ctrl-C or SIGTERM. With no configuration it
    /// creates cairn.sqlite3 in the working directory and listens on 127.0.0.1:8080.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Show how Cairn understands an ActivityPub document: its type, actor, the community it
    /// would land in and what it would become, or why it would be rejected. For debugging
    /// federation with other software.
    ///
    /// The document is an https:// URL (fetched as the server fetches, signed by the instance
    /// actor), a file of at most 1 MiB (`-` reads standard input), or name@host (an actor found
    /// through WebFinger). Activities are judged as the inbox would judge them, objects as what
    /// a Create carrying them would make, actors and collections as what Cairn reads from them.
    ///
    /// Nothing is written. The configured database, when there is one, is read to tell whether
    /// the community is one of this server's and whether the post or comment a reply or vote
    /// names is known here; without it (or with --offline) only the checks that need no lookup
    /// are made, and the notes say what is left unchecked. The HTTP signature of a delivered
    /// activity is never checked.
    ///
    /// Exit status: 0 when the document would be accepted, 1 when it would be rejected (the
    /// reason is the code the inbox answers with), 2 when it cannot be read or fetched.
    #[command(
        after_help = "Examples:\n  cairn inspect https://lemmy.example/post/1\n  \
                            cairn inspect tenforward@lemmy.example\n  \
                            cairn inspect --offline --json saved-activity.json"
    )]
    Inspect {
        /// An http(s) URL, a file (or - for standard input), or name@host.
        #[arg(value_name = "URL|FILE|NAME@HOST")]
        target: String,
        /// Print the report as JSON instead of lines of text.
        #[arg(long)]
        json: bool,
        /// Do not open the database: make only the checks that need no lookup.
        #[arg(long)]
        offline: bool,
    },
}

/// Administrative tasks.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a local account, whatever the registration mode. The password is read from
    /// --password-file, or asked for twice at the terminal.
    CreateUser {
        /// The username: 3 to 30 letters, digits or underscores.
        name: String,
        /// Make the account an instance administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The account's email address.
        #[arg(long)]
        email: Option<String>,
    },
}

/// Loads and checks the configuration for a command.
pub fn load_config(cli: &Cli) -> anyhow::Result<Validated> {
    let config = Config::load(cli.config.as_deref())?;
    Ok(config.validate()?)
}

/// Runs a parsed command and returns the exit status.
pub async fn run(cli: Cli, config: Validated) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .with_context(|| format!("cannot listen on {} (config key `bind`)", config.bind))?;
            let running = app::start(&config, listener, true).await?;
            tracing::info!(
                address = %running.addr,
                url = %config.instance.base_url(),
                database = ?config.database.backend,
                "cairn is serving"
            );
            running.wait().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            app::open_database(&config).await?;
            tracing::info!("the database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect {
            target,
            json,
            offline,
        } => Ok(inspect::run(&config, &target, json, offline).await),
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    name,
                    admin,
                    password_file,
                    email,
                },
        } => {
            let password = read_password(password_file)?;
            let db = app::open_database(&config).await?;
            let ctx = Cairn::with_capacity(db, config.instance.clone(), &config.capacity);
            let account = accounts::register(
                &ctx,
                Registration {
                    username: name,
                    password,
                    email,
                    answer: None,
                },
                Origin::Admin { admin },
            )
            .await?;
            tracing::info!(
                user = %account.person.name,
                admin = account.is_admin,
                "created account"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_password(file: Option<PathBuf>) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the password file `{}`", path.display()))?;
        let first = text.lines().next().unwrap_or("").to_owned();
        if first.is_empty() {
            bail!("the password file `{}` is empty", path.display());
        }
        return Ok(first);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password; pass --password-file FILE");
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Password again: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(first)
}
