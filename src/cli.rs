//! The command line: `serve` (the default) and the set-up commands, reading
//! the same configuration as the server.

use clap::{Parser, Subcommand};

use crate::config::AppConfig;
use crate::domain::{admins, api_keys, tenants};

#[derive(Debug, Parser)]
#[command(name = "scim-portal", version, about = "SCIM 2.0 provisioning from Microsoft Entra ID, and an admin portal")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage portal administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Copy the database to a new file while the server runs (SQLite online backup).
    Backup {
        /// The file to create.
        file: std::path::PathBuf,
    },
    /// Manage SCIM secret tokens (API keys).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; its SCIM endpoint is /scim/v2/<slug>.
    Create {
        /// Lowercase letters, digits and '-'.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator; the password is read from stdin (first line).
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a secret token and print it (and nothing else) on stdout.
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A label that names the token in the portal and the provisioning log.
        #[arg(long, default_value = "command line")]
        name: String,
    },
}

/// Runs a set-up command; returns what to print on stdout.
pub fn run(command: Command, config: &AppConfig) -> Result<String, String> {
    let db = crate::open_db(config)?;
    match command {
        Command::Serve => Err("serve is handled by main".into()),
        Command::Tenant { command: TenantCommand::Create { slug, name } } => {
            let tenant =
                db.write(|tx| tenants::create(tx, &slug, name.as_deref().unwrap_or(""))).map_err(|e| e.to_string())?;
            Ok(format!(
                "created tenant {} ({}); SCIM endpoint {}/scim/v2/{}",
                tenant.slug,
                tenant.name,
                config.public_url(),
                tenant.slug
            ))
        }
        Command::Backup { file } => {
            let pages = db.backup(&file).map_err(|e| e.to_string())?;
            Ok(format!("backed up {} ({pages} pages) to {}", config.database_path.display(), file.display()))
        }
        Command::Admin { command: AdminCommand::Create { tenant, email } } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            let hash = admins::hash_password(password).map_err(|e| e.to_string())?;
            let admin = db
                .write(|tx| {
                    let tenant = tenants::get_by_slug(tx, &tenant)?;
                    admins::create(tx, tenant.id, &email, &hash)
                })
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "created administrator {}; sign in at {}/admin/{tenant}/login",
                admin.email,
                config.public_url()
            ))
        }
        Command::Token { command: TokenCommand::Create { tenant, name } } => {
            let (_, secret) = db
                .write(|tx| {
                    let tenant = tenants::get_by_slug(tx, &tenant)?;
                    api_keys::create(tx, tenant.id, &name, None)
                })
                .map_err(|e| e.to_string())?;
            Ok(secret)
        }
    }
}
