//! Table-driven tests of the filter parser.
//!
//! Every table row is `(input, expected)`; a failing row names its input.

use super::*;
use CompareOp::*;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

// ------------------------------------------------------------ constructors

fn path(urn: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
    AttrPath { urn: urn.map(str::to_string), attr: attr.to_string(), sub_attr: sub.map(str::to_string) }
}

/// `a` or `a.b`, without a URN (built by hand, not by the parser under test).
fn p(s: &str) -> AttrPath {
    match s.split_once('.') {
        Some((a, b)) => path(None, a, Some(b)),
        None => path(None, s, None),
    }
}

fn cmp(a: AttrPath, op: CompareOp, v: CompValue) -> Filter {
    Filter::Compare(a, op, v)
}
fn str_(s: &str) -> CompValue {
    CompValue::Str(s.to_string())
}
fn int(n: i64) -> CompValue {
    CompValue::Number(Number::from(n))
}
fn float(f: f64) -> CompValue {
    CompValue::Number(Number::from_f64(f).unwrap())
}
fn eq(a: &str, v: &str) -> Filter {
    cmp(p(a), Eq, str_(v))
}
fn pr(a: &str) -> Filter {
    Filter::Present(p(a))
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
    Filter::ValuePath(p(a), Box::new(x))
}

#[track_caller]
fn ok(input: &str) -> Filter {
    parse_filter(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
}

#[track_caller]
fn check_table(table: Vec<(String, Filter)>) {
    for (input, expected) in table {
        assert_eq!(parse_filter(&input), Ok(expected), "input: {input}");
    }
}

// ------------------------------------------------------------ operators

#[test]
fn every_comparison_operator_in_any_case() {
    let ops =
        [("eq", Eq), ("ne", Ne), ("co", Co), ("sw", Sw), ("ew", Ew), ("gt", Gt), ("lt", Lt), ("ge", Ge), ("le", Le)];
    let mut table = Vec::new();
    for (name, op) in ops {
        let upper = name.to_ascii_uppercase();
        let mixed: String =
            name.chars().enumerate().map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c }).collect();
        for spelling in [name.to_string(), upper, mixed] {
            table.push((format!(r#"userName {spelling} "bjensen""#), cmp(p("userName"), op, str_("bjensen"))));
            table.push((format!("x {spelling} 7"), cmp(p("x"), op, int(7))));
        }
        // The operator's Display is its lower-case name.
        assert_eq!(op.to_string(), name);
    }
    for spelling in ["pr", "PR", "Pr", "pR"] {
        table.push((format!("title {spelling}"), pr("title")));
    }
    check_table(table);
}

#[test]
fn operators_are_whole_words() {
    for bad in [
        r#"userName eqq "x""#,
        r#"userName e q "x""#,
        r#"userName = "x""#,
        r#"userName == "x""#,
        r#"userName != "x""#,
        r#"userName contains "x""#,
        r#"userName like "x""#,
        "userName prr",
        "userName present",
        r#"userName "x""#,
        r#"userName eq"#,
        r#"userName pr "x""#,
    ] {
        assert!(parse_filter(bad).is_err(), "should fail: {bad}");
    }
}

// ------------------------------------------------------------ values

#[rustfmt::skip]
#[test]
fn comparison_values() {
    let t = |input: &str, v: CompValue| (format!("x eq {input}"), cmp(p("x"), Eq, v));
    check_table(vec![
        t("0", int(0)),
        t("42", int(42)),
        t("-7", int(-7)),
        t("9223372036854775807", int(i64::MAX)),
        t("-9223372036854775808", int(i64::MIN)),
        t("18446744073709551615", CompValue::Number(Number::from(u64::MAX))),
        t("1.5", float(1.5)),
        t("-0.25", float(-0.25)),
        t("1e3", float(1000.0)),
        t("1E3", float(1000.0)),
        t("2.5e-2", float(0.025)),
        t("1e+2", float(100.0)),
        t("true", CompValue::Bool(true)),
        t("TRUE", CompValue::Bool(true)),
        t("True", CompValue::Bool(true)),
        t("false", CompValue::Bool(false)),
        t("False", CompValue::Bool(false)),
        t("fAlSe", CompValue::Bool(false)),
        t("null", CompValue::Null),
        t("NULL", CompValue::Null),
        t("Null", CompValue::Null),
        t(r#""""#, str_("")),
        t(r#"" ""#, str_(" ")),
        // Keywords inside strings are just text.
        t(r#""a and b or not (c) [d]""#, str_("a and b or not (c) [d]")),
        t(r#""eq""#, str_("eq")),
        t(r#""true""#, str_("true")),
        t(r#""null""#, str_("null")),
        t(r#""42""#, str_("42")),
        // Non-ASCII text is fine inside a string.
        t(r#""Zoë Ångström 日本""#, str_("Zoë Ångström 日本")),
    ]);
}

#[rustfmt::skip]
#[test]
fn string_escapes_follow_json() {
    let t = |input: &str, v: &str| (format!("x eq {input}"), eq("x", v));
    check_table(vec![
        t(r#""a\"b""#, "a\"b"),
        t(r#""a\\b""#, "a\\b"),
        t(r#""a\/b""#, "a/b"),
        t(r#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        t(r#""\u00e9""#, "é"),
        t(r#""\u00E9""#, "é"),
        t(r#""\ud83d\ude00""#, "😀"),
        t(r#""\u0000""#, "\0"),
        t(r#""ends with backslash \\""#, "ends with backslash \\"),
        t(r#""\\\"""#, "\\\""),
        t(r#""O'Malley""#, "O'Malley"),
    ]);
    // A quote escaped by a backslash does not end the string.
    assert_eq!(ok(r#"x eq "\"" and y pr"#), and(eq("x", "\""), pr("y")));
}

#[test]
fn dates_are_strings() {
    let stamps = [
        "2011-05-13T04:42:34Z",
        "2011-05-13T04:42:34.123Z",
        "2011-05-13T04:42:34+12:00",
        "2011-05-13",
        "not a date at all",
    ];
    let mut table = Vec::new();
    for ts in stamps {
        for (name, op) in [("gt", Gt), ("ge", Ge), ("lt", Lt), ("le", Le), ("eq", Eq)] {
            table.push((format!(r#"meta.lastModified {name} "{ts}""#), cmp(p("meta.lastModified"), op, str_(ts))));
        }
    }
    check_table(table);
    // An unquoted date is not a value.
    for bad in ["meta.created gt 2011-05-13T04:42:34Z", "meta.created gt 2011-05-13"] {
        assert!(parse_filter(bad).is_err(), "should fail: {bad}");
    }
}

// ------------------------------------------------------------ attribute paths

#[rustfmt::skip]
#[test]
fn attribute_paths_in_filters() {
    let ent_manager = path(Some(ENT), "manager", Some("value"));
    check_table(vec![
        ("userName pr".into(), pr("userName")),
        ("name.familyName pr".into(), pr("name.familyName")),
        ("meta.lastModified pr".into(), pr("meta.lastModified")),
        ("$ref pr".into(), pr("$ref")),
        ("a-b_c9 pr".into(), pr("a-b_c9")),
        ("x.$ref pr".into(), Filter::Present(path(None, "x", Some("$ref")))),
        (format!("{CORE}:userName pr"), Filter::Present(path(Some(CORE), "userName", None))),
        (format!("{CORE}:name.givenName pr"), Filter::Present(path(Some(CORE), "name", Some("givenName")))),
        (format!(r#"{ENT}:manager.value eq "boss""#), cmp(ent_manager.clone(), Eq, str_("boss"))),
        (format!(r#"{ENT}:employeeNumber eq "701984""#), cmp(path(Some(ENT), "employeeNumber", None), Eq, str_("701984"))),
        (format!(r#"{GROUP}:displayName eq "g""#), cmp(path(Some(GROUP), "displayName", None), Eq, str_("g"))),
        // URNs are matched case-insensitively later; the parser keeps the text as sent.
        (format!("{}:title pr", ENT.to_uppercase()), Filter::Present(path(Some(&ENT.to_uppercase()), "title", None))),
        // Attribute names keep their case too (they are compared case-insensitively later).
        ("USERNAME pr".into(), pr("USERNAME")),
        // Keywords are only keywords in keyword position.
        (r#"and eq "x""#.into(), eq("and", "x")),
        ("pr pr".into(), pr("pr")),
        (r#"eq eq "x""#.into(), eq("eq", "x")),
    ]);
}

#[test]
fn parse_attr_path_table() {
    let table = [
        ("userName", path(None, "userName", None)),
        ("  userName  ", path(None, "userName", None)),
        ("name.givenName", path(None, "name", Some("givenName"))),
        ("emails.value", path(None, "emails", Some("value"))),
        ("members.$ref", path(None, "members", Some("$ref"))),
        ("$ref", path(None, "$ref", None)),
        ("meta.version", path(None, "meta", Some("version"))),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName", path(Some(CORE), "userName", None)),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            path(Some(ENT), "manager", Some("value")),
        ),
        ("URN:a:b:attr", path(Some("URN:a:b"), "attr", None)),
        // A bare URN parses as a path whose last segment is the attribute:
        // callers (paths::resolve_str) check for whole-schema URNs first.
        (ENT, path(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"), "User", None)),
    ];
    for (input, expected) in table {
        assert_eq!(parse_attr_path(input), Ok(expected.clone()), "input: {input}");
        // Display gives back the canonical text, which parses to the same path.
        assert_eq!(parse_attr_path(&expected.to_string()), Ok(expected), "input: {input}");
    }
    let bad = [
        "",
        " ",
        "1userName",
        "-x",
        "_x",
        "user name",
        "name.",
        ".name",
        "name..givenName",
        "name.given.name",
        "name.1given",
        "x:userName",
        "urn:",
        "urn:x:",
        "urn::x",
        "urn:a::b:c",
        ":userName",
        "urn:a:b:c.d.e",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "userName eq \"x\"",
        "userName pr",
        "(userName)",
        "\"userName\"",
        "$refs",
        "$",
        "a$b",
        "é",
        "userName\n",
        "a/b",
    ];
    for input in bad {
        assert!(parse_attr_path(input).is_err(), "should fail: {input:?}");
    }
}

#[rustfmt::skip]
#[test]
fn parse_path_table() {
    let pp = |attr: AttrPath, filter: Option<Filter>, sub: Option<&str>| PatchPath {
        attr,
        filter,
        sub_attr: sub.map(str::to_string),
    };
    let table = vec![
        ("displayName".to_string(), pp(p("displayName"), None, None)),
        ("name.givenName".into(), pp(p("name.givenName"), None, None)),
        ("\tname.givenName  ".into(), pp(p("name.givenName"), None, None)),
        ("members".into(), pp(p("members"), None, None)),
        (format!("{ENT}:manager"), pp(path(Some(ENT), "manager", None), None, None)),
        (format!("{ENT}:manager.value"), pp(path(Some(ENT), "manager", Some("value")), None, None)),
        (r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#.into(),
         pp(p("members"), Some(eq("value", "2819c223-7f76-453a-919d-413861904646")), None)),
        (r#"emails[type eq "work"].value"#.into(), pp(p("emails"), Some(eq("type", "work")), Some("value"))),
        (r#"emails[TYPE EQ "work"].VALUE"#.into(), pp(p("emails"), Some(cmp(p("TYPE"), Eq, str_("work"))), Some("VALUE"))),
        (r#"emails[type eq "work" and primary eq true].value"#.into(),
         pp(p("emails"), Some(and(eq("type", "work"), cmp(p("primary"), Eq, CompValue::Bool(true)))), Some("value"))),
        (r#"emails[type eq "work" or not (value pr)]"#.into(),
         pp(p("emails"), Some(or(eq("type", "work"), not(pr("value")))), None)),
        (r#"addresses[type eq "work"].streetAddress"#.into(),
         pp(p("addresses"), Some(eq("type", "work")), Some("streetAddress"))),
        (r#"members[value eq "1"].$ref"#.into(), pp(p("members"), Some(eq("value", "1")), Some("$ref"))),
        (r#"emails [type eq "work"] . value"#.into(), pp(p("emails"), Some(eq("type", "work")), Some("value"))),
        (format!(r#"{CORE}:emails[type eq "work"].value"#),
         pp(path(Some(CORE), "emails", None), Some(eq("type", "work")), Some("value"))),
    ];
    for (input, expected) in table {
        assert_eq!(parse_path(&input), Ok(expected), "input: {input}");
    }
    let bad = [
        "",
        "   ",
        "members[",
        "members[]",
        "members[value]",
        r#"members[value eq "x""#,
        r#"members[value eq "x"]]"#,
        r#"members[value eq "x"]."#,
        r#"members[value eq "x"].1"#,
        r#"members[value eq "x"].value.display"#,
        r#"members[value eq "x"][type eq "User"]"#,
        r#"members[value eq "x"] value"#,
        r#"emails[type eq "work"].value eq "x""#,
        r#"emails[value[x pr] pr]"#,
        r#"name.givenName[value pr]"#,
        r#"userName eq "x""#,
        "userName pr",
        "(userName)",
        "displayName displayName",
        r#""displayName""#,
        "urn:x",
        "name.",
        "userName\n",
    ];
    for input in bad {
        assert!(parse_path(input).is_err(), "should fail: {input:?}");
    }
}

// ------------------------------------------------------------ logic

#[rustfmt::skip]
#[test]
fn precedence_and_binds_tighter_than_or() {
    let (a, b, c, d) = (|| pr("a"), || pr("b"), || pr("c"), || pr("d"));
    check_table(vec![
        ("a pr and b pr".into(), and(a(), b())),
        ("a pr or b pr".into(), or(a(), b())),
        ("a pr or b pr and c pr".into(), or(a(), and(b(), c()))),
        ("a pr and b pr or c pr".into(), or(and(a(), b()), c())),
        ("a pr or b pr and c pr or d pr".into(), or(or(a(), and(b(), c())), d())),
        ("a pr and b pr or c pr and d pr".into(), or(and(a(), b()), and(c(), d()))),
        // Left-associative.
        ("a pr and b pr and c pr".into(), and(and(a(), b()), c())),
        ("a pr or b pr or c pr".into(), or(or(a(), b()), c())),
        // Parentheses override precedence and associativity.
        ("(a pr or b pr) and c pr".into(), and(or(a(), b()), c())),
        ("a pr and (b pr or c pr)".into(), and(a(), or(b(), c()))),
        ("a pr and (b pr and c pr)".into(), and(a(), and(b(), c()))),
        ("(a pr)".into(), a()),
        ("((((a pr))))".into(), a()),
        ("( a pr )or( b pr )".into(), or(a(), b())),
        // Keywords in any case.
        ("a pr AND b pr Or c pr".into(), or(and(a(), b()), c())),
        ("a pr aNd b pr OR c pr".into(), or(and(a(), b()), c())),
    ]);
}

#[rustfmt::skip]
#[test]
fn not_needs_parentheses_and_binds_to_them() {
    let (a, b, c) = (|| pr("a"), || pr("b"), || pr("c"));
    check_table(vec![
        ("not (a pr)".into(), not(a())),
        ("not(a pr)".into(), not(a())),
        ("NOT (a pr)".into(), not(a())),
        ("Not(a pr or b pr)".into(), not(or(a(), b()))),
        ("not (a pr) and b pr".into(), and(not(a()), b())),
        ("b pr and not (a pr)".into(), and(b(), not(a()))),
        ("not (a pr) or b pr and c pr".into(), or(not(a()), and(b(), c()))),
        ("not (not (a pr))".into(), not(not(a()))),
        ("(not (a pr))".into(), not(a())),
        (r#"emails[not (type eq "work")]"#.into(), vp("emails", not(eq("type", "work")))),
    ]);
    for bad in ["not a pr", "not", "not ()", "not (a pr", "a pr not (b pr)", "not not (a pr)", "not [a pr]"] {
        assert!(parse_filter(bad).is_err(), "should fail: {bad}");
    }
}

#[rustfmt::skip]
#[test]
fn value_paths() {
    let ent_emails = Filter::ValuePath(path(Some(CORE), "emails", None), Box::new(eq("type", "work")));
    check_table(vec![
        (r#"emails[type eq "work"]"#.into(), vp("emails", eq("type", "work"))),
        (r#"emails[ type eq "work" ]"#.into(), vp("emails", eq("type", "work"))),
        (r#"emails[type eq "work" and value co "@example.com"]"#.into(),
         vp("emails", and(eq("type", "work"), cmp(p("value"), Co, str_("@example.com"))))),
        (r#"emails[type eq "work" or type eq "home"]"#.into(),
         vp("emails", or(eq("type", "work"), eq("type", "home")))),
        (r#"emails[(type eq "work")]"#.into(), vp("emails", eq("type", "work"))),
        ("emails[primary eq true]".into(), vp("emails", cmp(p("primary"), Eq, CompValue::Bool(true)))),
        ("emails[value pr]".into(), vp("emails", pr("value"))),
        (r#"members[value eq "u1"]"#.into(), vp("members", eq("value", "u1"))),
        (format!(r#"{CORE}:emails[type eq "work"]"#), ent_emails),
        // A value path combines with other terms like any term.
        (r#"userName sw "a" and emails[type eq "work"]"#.into(),
         and(cmp(p("userName"), Sw, str_("a")), vp("emails", eq("type", "work")))),
        (r#"emails[type eq "work"] or phoneNumbers[type eq "mobile"]"#.into(),
         or(vp("emails", eq("type", "work")), vp("phoneNumbers", eq("type", "mobile")))),
        (r#"not (emails[type eq "work"])"#.into(), not(vp("emails", eq("type", "work")))),
    ]);
}

#[rustfmt::skip]
#[test]
fn entra_value_path_with_trailing_comparison() {
    // Entra sends `emails[type eq "work"].value eq "x"`: the trailing test is folded into the element filter.
    check_table(vec![
        (r#"emails[type eq "work"].value eq "ada@example.com""#.into(),
         vp("emails", and(eq("type", "work"), eq("value", "ada@example.com")))),
        (r#"emails[type eq "work"].value co "example""#.into(),
         vp("emails", and(eq("type", "work"), cmp(p("value"), Co, str_("example"))))),
        (r#"emails[type eq "work"].value pr"#.into(), vp("emails", and(eq("type", "work"), pr("value")))),
        (r#"emails[type eq "work"].primary eq true"#.into(),
         vp("emails", and(eq("type", "work"), cmp(p("primary"), Eq, CompValue::Bool(true))))),
        (r#"emails[type eq "work" or type eq "home"].value eq "x""#.into(),
         vp("emails", and(or(eq("type", "work"), eq("type", "home")), eq("value", "x")))),
        (r#"EMAILS[TYPE EQ "work"].VALUE EQ "x""#.into(),
         Filter::ValuePath(p("EMAILS"), Box::new(and(cmp(p("TYPE"), Eq, str_("work")), cmp(p("VALUE"), Eq, str_("x")))))),
        (r#"emails[type eq "work"].value eq "x" and active eq true"#.into(),
         and(vp("emails", and(eq("type", "work"), eq("value", "x"))), cmp(p("active"), Eq, CompValue::Bool(true)))),
        (r#"userName eq "y" or emails[type eq "work"].value eq "x""#.into(),
         or(eq("userName", "y"), vp("emails", and(eq("type", "work"), eq("value", "x"))))),
    ]);
    for bad in [
        r#"emails[type eq "work"].value"#,
        r#"emails[type eq "work"].value eq"#,
        r#"emails[type eq "work"].value.x eq "y""#,
        r#"emails[type eq "work"].value[type pr]"#,
        r#"emails[type eq "work"].value eq "x" eq "y""#,
        r#"emails[type eq "work"]."value" eq "x""#,
    ] {
        assert!(parse_filter(bad).is_err(), "should fail: {bad}");
    }
}

#[test]
fn rfc_7644_examples() {
    // The filter examples of RFC 7644 §3.4.2.2 all parse.
    let examples = [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];
    for input in examples {
        let f = ok(input);
        // The canonical form parses back to the same tree.
        assert_eq!(parse_filter(&f.to_string()), Ok(f), "input: {input}");
    }
}

#[rustfmt::skip]
#[test]
fn canonical_display() {
    let table = [
        (r#"USERNAME EQ "x""#, r#"USERNAME eq "x""#),
        ("a PR AND b Pr", "a pr and b pr"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        ("(a pr and b pr) and c pr", "a pr and b pr and c pr"),
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
        ("NOT(a pr)", "not (a pr)"),
        (r#"x eq "q\"\\""#, r#"x eq "q\"\\""#),
        ("x eq TRUE", "x eq true"),
        ("x eq Null", "x eq null"),
        ("x gt 1e3", "x gt 1000.0"),
        (r#"emails[type eq "work"].value eq "v""#, r#"emails[type eq "work" and value eq "v"]"#),
    ];
    for (input, shown) in table {
        assert_eq!(ok(input).to_string(), shown, "input: {input}");
    }
}

// ------------------------------------------------------------ malformed input

#[rustfmt::skip]
const MALFORMED: &[&str] = &[
    // empty / incomplete
    "", " ", "\t", "userName", "userName eq", "eq \"x\"", "pr", "\"x\"", "42", "true", "null",
    // bad operators and values
    "userName eq bjensen", "userName eq 'single'", "userName eq \"x\" \"y\"", "userName eq eq",
    "userName eq (\"x\")", "userName eq [\"x\"]", "userName eq {}", "x eq 1.2.3", "x eq 1.", "x eq .5",
    "x eq +1", "x eq 01", "x eq 1-2", "x eq -", "x eq 1e", "x eq 1e999", "x eq 0x10", "x eq NaN",
    "x eq Infinity", "x eq tru", "x eq nul", "x eq yes",
    // strings
    "x eq \"unterminated", "x eq \"bad \\q escape\"", "x eq \"\\u12\"", "x eq \"\\uzzzz\"",
    "x eq \"ctrl\u{1}char\"", "x eq \"new\nline\"", "x eq \"raw\ttab\"", "x eq \"trailing backslash\\\"",
    // logic
    "and", "or", "not", "a pr and", "and a pr", "a pr or", "or a pr", "a pr and and b pr",
    "a pr or or b pr", "a pr b pr", "a pr pr", "a pr && b pr", "a pr || b pr", "a pr & b pr",
    "!(a pr)", "not a pr", "not ()", "not", "a pr and not b pr",
    // parentheses
    "(", ")", "()", "(a pr", "a pr)", "((a pr)", "(a pr))", ")a pr(", "(a pr) (b pr)", "a (pr)",
    // brackets
    "emails[", "emails]", "emails[]", "emails[type eq \"w\"", "emails[type eq \"w\"]]",
    "[type eq \"w\"]", "emails[type]", "emails[type eq \"w\"].", "emails[type eq \"w\"].1 pr",
    "emails[type[value eq 1] eq 2]", "emails[type eq \"w\"][value pr]", "name.givenName[value pr]",
    "emails[type eq \"w\")", "emails(type eq \"w\"]",
    // attribute names
    "1abc eq 1", "-a pr", "_a pr", "é eq 1", "a..b pr", "a.b.c pr", "a. pr", ".a pr", "a.1 pr",
    "urx:foo:bar eq 1", "x:y pr", "urn::x pr", "urn:a::b:c pr", "urn:foo:1bad pr", ":a pr", "$refs pr",
    // characters outside the grammar
    "a\npr", "a\rpr", "a pr;", "a pr --", "a pr /* */", "a,b pr", "a eq \"x\" garbage", "a pr ]",
    "a pr [", "a eq 'x'", "a eq `x`", "a pr\u{0}", "\u{feff}a pr", "a\u{a0}pr", "a eq “x”",
];

#[test]
fn malformed_filters_are_errors() {
    for input in MALFORMED {
        let e = parse_filter(input);
        assert!(e.is_err(), "should fail: {input:?} parsed as {e:?}");
        let message = e.unwrap_err().to_string();
        assert!(!message.is_empty(), "{input:?}");
    }
}

#[test]
fn error_messages_give_character_offsets() {
    let table = [
        ("", 0),
        ("userName bjensen", 9),
        ("a pr )", 5),
        (r#"a eq "é" )"#, 9),
        (r#"a eq "éé" x"#, 10),
        (r#"ä eq 1"#, 0),
        (r#"a eq "x" and é pr"#, 13),
        ("a eq 1.2.3", 5),
        (r#"a eq "unterminated"#, 5),
    ];
    for (input, at) in table {
        let message = parse_filter(input).unwrap_err().to_string();
        assert!(message.contains(&format!("at {at}")), "{input:?}: {message}");
    }
    let m = parse_filter("userName bjensen").unwrap_err().to_string();
    assert!(m.contains("comparison operator"), "{m}");
    let m = parse_filter(r#"userName eq "x" garbage"#).unwrap_err().to_string();
    assert!(m.contains("\"garbage\""), "{m}");
}

// ------------------------------------------------------------ limits

fn nested(n: usize) -> String {
    format!("{}a pr{}", "(".repeat(n), ")".repeat(n))
}
fn nots(n: usize) -> String {
    format!("{}a pr{}", "not (".repeat(n), ")".repeat(n))
}
fn terms(n: usize, joiner: &str) -> String {
    vec!["a pr"; n].join(joiner)
}

#[test]
fn length_limit_counts_bytes() {
    let max = DEFAULT_LIMITS.max_len;
    assert_eq!(max, 4096);
    let padded = |len: usize| {
        let prefix = "a eq \"";
        let s = format!("{prefix}{}\"", "x".repeat(len - prefix.len() - 1));
        assert_eq!(s.len(), len);
        s
    };
    assert!(parse_filter(&padded(max)).is_ok());
    let e = parse_filter(&padded(max + 1)).unwrap_err().to_string();
    assert!(e.contains("longer than the limit"), "{e}");
    // 3,000 characters but 6,000 bytes: over the limit.
    let wide = format!("a eq \"{}\"", "é".repeat(3000));
    assert!(wide.chars().count() < max && wide.len() > max);
    assert!(parse_filter(&wide).is_err());
    // Whitespace counts too.
    assert!(parse_filter(&format!("a pr{}", " ".repeat(max))).is_err());
    // The same limit guards PATCH paths and attribute paths.
    assert!(parse_path(&format!("a{}", "b".repeat(max))).is_err());
    assert!(parse_attr_path(&format!("a{}", "b".repeat(max))).is_err());
    assert!(parse_attr_path(&format!("a{}", "b".repeat(max - 1))).is_ok());
}

#[test]
fn depth_limit() {
    let max = DEFAULT_LIMITS.max_depth;
    assert_eq!(max, 16);
    assert_eq!(parse_filter(&nested(max)), Ok(Filter::Present(p("a"))));
    let e = parse_filter(&nested(max + 1)).unwrap_err().to_string();
    assert!(e.contains("nesting deeper than 16"), "{e}");
    // `not (` costs two levels.
    assert!(parse_filter(&nots(max / 2)).is_ok());
    assert!(parse_filter(&nots(max / 2 + 1)).is_err());
    // A value path's brackets cost one.
    let in_brackets = |n: usize| format!("emails[{}type pr{}]", "(".repeat(n), ")".repeat(n));
    assert!(parse_filter(&in_brackets(max - 1)).is_ok());
    assert!(parse_filter(&in_brackets(max)).is_err());
    // Depth is nesting, not the count of groups: many siblings are fine.
    let siblings = vec!["(a pr)"; 60].join(" or ");
    assert!(parse_filter(&siblings).is_ok());
    // Pathological nesting fails fast instead of overflowing the stack.
    for input in ["(".repeat(200_000), nested(1_000), nots(1_000), "not (".repeat(1_000)] {
        assert!(parse_filter(&input).is_err());
        assert!(parse_filter_with(&input, &Limits { max_len: usize::MAX, max_depth: 16, max_terms: 64 }).is_err());
    }
}

#[test]
fn term_limit() {
    let max = DEFAULT_LIMITS.max_terms;
    assert_eq!(max, 64);
    for joiner in [" and ", " or "] {
        assert!(parse_filter(&terms(max, joiner)).is_ok(), "{joiner}");
        let e = parse_filter(&terms(max + 1, joiner)).unwrap_err().to_string();
        assert!(e.contains("more than 64 filter terms"), "{e}");
    }
    // Terms inside value paths count as well.
    let inner = vec!["type pr"; max].join(" or ");
    assert!(parse_filter(&format!("emails[{inner}]")).is_ok());
    assert!(parse_filter(&format!("emails[{inner}] and a pr")).is_err());
    // Entra's trailing comparison is a term.
    let inner = vec!["type pr"; max - 1].join(" or ");
    assert!(parse_filter(&format!(r#"emails[{inner}].value eq "x""#)).is_ok());
    let inner = vec!["type pr"; max].join(" or ");
    assert!(parse_filter(&format!(r#"emails[{inner}].value eq "x""#)).is_err());
}

#[test]
fn custom_limits() {
    let tight = Limits { max_len: 20, max_depth: 1, max_terms: 2 };
    let table = [
        ("a pr", true),
        ("a pr and b pr", true),
        ("(a pr)", true),
        ("not (a pr)", false),
        ("((a pr))", false),
        ("x[a pr]", true),
        ("x[(a pr)]", false),
        ("a pr or b pr or c pr", false),
        ("abcdefghijklmnopq pr", true),
        ("abcdefghijklmnopqr pr", false),
    ];
    for (input, valid) in table {
        assert_eq!(parse_filter_with(input, &tight).is_ok(), valid, "{input}");
    }
    let zero = Limits { max_len: 0, max_depth: 0, max_terms: 0 };
    assert!(parse_filter_with("", &zero).is_err());
    assert!(parse_filter_with("a pr", &zero).is_err());
}

// ------------------------------------------------------------ robustness

#[test]
fn never_panics_on_prefixes_and_suffixes_of_valid_filters() {
    let seeds = [
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"emails[type eq "work"].value eq "ädä@example.com""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "b\"oss""#,
        r#"not (a pr) or b gt -1.5e3 and c eq null"#,
    ];
    for seed in seeds {
        let chars: Vec<char> = seed.chars().collect();
        for i in 0..=chars.len() {
            let head: String = chars[..i].iter().collect();
            let tail: String = chars[i..].iter().collect();
            for input in [head, tail] {
                if let Ok(f) = parse_filter(&input) {
                    assert_eq!(parse_filter(&f.to_string()), Ok(f), "input: {input}");
                }
                let _ = parse_path(&input);
                let _ = parse_attr_path(&input);
            }
        }
    }
}
