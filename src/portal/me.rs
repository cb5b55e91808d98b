//! My access: a provisioned user's own role and applications, and why, as
//! the directory grants them now. Identity and groups come from Entra.

use rocket::response::Redirect;
use rocket::{get, Either, Route};
use rocket_dyn_templates::{context, Template};

use super::session::{Signed, Who};
use super::users::access_json;
use super::{Layout, MOUNT};

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[("portal/me.html", include_str!("../../templates/portal/me.html.tera"))];

pub fn routes() -> Vec<Route> {
    rocket::routes![page]
}

/// The signed-in user's access (already re-checked by the guard, in its one
/// read); a local administrator has no provisioned access and goes to System Settings.
#[get("/<_tenant>/me")]
pub fn page(_tenant: &str, session: Signed) -> Either<Template, Redirect> {
    let p = &session.0;
    let Who::User { user, access } = &p.who else {
        return Either::Right(Redirect::to(format!("{MOUNT}/{}/settings/scim", p.tenant_slug)));
    };
    let layout = Layout::of(p, "me", "My access");
    Either::Left(Template::render(
        "portal/me.html",
        context! {
            layout: &layout,
            user: context! { user_name: &user.user_name, display_name: &user.display_name },
            access: access_json(access),
            manages_settings: p.manages_settings(),
        },
    ))
}
