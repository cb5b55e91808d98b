//! Configuration, the Rocket way: `Rocket.toml` profiles overridden by
//! `ROCKET_*` environment variables, read through figment.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use rocket::figment::Figment;
use serde::Deserialize;

use crate::db::Durability;

/// scim-portal's own settings (Rocket reads `address`, `port` and the rest itself).
#[derive(Debug, Clone, Deserialize)]
pub struct AppConfig {
    #[serde(default = "default_database_path")]
    pub database_path: PathBuf,
    /// The externally visible base URL, e.g. `https://scim.example.com`.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_durability")]
    pub durability: Durability,
    /// Largest SCIM request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Per-token SCIM request rate (requests/second); 0 = no limit (Entra needs none).
    #[serde(default)]
    pub scim_rate_limit: f64,
    /// Burst allowed above the rate, in requests.
    #[serde(default = "default_burst")]
    pub scim_rate_burst: f64,
    #[serde(default = "default_address")]
    pub address: IpAddr,
    #[serde(default = "default_port")]
    pub port: u16,
}

fn default_database_path() -> PathBuf {
    PathBuf::from("data/scim-portal.db")
}
fn default_durability() -> Durability {
    Durability::Normal
}
fn default_max_body() -> u64 {
    1024 * 1024
}
fn default_burst() -> f64 {
    50.0
}
fn default_address() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}
fn default_port() -> u16 {
    8000
}

impl AppConfig {
    /// Reads the settings from a figment.
    pub fn from_figment(figment: &Figment) -> Result<AppConfig, String> {
        figment.extract().map_err(|e| format!("invalid configuration: {e}"))
    }

    /// The base URL without a trailing slash: `public_url`, else `http://address:port`.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
            _ => match self.address {
                IpAddr::V6(a) => format!("http://[{a}]:{}", self.port),
                IpAddr::V4(a) => format!("http://{a}:{}", self.port),
            },
        }
    }
}

/// Adds a `secret_key` when none is configured: generated on first start and
/// kept beside the database, readable by its owner only, so that a release
/// build starts with no environment at all and sessions survive restarts.
pub fn with_secret_key(figment: Figment, config: &AppConfig) -> Result<Figment, String> {
    // Rocket's own defaults carry an all-zero key (refused in release builds), so
    // only a non-zero configured key counts as "configured".
    let configured = figment.extract::<rocket::Config>().map_err(|e| format!("invalid configuration: {e}"))?.secret_key;
    if !configured.is_zero() {
        return Ok(figment);
    }
    let dir = config.database_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let key = load_or_create_key(&dir.join("secret_key"))?;
    Ok(figment.merge(("secret_key", key)))
}

/// The `secret_key` in force (call after [`with_secret_key`]), as key material
/// for keys derived from it, such as the one sealing stored client secrets.
pub fn secret_key_material(figment: &Figment) -> Result<Vec<u8>, String> {
    let value = figment.find_value("secret_key").map_err(|e| format!("no secret_key: {e}"))?;
    match value.as_str() {
        Some(text) => Ok(text.trim().as_bytes().to_vec()),
        // A key given as a byte array rather than a base64 or hex string.
        None => serde_json::to_vec(&value).map_err(|e| format!("unreadable secret_key: {e}")),
    }
}

fn load_or_create_key(path: &Path) -> Result<String, String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let raw: [u8; 64] = rand::random();
    let key = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(key.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .map(|k| k.trim().to_string())
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}
