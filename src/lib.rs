//! scim-portal: a SCIM 2.0 service provider for Microsoft Entra ID and an
//! admin portal that decides what provisioned people may do.
//!
//! [`build`] assembles the whole Rocket application from a figment, so the
//! binary and the tests run exactly the same app.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod health;
pub mod key_cache;
pub mod oidc;
pub mod portal;
pub mod scim;
pub mod secretbox;
pub mod throttle;

use rocket::figment::Figment;
use rocket::{Build, Rocket};

use app::App;
use config::AppConfig;
use db::Db;

/// The figment the server and the command line read: `Rocket.toml` and `ROCKET_*`.
pub fn figment() -> Figment {
    rocket::Config::figment()
}

/// Opens the configured database (creating and migrating it as needed).
pub fn open_db(config: &AppConfig) -> Result<Db, String> {
    Db::open(&config.database_path, config.durability)
        .map_err(|e| format!("cannot open the database {}: {e}", config.database_path.display()))
}

/// Rocket's `debug` log level prints every request's headers, bearer tokens
/// and session cookies included; secrets must never reach a log, so it is
/// lowered to `normal`.
fn without_secret_logging(figment: Figment) -> Figment {
    let level = figment.extract_inner::<rocket::config::LogLevel>("log_level");
    if matches!(level, Ok(rocket::config::LogLevel::Debug)) {
        eprintln!("scim-portal: log_level \"debug\" would log bearer tokens and session cookies; using \"normal\"");
        return figment.merge(("log_level", rocket::config::LogLevel::Normal));
    }
    figment
}

/// Builds the application from `figment`.
pub fn build(figment: Figment) -> Result<Rocket<Build>, String> {
    let config = AppConfig::from_figment(&figment)?;
    let figment = config::with_secret_key(figment, &config)?;
    let figment = without_secret_logging(figment);
    let figment = match figment.find_value("template_dir") {
        Ok(_) => figment,
        Err(_) => {
            let dir = portal::templates::empty_dir().map_err(|e| format!("cannot create a template folder: {e}"))?;
            figment.merge(("template_dir", dir))
        }
    };
    let db = open_db(&config)?;
    db.write(|tx| domain::roles::seed_all(tx)).map_err(|e| format!("cannot seed the predefined roles: {e}"))?;
    let secrets = secretbox::SecretBox::new(&config::secret_key_material(&figment)?);
    let app = App::new(db, config, secrets);
    Ok(rocket::custom(figment)
        .manage(app)
        .mount(scim::MOUNT, scim::routes())
        .register("/scim", scim::catchers::catchers())
        .attach(scim::log::FailureLog::default())
        .mount(portal::MOUNT, portal::routes())
        .mount(api::MOUNT, api::routes())
        .register(api::MOUNT, api::catchers())
        .register(portal::MOUNT, portal::catchers::catchers())
        .attach(portal::templates::fairing())
        .attach(portal::headers::SecurityHeaders)
        .mount("/", rocket::routes![health::healthz, portal::assets::asset, portal::auth::root]))
}
