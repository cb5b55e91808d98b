//! Tera templates, compiled into the binary.

use rocket::fairing::Fairing;
use rocket_dyn_templates::Template;

/// The shared templates, by the name pages render them with; each section adds its own.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html.tera")),
    ("macros.html", include_str!("../../templates/macros.html.tera")),
    ("error.html", include_str!("../../templates/error.html.tera")),
    ("portal/login.html", include_str!("../../templates/portal/login.html.tera")),
    ("portal/setup.html", include_str!("../../templates/portal/setup.html.tera")),
    ("portal/scim.html", include_str!("../../templates/portal/scim.html.tera")),
    ("portal/api_keys.html", include_str!("../../templates/portal/api_keys.html.tera")),
    ("portal/refused.html", include_str!("../../templates/portal/refused.html.tera")),
];

/// The template fairing, loading the embedded templates instead of a directory.
pub fn fairing() -> impl Fairing {
    Template::try_custom(|engines| {
        let sections = [
            super::groups::TEMPLATES,
            super::users::TEMPLATES,
            super::roles::TEMPLATES,
            super::applications::TEMPLATES,
            super::log::TEMPLATES,
            super::sso_config::TEMPLATES,
            super::me::TEMPLATES,
        ];
        let all = TEMPLATES.iter().chain(sections.into_iter().flatten()).copied();
        engines.tera.add_raw_templates(all)?;
        Ok(())
    })
}

/// rocket_dyn_templates insists on an existing template directory even when
/// every template is embedded; give it an empty one of our own.
pub fn empty_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join("scim-portal-embedded-templates");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
