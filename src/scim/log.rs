//! Failed SCIM requests go to the provisioning log too: their own
//! transaction rolled back, so they are recorded here, after the response.

use rocket::fairing::{Fairing, Info, Kind as FairingKind};
use rocket::{Request, Response};

use super::http::RequestLog;
use super::MOUNT;
use crate::app::App;
use crate::domain::provisioning_log::{self, Entry};
use crate::domain::tenants;

/// Overload answers (429, 503) are logged at most once a second per tenant
/// and status, so that logging cannot add a write per rejected request.
#[derive(Default)]
pub struct FailureLog {
    overload_logged: std::sync::Mutex<std::collections::HashMap<(String, u16), std::time::Instant>>,
}

impl FailureLog {
    fn overload_due(&self, slug: &str, status: u16) -> bool {
        let Ok(mut seen) = self.overload_logged.lock() else { return false };
        let now = std::time::Instant::now();
        let key = (slug.to_string(), status);
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) < std::time::Duration::from_secs(1) => false,
            _ => {
                if seen.len() > 10_000 {
                    seen.clear();
                }
                seen.insert(key, now);
                true
            }
        }
    }
}

/// The tenant slug and the path below it, for a request under the SCIM mount.
fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(MOUNT)?.strip_prefix('/')?;
    Some(match rest.split_once('/') {
        Some((slug, below)) => (slug, below),
        None => (rest, ""),
    })
}

#[rocket::async_trait]
impl Fairing for FailureLog {
    fn info(&self) -> Info {
        Info { name: "SCIM failure log", kind: FairingKind::Response }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if res.status().code < 400 {
            return;
        }
        let path = req.uri().path().to_string();
        let Some((slug, below)) = split_path(&path) else { return };
        let status = res.status().code;
        if (status == 429 || status == 503) && !self.overload_due(slug, status) {
            return;
        }
        let Some(app) = req.rocket().state::<App>() else { return };
        let facts = req.local_cache(RequestLog::default).inner.lock().map(|l| l.clone()).unwrap_or_default();

        let mut segments = below.split('/').filter(|s| !s.is_empty());
        let resource_type = match segments.next() {
            Some("Users") => Some("User"),
            Some("Groups") => Some("Group"),
            _ => None,
        };
        let mut entry = Entry::new(
            req.method().as_str(),
            &format!("/{below}"),
            res.status().code,
            facts.error.unwrap_or_else(|| res.status().reason().unwrap_or("failed").to_string()),
        );
        entry.token_label = facts.token_label;
        entry.resource_type = resource_type.map(str::to_string);
        entry.resource_id = resource_type.and(segments.next()).map(str::to_string);

        let slug = slug.to_string();
        let known = facts.tenant;
        let result = app
            .write(move |tx| {
                // An unauthenticated request is logged for the tenant its URL names, if that exists.
                let tenant = match known {
                    Some(t) => Some(t),
                    None => tenants::find_by_slug(tx, &slug)?.map(|t| t.id),
                };
                if let Some(tenant) = tenant {
                    provisioning_log::record(tx, tenant, &entry)?;
                }
                Ok::<_, crate::domain::Error>(())
            })
            .await;
        if let Err(e) = result {
            rocket::warn!("could not record a failed SCIM request in the provisioning log: {e}");
        }
    }
}
