//! List parameters (RFC 7644 §3.4.2, §3.4.3): filter, sort, paging and
//! projection, from a query string or a SearchRequest body.

use rocket::FromForm;
use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::{parse_filter, CompValue, CompareOp, Filter as Ast};
use super::lower::{lower, lower_sort};
use super::render::Projection;
use super::resource::Kind;
use super::schema;
use crate::domain::filter::Filter;
use crate::domain::ListQuery;

/// The most resources one list response holds (advertised as filter.maxResults).
pub const MAX_RESULTS: i64 = 1000;

/// The list parameters as sent.
#[derive(Debug, Clone, Default, FromForm)]
pub struct ListParams {
    pub filter: Option<String>,
    #[field(name = "startIndex")]
    pub start_index: Option<String>,
    pub count: Option<String>,
    #[field(name = "sortBy")]
    pub sort_by: Option<String>,
    #[field(name = "sortOrder")]
    pub sort_order: Option<String>,
    pub attributes: Option<String>,
    #[field(name = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// Only `attributes` / `excludedAttributes` (for single-resource requests).
#[derive(Debug, Clone, Default, FromForm)]
pub struct ProjectionParams {
    pub attributes: Option<String>,
    #[field(name = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

impl ProjectionParams {
    pub fn projection(&self, kind: Kind) -> Projection {
        Projection::new(kind, self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

fn integer(name: &str, v: Option<&str>) -> ScimResult<Option<i64>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).or_else(|_| {
            // A number too large for i64 is simply "very large".
            if s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Some(i64::MAX))
            } else {
                Err(ScimError::invalid_value(format!("{name} must be an integer, not {s:?}")))
            }
        }),
    }
}

impl ListParams {
    /// Reads a SearchRequest body (RFC 7644 §3.4.3) into the same parameters.
    pub fn from_search_request(body: &Map<String, Value>) -> ScimResult<ListParams> {
        let has_schema = body.get("schemas").and_then(Value::as_array).is_some_and(|l| {
            l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema::SEARCH_REQUEST)))
        });
        if !has_schema {
            return Err(ScimError::invalid_value(format!(
                "a search body must have \"schemas\": [\"{}\"]",
                schema::SEARCH_REQUEST
            )));
        }
        let field = |name: &str| body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let text = |name: &str| -> ScimResult<Option<String>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                    Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
                }
                Some(_) => Err(ScimError::invalid_value(format!("{name} has the wrong type"))),
            }
        };
        Ok(ListParams {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
        })
    }

    /// 1-based start index (values below 1 mean 1, RFC 7644 §3.4.2.4).
    pub fn start_index(&self) -> ScimResult<i64> {
        Ok(integer("startIndex", self.start_index.as_deref())?.unwrap_or(1).max(1))
    }

    /// Page size, clamped to 0..=MAX_RESULTS.
    pub fn count(&self) -> ScimResult<i64> {
        Ok(integer("count", self.count.as_deref())?.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS))
    }

    pub fn descending(&self) -> ScimResult<bool> {
        match self.sort_order.as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some(s) if s.eq_ignore_ascii_case("ascending") => Ok(false),
            Some(s) if s.eq_ignore_ascii_case("descending") => Ok(true),
            Some(s) => Err(ScimError::invalid_value(format!("sortOrder must be ascending or descending, not {s:?}"))),
        }
    }

    /// The parsed filter, if any (400 invalidFilter when malformed).
    fn parsed_filter(&self) -> ScimResult<Option<Ast>> {
        match self.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => Ok(None),
            Some(text) => {
                parse_filter(text).map(Some).map_err(|e| ScimError::invalid_filter(format!("invalid filter: {e}")))
            }
        }
    }

    /// The domain query for `kind` with an already lowered filter.
    pub fn query_with(&self, kind: Kind, filter: Filter) -> ScimResult<ListQuery> {
        let sort = match self.sort_by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(by) => Some(lower_sort(kind, by, self.descending()?)?),
            None => None,
        };
        Ok(ListQuery { filter, sort, offset: self.start_index()? - 1, limit: self.count()? })
    }

    pub fn projection(&self, kind: Kind) -> Projection {
        Projection::new(kind, self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

/// List parameters with their filter parsed, once per request.
pub struct ListRequest {
    pub params: ListParams,
    pub filter: Option<Ast>,
}

impl std::ops::Deref for ListRequest {
    type Target = ListParams;
    fn deref(&self) -> &ListParams {
        &self.params
    }
}

impl ListRequest {
    /// Parses the filter (400 invalidFilter when malformed) and checks startIndex.
    pub fn new(params: ListParams) -> ScimResult<ListRequest> {
        let filter = params.parsed_filter()?;
        params.start_index()?;
        Ok(ListRequest { params, filter })
    }

    /// The domain query for `kind`.
    pub fn query(&self, kind: Kind) -> ScimResult<ListQuery> {
        let filter = match &self.filter {
            Some(ast) => lower(kind, ast)?,
            None => Filter::Const(true),
        };
        self.params.query_with(kind, filter)
    }

    /// True for Entra's "does it exist yet?" query: one `eq` on an indexed
    /// attribute that few resources share, returning no member lists. It costs
    /// a few index reads, so it may run on the calling thread ([`App::lookup`]).
    ///
    /// [`App::lookup`]: crate::app::App::lookup
    pub fn is_point_lookup(&self, kind: Kind) -> bool {
        let Some(Ast::Compare(path, CompareOp::Eq, CompValue::Str(_))) = &self.filter else {
            return false;
        };
        let indexed: &[&str] = match kind {
            Kind::User => &["userName", "externalId", "id"],
            Kind::Group => &["displayName", "externalId", "id"],
        };
        path.sub_attr.is_none()
            && indexed.iter().any(|a| a.eq_ignore_ascii_case(&path.attr))
            && (kind == Kind::User || !self.projection(kind).wants("members"))
    }
}

/// Filter errors found by the database compile step are the client's: invalidFilter.
pub fn filter_error(e: crate::domain::Error) -> ScimError {
    match e {
        crate::domain::Error::Invalid(m) => ScimError::invalid_filter(m),
        e => e.into(),
    }
}

/// Renders one page of a list: a resource type's (or the root's) search function.
pub type Search = fn(&rusqlite::Connection, crate::domain::TenantId, &ListRequest, &str) -> ScimResult<String>;

/// Runs a list request (GET with query parameters, or a `.search` body) as a ListResponse.
pub async fn list_response_for(
    app: &crate::app::App,
    tenant: &str,
    client: super::http::ScimClient,
    params: ListParams,
    kind: Option<Kind>,
    search: Search,
) -> ScimResult<super::http::ScimResponse> {
    let base = super::base_url(app, tenant);
    // A bad filter or startIndex is refused before any database work.
    let request = ListRequest::new(params)?;
    let point = kind.is_some_and(|k| request.is_point_lookup(k));
    let run = move |tx: &rusqlite::Connection| search(tx, client.tenant, &request, &base);
    let body = if point { app.lookup(run).await? } else { app.read(run).await? };
    Ok(super::http::ScimResponse::ok_text(body))
}

/// Reads a SearchRequest body (`POST …/.search`) into list parameters.
pub async fn read_search_request(
    app: &crate::app::App,
    ct: Option<&rocket::http::ContentType>,
    data: rocket::Data<'_>,
) -> ScimResult<ListParams> {
    let body = super::http::read_json(ct, data, app.config.max_body_bytes).await?;
    ListParams::from_search_request(&body)
}
