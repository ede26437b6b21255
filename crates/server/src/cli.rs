//! The command line: `cairn serve`, `cairn migrate`, `cairn admin create-user`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, bail};
use cairn_core::Cairn;
use cairn_core::accounts::{self, Origin, Registration};
use clap::{Parser, Subcommand};

use crate::app;
use crate::config::{Config, Validated};

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

/// Runs a parsed command.
pub async fn run(cli: Cli, config: Validated) -> anyhow::Result<()> {
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
            running.wait().await
        }
        Command::Migrate => {
            app::open_database(&config).await?;
            tracing::info!("the database is up to date");
            Ok(())
        }
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
            let ctx = Cairn::new(db, config.instance.clone());
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
            Ok(())
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
