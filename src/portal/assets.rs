//! Static files, compiled into the binary so it runs from any directory.

use rocket::get;
use rocket::http::{ContentType, Header};
use rocket::response::Responder;

/// Every file under `static/`: name, type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("portal.css", "css", include_bytes!("../../static/portal.css")),
    ("portal.js", "js", include_bytes!("../../static/portal.js")),
    ("favicon.svg", "svg", include_bytes!("../../static/favicon.svg")),
];

#[derive(Responder)]
pub struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    cache: Header<'static>,
}

#[get("/static/<name>")]
pub fn asset(name: &str) -> Option<Asset> {
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, ext, body)| Asset {
        body,
        content_type: ContentType::from_extension(ext).unwrap_or(ContentType::Binary),
        cache: Header::new("Cache-Control", "public, max-age=3600"),
    })
}
