//! Filters over users and groups, compiled to SQL.
//!
//! The web layer turns a protocol filter into this enum through an allowlist
//! of attributes; here the enum becomes a WHERE clause. Column names come only
//! from the match arms below and every value (including JSON paths) is a bound
//! parameter, so no client text ever becomes SQL.

use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;

use super::{format_time, Error, Result};
use crate::db::fold;

/// Which table a filter runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

/// A boolean condition on a user or group.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Const(bool),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare(Operand, Op, Value),
    Present(Operand),
    /// Some element of a multi-valued collection satisfies the inner filter,
    /// whose operands are [`Operand::Field`]s of that element.
    Any(Collection, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Lt,
    Ge,
    Le,
}

/// How values of an operand compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text { case_exact: bool },
    Bool,
    Integer,
    Decimal,
    Time,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Bool(bool),
    Number(f64),
    Time(DateTime<Utc>),
}

/// A column of the resource's own row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    Active,
    Created,
    LastModified,
    Version,
}

/// Something a filter compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Column(Column),
    /// A value inside a user's profile JSON, at an SQLite JSON path such as
    /// `$."name"."familyName"`.
    Json {
        path: String,
        kind: Kind,
    },
    /// A field of the current element of an [`Filter::Any`] collection.
    Field {
        name: String,
        kind: Kind,
    },
    /// The primary (else first) e-mail address of a user; for sorting.
    PrimaryEmail,
}

/// A multi-valued attribute whose elements a filter can range over.
#[derive(Debug, Clone, PartialEq)]
pub enum Collection {
    /// A user's e-mail addresses (indexed table).
    Emails,
    /// A JSON array in a user's profile, such as `$."phoneNumbers"`.
    JsonArray(String),
    /// The groups a user belongs to.
    UserGroups,
    /// The members of a group.
    Members,
}

/// An ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub by: Operand,
    pub descending: bool,
}

/// SQL text plus its parameters, in order.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    fn bind(&mut self, v: SqlValue) -> String {
        self.params.push(v);
        format!("?{}", self.params.len())
    }
}

/// The alias of the resource row in compiled SQL.
pub const ROW: &str = "r";

struct Scope<'a> {
    alias: String,
    collection: &'a Collection,
}

struct Compiler {
    resource: Resource,
    sql: Sql,
    next_alias: usize,
}

/// Compiles `filter` into a boolean SQL expression over the row aliased [`ROW`],
/// appending parameters after `first_params` already-bound ones. The first of
/// those must be the tenant id (`?1`): e-mail lookups use it to start from
/// the tenant's e-mail index.
pub fn compile(resource: Resource, filter: &Filter, first_params: Vec<SqlValue>) -> Result<Sql> {
    let mut c = Compiler { resource, sql: Sql { text: String::new(), params: first_params }, next_alias: 0 };
    let text = c.filter(filter, None)?;
    c.sql.text = text;
    Ok(c.sql)
}

/// Compiles a filter over one element of `collection`, aliased `alias`, for
/// statements that range over the elements themselves.
pub fn compile_element(
    resource: Resource,
    collection: &Collection,
    alias: &str,
    filter: &Filter,
    first_params: Vec<SqlValue>,
) -> Result<Sql> {
    let mut c = Compiler { resource, sql: Sql { text: String::new(), params: first_params }, next_alias: 0 };
    let scope = Scope { alias: alias.to_string(), collection };
    let text = c.filter(filter, Some(&scope))?;
    c.sql.text = text;
    Ok(c.sql)
}

/// Compiles a sort key into an ORDER BY expression (no direction).
pub fn compile_sort(resource: Resource, sort: &Sort, sql: &mut Sql) -> Result<String> {
    let mut c = Compiler { resource, sql: std::mem::take(sql), next_alias: 0 };
    let (expr, kind) = c.operand(&sort.by, None)?;
    *sql = c.sql;
    Ok(match kind {
        Kind::Text { case_exact: false } if !matches!(sort.by, Operand::Column(Column::UserName)) => {
            format!("scim_fold({expr})")
        }
        _ => expr,
    })
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

impl Compiler {
    fn filter(&mut self, f: &Filter, scope: Option<&Scope>) -> Result<String> {
        Ok(match f {
            Filter::Const(true) => "1".into(),
            Filter::Const(false) => "0".into(),
            Filter::And(parts) | Filter::Or(parts) => {
                if parts.is_empty() {
                    return Ok(if matches!(f, Filter::And(_)) { "1" } else { "0" }.into());
                }
                let joiner = if matches!(f, Filter::And(_)) { " AND " } else { " OR " };
                let parts = parts.iter().map(|p| self.filter(p, scope)).collect::<Result<Vec<_>>>()?;
                format!("({})", parts.join(joiner))
            }
            // A comparison with an absent value is NULL in SQL; NOT must treat it as false.
            Filter::Not(inner) => format!("(NOT IFNULL({}, 0))", self.filter(inner, scope)?),
            Filter::Present(operand) => {
                let (expr, kind) = self.operand(operand, scope)?;
                match kind {
                    Kind::Text { .. } => format!("({expr} IS NOT NULL AND {expr} <> '')"),
                    _ => format!("({expr} IS NOT NULL)"),
                }
            }
            Filter::Compare(operand, op, value) => self.compare(operand, *op, value, scope)?,
            Filter::Any(collection, inner) => self.any(collection, inner, scope)?,
        })
    }

    fn any(&mut self, collection: &Collection, inner: &Filter, scope: Option<&Scope>) -> Result<String> {
        if scope.is_some() {
            return Err(invalid("a value filter cannot be nested in another"));
        }
        self.next_alias += 1;
        let alias = format!("e{}", self.next_alias);
        let from = match (self.resource, collection) {
            // Driven from the e-mail index: `r.id IN (…)` lets SQLite find the few
            // users with that address first (?1 is the tenant, see `compile`).
            (Resource::User, Collection::Emails) => {
                let scope = Scope { alias: alias.clone(), collection };
                let cond = self.filter(inner, Some(&scope))?;
                return Ok(format!(
                    "{ROW}.id IN (SELECT {alias}.user_id FROM user_emails {alias} WHERE {alias}.tenant_id = ?1 AND {cond})"
                ));
            }
            (Resource::User, Collection::JsonArray(path)) => {
                let p = self.sql.bind(SqlValue::Text(path.clone()));
                format!("json_each({ROW}.profile, {p}) {alias} WHERE 1")
            }
            // Start from the named group (by its indexed id) and probe one membership row,
            // rather than reading every membership of the user.
            (Resource::User, Collection::UserGroups) => format!(
                "groups {alias} JOIN group_members m{alias} ON m{alias}.group_id = {alias}.id \
                 WHERE m{alias}.user_id = {ROW}.id AND {alias}.tenant_id = {ROW}.tenant_id"
            ),
            // Start from the named user and probe one membership row, rather than
            // reading the whole member list (`members eq "<id>"` on a 50,000-member group).
            (Resource::Group, Collection::Members) => format!(
                "users {alias} JOIN group_members m{alias} ON m{alias}.user_id = {alias}.id \
                 WHERE m{alias}.group_id = {ROW}.id AND {alias}.tenant_id = {ROW}.tenant_id"
            ),
            _ => return Err(invalid("this attribute does not belong to this resource")),
        };
        let scope = Scope { alias, collection };
        let cond = self.filter(inner, Some(&scope))?;
        Ok(format!("EXISTS (SELECT 1 FROM {from} AND {cond})"))
    }

    /// The SQL expression for an operand and how it compares. For
    /// case-insensitive text the expression is already folded.
    fn operand(&mut self, operand: &Operand, scope: Option<&Scope>) -> Result<(String, Kind)> {
        let insensitive = Kind::Text { case_exact: false };
        let exact = Kind::Text { case_exact: true };
        Ok(match operand {
            Operand::Column(col) => match (self.resource, col) {
                (_, Column::Id) => (format!("{ROW}.scim_id"), exact),
                (Resource::User, Column::UserName) => (format!("{ROW}.user_name_key"), insensitive),
                (Resource::Group, Column::DisplayName) => (format!("{ROW}.display_name_key"), insensitive),
                (Resource::User, Column::DisplayName) => (format!("scim_fold({ROW}.display_name)"), insensitive),
                (_, Column::ExternalId) => (format!("{ROW}.external_id"), exact),
                (Resource::User, Column::Active) => (format!("{ROW}.active"), Kind::Bool),
                (_, Column::Created) => (format!("{ROW}.created"), Kind::Time),
                (_, Column::LastModified) => (format!("{ROW}.last_modified"), Kind::Time),
                (_, Column::Version) => (format!("{ROW}.version"), Kind::Integer),
                _ => return Err(invalid("this attribute does not belong to this resource")),
            },
            Operand::Json { path, kind } => {
                if self.resource != Resource::User {
                    return Err(invalid("groups have no such attribute"));
                }
                let p = self.sql.bind(SqlValue::Text(path.clone()));
                (fold_if(format!("json_extract({ROW}.profile, {p})"), *kind), *kind)
            }
            Operand::Field { name, kind } => {
                let scope = scope.ok_or_else(|| invalid("a sub-attribute needs its attribute"))?;
                (self.field(scope, name, *kind)?, *kind)
            }
            Operand::PrimaryEmail => (
                format!(
                    "(SELECT value_key FROM user_emails WHERE user_id = {ROW}.id \
                     ORDER BY is_primary DESC, position LIMIT 1)"
                ),
                insensitive,
            ),
        })
    }

    fn field(&mut self, scope: &Scope, name: &str, kind: Kind) -> Result<String> {
        let a = &scope.alias;
        let column = |c: &str| format!("{a}.{c}");
        Ok(match (scope.collection, name) {
            (Collection::Emails, "value") => match kind {
                Kind::Text { case_exact: false } => column("value_key"),
                _ => column("value"),
            },
            (Collection::Emails, "type") => fold_if(column("type"), kind),
            (Collection::Emails, "primary") => column("is_primary"),
            (Collection::Emails, "display") => fold_if(column("display"), kind),
            (Collection::JsonArray(_), _) => {
                let p = self.sql.bind(SqlValue::Text(json_path(&[name])));
                fold_if(format!("json_extract({a}.value, {p})"), kind)
            }
            (Collection::UserGroups | Collection::Members, "value") => column("scim_id"),
            (Collection::UserGroups, "display") => fold_if(column("display_name"), kind),
            (Collection::Members, "display") => fold_if(column("display_name"), kind),
            (Collection::UserGroups, "type") => "'direct'".into(),
            (Collection::Members, "type") => "'User'".into(),
            _ => return Err(invalid(format!("unsupported sub-attribute {name:?}"))),
        })
    }

    fn compare(&mut self, operand: &Operand, op: Op, value: &Value, scope: Option<&Scope>) -> Result<String> {
        let (lhs, kind) = self.operand(operand, scope)?;
        if *value == Value::Null {
            return match op {
                Op::Eq => Ok(format!("({lhs} IS NULL)")),
                Op::Ne => Ok(format!("({lhs} IS NOT NULL)")),
                _ => Err(invalid("null can only be compared with eq or ne")),
            };
        }
        let rhs = sql_value(kind, value)?;
        let text = matches!(kind, Kind::Text { .. });
        match op {
            Op::Co | Op::Sw | Op::Ew if !text => return Err(invalid("co, sw and ew apply to strings only")),
            Op::Gt | Op::Lt | Op::Ge | Op::Le if kind == Kind::Bool => {
                return Err(invalid("booleans cannot be ordered"))
            }
            _ => {}
        }
        if matches!(op, Op::Co | Op::Sw | Op::Ew) && rhs == SqlValue::Text(String::new()) {
            return Ok(format!("({lhs} IS NOT NULL)"));
        }
        let p = self.sql.bind(rhs);
        Ok(match op {
            Op::Eq => format!("({lhs} = {p})"),
            Op::Ne => format!("(NOT IFNULL({lhs} = {p}, 0))"),
            Op::Co => format!("(instr({lhs}, {p}) > 0)"),
            Op::Sw => format!("(substr({lhs}, 1, length({p})) = {p})"),
            Op::Ew => format!("(substr({lhs}, -length({p})) = {p})"),
            Op::Gt => format!("({lhs} > {p})"),
            Op::Lt => format!("({lhs} < {p})"),
            Op::Ge => format!("({lhs} >= {p})"),
            Op::Le => format!("({lhs} <= {p})"),
        })
    }
}

fn fold_if(expr: String, kind: Kind) -> String {
    match kind {
        Kind::Text { case_exact: false } => format!("scim_fold({expr})"),
        _ => expr,
    }
}

/// The SQL value a filter value compares as, for an operand of `kind`.
fn sql_value(kind: Kind, value: &Value) -> Result<SqlValue> {
    let mismatch = || invalid(format!("the value {value:?} does not fit this attribute"));
    Ok(match (kind, value) {
        (Kind::Text { case_exact }, Value::Text(s)) => SqlValue::Text(if case_exact { s.clone() } else { fold(s) }),
        (Kind::Bool, Value::Bool(b)) => SqlValue::Integer((*b).into()),
        (Kind::Bool, Value::Text(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => SqlValue::Integer(1),
            "false" => SqlValue::Integer(0),
            _ => return Err(mismatch()),
        },
        (Kind::Integer, Value::Number(n)) if n.fract() == 0.0 => SqlValue::Integer(*n as i64),
        (Kind::Decimal, Value::Number(n)) => SqlValue::Real(*n),
        (Kind::Time, Value::Time(t)) => SqlValue::Text(format_time(t)),
        _ => return Err(mismatch()),
    })
}

/// An SQLite JSON path for a sequence of object keys: `$."a"."b"`.
pub fn json_path(keys: &[&str]) -> String {
    let mut path = String::from("$");
    for k in keys {
        path.push_str(".\"");
        path.push_str(&k.replace('"', ""));
        path.push('"');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn compiles_with_bound_parameters_only() {
        let f = Filter::And(vec![
            Filter::Compare(Operand::Column(Column::UserName), Op::Eq, text("Bob'; DROP TABLE users")),
            Filter::Not(Box::new(Filter::Present(Operand::Column(Column::ExternalId)))),
        ]);
        let sql = compile(Resource::User, &f, vec![SqlValue::Integer(7)]).unwrap();
        assert_eq!(
            sql.text,
            "((r.user_name_key = ?2) AND (NOT IFNULL((r.external_id IS NOT NULL AND r.external_id <> ''), 0)))"
        );
        assert_eq!(sql.params[1], SqlValue::Text("bob'; drop table users".into()));
    }

    #[test]
    fn email_value_filters_start_from_the_email_index() {
        let f = Filter::Any(
            Collection::Emails,
            Box::new(Filter::And(vec![
                Filter::Compare(
                    Operand::Field { name: "type".into(), kind: Kind::Text { case_exact: false } },
                    Op::Eq,
                    text("Work"),
                ),
                Filter::Compare(
                    Operand::Field { name: "value".into(), kind: Kind::Text { case_exact: false } },
                    Op::Co,
                    text("@X"),
                ),
            ])),
        );
        let sql = compile(Resource::User, &f, vec![SqlValue::Integer(7)]).unwrap();
        assert!(
            sql.text.starts_with("r.id IN (SELECT e1.user_id FROM user_emails e1 WHERE e1.tenant_id = ?1 AND"),
            "{}",
            sql.text
        );
        assert_eq!(sql.params, vec![SqlValue::Integer(7), SqlValue::Text("work".into()), SqlValue::Text("@x".into())]);
    }

    #[test]
    fn rejects_type_mismatches() {
        let cases = [
            Filter::Compare(Operand::Column(Column::Active), Op::Gt, Value::Bool(true)),
            Filter::Compare(Operand::Column(Column::Active), Op::Eq, text("maybe")),
            Filter::Compare(Operand::Column(Column::Created), Op::Co, text("2020")),
            Filter::Compare(Operand::Column(Column::UserName), Op::Eq, Value::Number(3.0)),
            Filter::Compare(Operand::Column(Column::Active), Op::Co, Value::Null),
            Filter::Compare(Operand::Column(Column::Active), Op::Eq, Value::Null),
        ];
        for (i, f) in cases.iter().enumerate() {
            let r = compile(Resource::User, f, vec![]);
            assert_eq!(r.is_err(), i < 5, "case {i}: {f:?}");
        }
    }

    #[test]
    fn json_paths_quote_keys() {
        assert_eq!(
            json_path(&["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department"]),
            "$.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\".\"department\""
        );
    }
}
