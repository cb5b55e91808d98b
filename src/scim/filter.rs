//! Parser for SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).
//!
//! Produces an AST only; evaluation and SQL translation live elsewhere.
//! Error offsets are character (not byte) offsets into the input.

use serde_json::{Number, Value};
use std::fmt;

/// An attribute path: optional schema URN, attribute name, optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
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

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some element of multi-valued `attr` matches `filter`
    /// (attribute paths inside `filter` are relative to the element).
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH target: `attrPath` or `valuePath [ "." subAttr ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub_attr: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

fn err<T>(message: String) -> Result<T, FilterError> {
    Err(FilterError { message })
}

pub struct Limits {
    pub max_len: usize,
    pub max_depth: usize,
    pub max_terms: usize,
}

pub const DEFAULT_LIMITS: Limits = Limits { max_len: 4096, max_depth: 16, max_terms: 64 };

pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    parse_filter_with(input, &DEFAULT_LIMITS)
}

pub fn parse_filter_with(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
    let mut p = Parser::new(input, limits)?;
    let f = p.or_expr(false)?;
    p.expect_end("\"and\", \"or\" or end of filter")?;
    Ok(f)
}

/// Parses a PATCH operation `path`.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut p = Parser::new(input, &DEFAULT_LIMITS)?;
    let attr = p.attr_path()?;
    let mut path = PatchPath { attr, filter: None, sub_attr: None };
    if p.peek().tok == Tok::LBracket {
        let (filter, sub_attr) = p.bracket(&path.attr)?;
        path.filter = Some(filter);
        path.sub_attr = sub_attr;
    }
    p.expect_end("end of PATCH path")?;
    Ok(path)
}

/// Parses a bare attribute path (sortBy, attributes= entries, PATCH value keys).
pub fn parse_attr_path(input: &str) -> Result<AttrPath, FilterError> {
    let mut p = Parser::new(input, &DEFAULT_LIMITS)?;
    let a = p.attr_path()?;
    p.expect_end("end of attribute path")?;
    Ok(a)
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("\"{w}\""),
        Tok::Str(_) => "a string".into(),
        Tok::Num(n) => format!("number {n}"),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBracket => "\"[\"".into(),
        Tok::RBracket => "\"]\"".into(),
        Tok::Dot => "\".\"".into(),
        Tok::End => "end of input".into(),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '$')
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let cs: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let start = i;
        let c = cs[i];
        i += 1;
        let tok = match c {
            ' ' | '\t' => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '.' => Tok::Dot,
            '"' => {
                while i < cs.len() && cs[i] != '"' {
                    i += if cs[i] == '\\' { 2 } else { 1 };
                }
                if i >= cs.len() {
                    return err(format!("unterminated string starting at {start}"));
                }
                i += 1;
                let raw: String = cs[start..i].iter().collect();
                match serde_json::from_str::<String>(&raw) {
                    Ok(s) => Tok::Str(s),
                    Err(_) => return err(format!("invalid string literal at {start}")),
                }
            }
            '-' | '0'..='9' => {
                while i < cs.len() && matches!(cs[i], '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
                    i += 1;
                }
                let raw: String = cs[start..i].iter().collect();
                match serde_json::from_str::<Value>(&raw) {
                    Ok(Value::Number(n)) => Tok::Num(n),
                    _ => return err(format!("invalid number \"{raw}\" at {start}")),
                }
            }
            c if c.is_ascii_alphabetic() || c == '$' => {
                while i < cs.len() && is_word_char(cs[i]) {
                    i += 1;
                }
                Tok::Word(cs[start..i].iter().collect())
            }
            c => return err(format!("unexpected character {c:?} at {start}")),
        };
        out.push(Token { tok, pos: start });
    }
    out.push(Token { tok: Tok::End, pos: cs.len() });
    Ok(out)
}

fn valid_name(s: &str) -> bool {
    let mut cs = s.chars();
    s == "$ref"
        || (cs.next().is_some_and(|c| c.is_ascii_alphabetic())
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// URNs contain dots (`2.0`), so split on the last colon before looking for a sub-attribute.
fn split_attr_path(s: &str, pos: usize) -> Result<AttrPath, FilterError> {
    let bad = |why: &str| err(format!("invalid attribute path \"{s}\" at {pos}: {why}"));
    let (urn, rest) = match s.rfind(':') {
        Some(k) => {
            let urn = &s[..k];
            if !urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
                return bad("a schema URN must start with \"urn:\"");
            }
            if urn.split(':').any(str::is_empty) {
                return bad("empty URN segment");
            }
            (Some(urn.to_string()), &s[k + 1..])
        }
        None => (None, s),
    };
    let (attr, sub_attr) = match rest.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (rest, None),
    };
    if !valid_name(attr) {
        return bad("expected an attribute name");
    }
    if sub_attr.is_some_and(|b| !valid_name(b)) {
        return bad("expected a sub-attribute name after \".\"");
    }
    Ok(AttrPath { urn, attr: attr.to_string(), sub_attr: sub_attr.map(str::to_string) })
}

// ---------------------------------------------------------------- parser

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    terms: usize,
    limits: &'a Limits,
}

impl<'a> Parser<'a> {
    fn new(input: &str, limits: &'a Limits) -> Result<Self, FilterError> {
        if input.len() > limits.max_len {
            return err(format!("input is {} bytes, longer than the limit of {}", input.len(), limits.max_len));
        }
        Ok(Parser { toks: lex(input)?, i: 0, depth: 0, terms: 0, limits })
    }

    fn peek(&self) -> &Token {
        &self.toks[self.i]
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn unexpected<T>(&self, expected: &str) -> Result<T, FilterError> {
        let t = self.peek();
        err(format!("expected {expected} at {}, found {}", t.pos, describe(&t.tok)))
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<(), FilterError> {
        if self.peek().tok != tok {
            return self.unexpected(expected);
        }
        self.next();
        Ok(())
    }

    fn expect_end(&self, expected: &str) -> Result<(), FilterError> {
        match self.peek().tok {
            Tok::End => Ok(()),
            _ => self.unexpected(expected),
        }
    }

    /// Bounds recursion: every nested construct passes through here before recursing.
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return err(format!("nesting deeper than {} at {}", self.limits.max_depth, self.peek().pos));
        }
        Ok(())
    }

    fn count_term(&mut self, pos: usize) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > self.limits.max_terms {
            return err(format!("more than {} filter terms at {pos}", self.limits.max_terms));
        }
        Ok(())
    }

    fn or_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(in_brackets)?;
        while self.peek_keyword("or") {
            self.next();
            let right = self.and_expr(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(in_brackets)?;
        while self.peek_keyword("and") {
            self.next();
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        if self.peek_keyword("not") {
            self.next();
            self.enter()?;
            let inner = self.group(in_brackets)?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.peek().tok {
            Tok::LParen => self.group(in_brackets),
            Tok::Word(_) => self.term(in_brackets),
            _ => self.unexpected("an attribute path, \"not\" or \"(\""),
        }
    }

    fn group(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        self.enter()?;
        self.expect(Tok::LParen, "\"(\"")?;
        let f = self.or_expr(in_brackets)?;
        self.expect(Tok::RParen, "\"and\", \"or\" or \")\"")?;
        self.depth -= 1;
        Ok(f)
    }

    fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        match self.peek().tok.clone() {
            Tok::Word(w) => {
                let pos = self.next().pos;
                split_attr_path(&w, pos)
            }
            _ => self.unexpected("an attribute path"),
        }
    }

    fn term(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let path = self.attr_path()?;
        if self.peek().tok != Tok::LBracket {
            return self.comparison(path);
        }
        if in_brackets {
            return self.unexpected("a comparison operator (nested \"[\" is not allowed)");
        }
        let (mut inner, sub_attr) = self.bracket(&path)?;
        // Entra sends `emails[type eq "work"].value eq "x"`; fold the trailing test into the element filter.
        if let Some(sub) = sub_attr {
            let rel = AttrPath { urn: None, attr: sub, sub_attr: None };
            inner = Filter::And(Box::new(inner), Box::new(self.comparison(rel)?));
        }
        Ok(Filter::ValuePath(path, Box::new(inner)))
    }

    /// Parses `"[" valFilter "]" [ "." subAttr ]` after `path`.
    fn bracket(&mut self, path: &AttrPath) -> Result<(Filter, Option<String>), FilterError> {
        if path.sub_attr.is_some() {
            return self.unexpected("end of attribute path (a sub-attribute cannot have a value filter)");
        }
        self.enter()?;
        self.next();
        let f = self.or_expr(true)?;
        self.expect(Tok::RBracket, "\"and\", \"or\" or \"]\"")?;
        self.depth -= 1;
        if self.peek().tok != Tok::Dot {
            return Ok((f, None));
        }
        self.next();
        match self.peek().tok.clone() {
            Tok::Word(w) if valid_name(&w) => {
                self.next();
                Ok((f, Some(w)))
            }
            _ => self.unexpected("a sub-attribute name after \".\""),
        }
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let t = self.peek().clone();
        let op = match &t.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("pr") => None,
            Tok::Word(w) => match OPS.iter().find(|(name, _)| w.eq_ignore_ascii_case(name)) {
                Some(&(_, op)) => Some(op),
                None => return self.unexpected(&format!("a comparison operator after \"{path}\"")),
            },
            _ => return self.unexpected(&format!("a comparison operator after \"{path}\"")),
        };
        self.next();
        self.count_term(t.pos)?;
        let Some(op) = op else {
            return Ok(Filter::Present(path));
        };
        let value = match self.peek().tok.clone() {
            Tok::Str(s) => CompValue::Str(s),
            Tok::Num(n) => CompValue::Number(n),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            _ => return self.unexpected(&format!("a JSON value (string, number, true, false or null) after \"{op}\"")),
        };
        self.next();
        Ok(Filter::Compare(path, op, value))
    }
}

// ---------------------------------------------------------------- display

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[rustfmt::skip]
const OPS: [(&str, CompareOp); 9] = [
    ("eq", CompareOp::Eq), ("ne", CompareOp::Ne), ("co", CompareOp::Co),
    ("sw", CompareOp::Sw), ("ew", CompareOp::Ew), ("gt", CompareOp::Gt),
    ("lt", CompareOp::Lt), ("ge", CompareOp::Ge), ("le", CompareOp::Le),
];

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = OPS.iter().find(|(_, op)| op == self).map_or("", |(n, _)| n);
        f.write_str(name)
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => write!(f, "{}", Value::String(s.clone())),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, x: &Filter, paren: bool) -> fmt::Result {
    if paren {
        write!(f, "({x})")
    } else {
        write!(f, "{x}")
    }
}

/// Canonical form: lower-case keywords, parentheses only where precedence or
/// left-associativity would otherwise change the tree.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(l, r) => {
                write_operand(f, l, matches!(**l, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, r, matches!(**r, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(l, r) => {
                write_operand(f, l, false)?;
                f.write_str(" or ")?;
                write_operand(f, r, matches!(**r, Filter::Or(..)))
            }
            Filter::Not(x) => write!(f, "not ({x})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {op} {v}"),
            Filter::ValuePath(p, x) => write!(f, "{p}[{x}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CompareOp::*;

    fn ap(s: &str) -> AttrPath {
        parse_attr_path(s).unwrap()
    }
    fn cmp(a: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare(ap(a), op, v)
    }
    fn s(v: &str) -> CompValue {
        CompValue::Str(v.into())
    }
    fn eq(a: &str, v: &str) -> Filter {
        cmp(a, Eq, s(v))
    }
    fn num(v: f64) -> CompValue {
        CompValue::Number(Number::from_f64(v).unwrap())
    }
    fn pr(a: &str) -> Filter {
        Filter::Present(ap(a))
    }
    fn and(l: Filter, r: Filter) -> Filter {
        Filter::And(Box::new(l), Box::new(r))
    }
    fn or(l: Filter, r: Filter) -> Filter {
        Filter::Or(Box::new(l), Box::new(r))
    }
    fn not(x: Filter) -> Filter {
        Filter::Not(Box::new(x))
    }
    fn vp(a: &str, x: Filter) -> Filter {
        Filter::ValuePath(ap(a), Box::new(x))
    }

    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const TS: &str = "2011-05-13T04:42:34Z";

    #[rustfmt::skip]
    fn valid_table() -> Vec<(String, Filter)> {
        let t = |input: &str, f: Filter| (input.to_string(), f);
        let bool_ = CompValue::Bool;
        vec![
            t(r#"userName eq "bjensen""#, eq("userName", "bjensen")),
            t(r#"name.familyName co "O'Malley""#, cmp("name.familyName", Co, s("O'Malley"))),
            t(r#"userName sw "J""#, cmp("userName", Sw, s("J"))),
            t(r#"userName ew "n""#, cmp("userName", Ew, s("n"))),
            t(r#"userName ne "x""#, cmp("userName", Ne, s("x"))),
            t(&format!(r#"{CORE}:userName sw "J""#), cmp(&format!("{CORE}:userName"), Sw, s("J"))),
            t(&format!(r#"{ENT}:manager.value eq "1""#), eq(&format!("{ENT}:manager.value"), "1")),
            t(&format!(r#"schemas eq "{ENT}""#), eq("schemas", ENT)),
            t("title pr", pr("title")),
            t("\t title  PR\t", pr("title")),
            t(&format!(r#"meta.lastModified gt "{TS}""#), cmp("meta.lastModified", Gt, s(TS))),
            t(&format!(r#"meta.lastModified ge "{TS}""#), cmp("meta.lastModified", Ge, s(TS))),
            t(&format!(r#"meta.lastModified lt "{TS}""#), cmp("meta.lastModified", Lt, s(TS))),
            t(&format!(r#"meta.lastModified le "{TS}""#), cmp("meta.lastModified", Le, s(TS))),
            t("x eq 42", cmp("x", Eq, CompValue::Number(42.into()))),
            t("x gt -1.5", cmp("x", Gt, num(-1.5))),
            t("x lt 1e3", cmp("x", Lt, num(1000.0))),
            t("x eq null", cmp("x", Eq, CompValue::Null)),
            t("x ne False", cmp("x", Ne, bool_(false))),
            t(r#"displayName eq "a \"q\" \\ \u00e9""#, eq("displayName", "a \"q\" \\ é")),
            t(r#"members[$ref ew "/Users/1"]"#, vp("members", cmp("$ref", Ew, s("/Users/1")))),
            t(r#"title pr and userType eq "Employee""#, and(pr("title"), eq("userType", "Employee"))),
            t(r#"title pr or userType eq "Intern""#, or(pr("title"), eq("userType", "Intern"))),
            t(r#"a eq "1" or b eq "2" and c eq "3""#, or(eq("a", "1"), and(eq("b", "2"), eq("c", "3")))),
            t(r#"a eq "1" and b eq "2" or c eq "3""#, or(and(eq("a", "1"), eq("b", "2")), eq("c", "3"))),
            t("a pr and b pr and c pr", and(and(pr("a"), pr("b")), pr("c"))),
            t("a pr and (b pr and c pr)", and(pr("a"), and(pr("b"), pr("c")))),
            t("a pr or (b pr or c pr)", or(pr("a"), or(pr("b"), pr("c")))),
            t("(a pr or b pr) and c pr", and(or(pr("a"), pr("b")), pr("c"))),
            t(r#"USERNAME EQ "x" AnD not(active Eq TRUE) OR Title PR"#,
              or(and(eq("USERNAME", "x"), not(cmp("active", Eq, bool_(true)))), pr("Title"))),
            t(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
              and(eq("userType", "Employee"),
                  or(cmp("emails", Co, s("example.com")), cmp("emails.value", Co, s("example.org"))))),
            t(r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
              and(cmp("userType", Ne, s("Employee")),
                  not(or(cmp("emails", Co, s("example.com")), cmp("emails.value", Co, s("example.org")))))),
            t(r#"userType eq "Employee" and (emails.type eq "work")"#,
              and(eq("userType", "Employee"), eq("emails.type", "work"))),
            t(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
              and(eq("userType", "Employee"),
                  vp("emails", and(eq("type", "work"), cmp("value", Co, s("@example.com")))))),
            t(r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
              or(vp("emails", and(eq("type", "work"), cmp("value", Co, s("@example.com")))),
                 vp("ims", and(eq("type", "xmpp"), cmp("value", Co, s("@foo.com")))))),
            t(r#"emails[type eq "work"].value eq "a@b""#, vp("emails", and(eq("type", "work"), eq("value", "a@b")))),
            t(r#"emails[type eq "work"].value pr"#, vp("emails", and(eq("type", "work"), pr("value")))),
            t(r#"emails[not (type eq "work") or (primary eq true)]"#,
              vp("emails", or(not(eq("type", "work")), cmp("primary", Eq, bool_(true))))),
            t(r#"id eq "g1" and members eq "u1""#, and(eq("id", "g1"), eq("members", "u1"))),
        ]
    }

    #[test]
    fn valid_filters() {
        for (input, expected) in valid_table() {
            assert_eq!(parse_filter(&input), Ok(expected), "input: {input}");
        }
    }

    #[test]
    fn round_trip() {
        for (input, _) in valid_table() {
            let f = parse_filter(&input).unwrap();
            let shown = f.to_string();
            assert_eq!(parse_filter(&shown), Ok(f), "input: {input}, shown: {shown}");
        }
    }

    #[rustfmt::skip]
    const INVALID: &[&str] = &[
        "", "   ", "userName", "userName eq", "userName eq bjensen", r#"userName xx "a""#, r#"eq "a""#,
        "and", "or", "not", "not a pr", "not ()", "(a pr", "a pr)", "()", "a pr and", "a pr or or b pr",
        "a pr b pr", "a pr pr", "a eq true false", r#"emails[type eq "w""#, "emails[type[value eq 1] eq 2]",
        r#"emails[type eq "w"]]"#, "emails[]", r#"emails[type eq "w"].value"#, r#"emails[type eq "w"]."#,
        r#"emails[type eq "w"].1 pr"#, r#"a eq "unterminated"#, r#"a eq "bad \q escape""#,
        "a eq \"ctrl\u{1}\"", "a eq 1.2.3", "a eq -", "a eq 1e999", "1abc eq 1", "urx:foo:bar eq 1",
        "urn:foo:1bad pr", "urn::x pr", "a..b pr", "a.b.c pr", "a. pr", "name.givenName[value pr]",
        r#"a eq "x" garbage"#, "é eq 1", "a eq \"x\" ]", "a pr & b pr", "a\npr", "a pr [", ".a pr", "a eq 'x'",
    ];

    #[test]
    fn invalid_filters() {
        let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
        let terms = |n: usize| vec!["a pr"; n].join(" and ");
        let mut cases: Vec<String> = INVALID.iter().map(|s| s.to_string()).collect();
        cases.push(format!("a eq \"{}\"", "x".repeat(5000)));
        cases.push("(".repeat(100_000));
        cases.push(nested(100_000));
        cases.push(nested(17));
        cases.push(format!("{}a pr{}", "not (".repeat(9), ")".repeat(9)));
        cases.push(terms(65));
        for c in &cases {
            assert!(parse_filter(c).is_err(), "should fail: {c:.80}");
        }
        assert!(parse_filter(&nested(16)).is_ok());
        assert!(parse_filter(&terms(64)).is_ok());
        let tight = Limits { max_len: 16, max_depth: 0, max_terms: 1 };
        assert!(parse_filter_with("a pr", &tight).is_ok());
        for c in ["(a pr)", "x[a pr]", "not(a pr)", "a pr or b pr", "abcdefghijklmnop pr"] {
            assert!(parse_filter_with(c, &tight).is_err(), "{c}");
        }
    }

    #[test]
    fn error_messages_say_what_and_where() {
        let msg = |input: &str| parse_filter(input).unwrap_err().to_string();
        let m = msg("userName bjensen");
        assert!(m.contains(r#"expected a comparison operator after "userName" at 9"#), "{m}");
        // Offsets count characters, not bytes.
        assert!(msg(r#"a eq "é" )"#).contains("at 9"));
        assert!(msg(r#"a eq "éé" x"#).contains("at 10"), "{}", msg(r#"a eq "éé" x"#));
        assert!(msg("").contains("at 0"));
    }

    #[rustfmt::skip]
    #[test]
    fn patch_paths() {
        let path = |a: &str, f: Option<Filter>, sub: Option<&str>| PatchPath {
            attr: ap(a), filter: f, sub_attr: sub.map(String::from),
        };
        let valid = [
            ("members".to_string(), path("members", None, None)),
            (" name.familyName ".into(), path("name.familyName", None, None)),
            (format!("{ENT}:manager"), path(&format!("{ENT}:manager"), None, None)),
            (r#"members[value eq "2819c223"]"#.into(), path("members", Some(eq("value", "2819c223")), None)),
            (r#"emails[type eq "work"].value"#.into(), path("emails", Some(eq("type", "work")), Some("value"))),
            (r#"addresses[type eq "work"].streetAddress"#.into(),
             path("addresses", Some(eq("type", "work")), Some("streetAddress"))),
            (format!(r#"{CORE}:emails[type eq "work"].value"#),
             path(&format!("{CORE}:emails"), Some(eq("type", "work")), Some("value"))),
        ];
        for (input, expected) in valid {
            assert_eq!(parse_path(&input), Ok(expected), "input: {input}");
        }
        let invalid = [
            "", r#"userName eq "x""#, "name.givenName[value pr]", "emails[", "emails[]", r#"emails[a pr]."#,
            r#"emails[a pr].value.x"#, "emails[a pr][b pr]", r#"emails[a pr].value eq "x""#, "(members)",
            "members]", r#""members""#, "members.", "urn:x", "a b", "emails[a[b pr]]", "emails[a pr]x",
        ];
        for input in invalid {
            assert!(parse_path(input).is_err(), "should fail: {input}");
        }
    }

    #[test]
    fn attr_paths() {
        let a = ap(&format!("{ENT}:employeeNumber"));
        assert_eq!((a.urn.as_deref(), a.attr.as_str()), (Some(ENT), "employeeNumber"));
        let a = ap("name.givenName");
        assert_eq!((a.attr.as_str(), a.sub_attr.as_deref()), ("name", Some("givenName")));
        assert_eq!(ap("URN:x:y.z").to_string(), "URN:x:y.z");
        for bad in ["", "a b", "a[", "a.b.c", "1a", "x:y", "a pr", "$refs"] {
            assert!(parse_attr_path(bad).is_err(), "should fail: {bad}");
        }
    }

    /// Deterministic xorshift fuzzing: parsing must never panic, and whatever parses must round-trip.
    #[test]
    fn fuzz_never_panics_and_round_trips() {
        #[rustfmt::skip]
        const ALPHABET: &[&str] = &[
            "(", ")", "[", "]", " ", "\t", "\"", "\\", ".", ":", "eq", "NE", "co", "gt", "pr", "and", "Or",
            "not", "not(", "emails", "value", "$ref", "\"x\"", "\"\\u00e9\"", "1", "-2.5e3", "-", "e",
            "true", "NULL", "urn:ietf:params:scim:schemas:core:2.0:User:", "é",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let seeds = valid_table();
        let mut parsed = 0;
        for n in 0..20_000 {
            // Half the inputs are random token soup, half are valid filters with a few tokens spliced in.
            let mut input = match n % 2 {
                0 => String::new(),
                _ => seeds[rng() as usize % seeds.len()].0.clone(),
            };
            for _ in 0..rng() % if n % 2 == 0 { 16 } else { 3 } {
                let r = rng();
                let token = match r % 16 {
                    0 => char::from_u32((r >> 8) as u32 % 0x800).unwrap_or('?').to_string(),
                    _ => ALPHABET[(r >> 8) as usize % ALPHABET.len()].to_string() + " ",
                };
                let mut at = (r >> 32) as usize % (input.len() + 1);
                while !input.is_char_boundary(at) {
                    at -= 1;
                }
                input.insert_str(at, &token);
            }
            if let Ok(f) = parse_filter(&input) {
                parsed += 1;
                assert_eq!(parse_filter(&f.to_string()), Ok(f), "input: {input}");
            }
            let _ = parse_path(&input);
            let _ = parse_attr_path(&input);
        }
        assert!(parsed > 0, "the fuzzer never produced a valid filter");
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod filter_tests;
