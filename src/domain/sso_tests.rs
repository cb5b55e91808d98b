//! Unit tests of SSO configuration, identity matching and user sessions, on an
//! in-memory database.

use super::*;
use crate::domain::groups::{self, GroupData};
use crate::domain::users::{EmailEntry, UserData};

const T: TenantId = TenantId(1);

fn db() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::db::migrate(&mut conn).unwrap();
    roles::seed(&conn, T).unwrap();
    conn
}

fn keys() -> SecretBox {
    SecretBox::new(b"test key material")
}

fn input(enabled: bool, secret: &str) -> SsoInput {
    SsoInput {
        enabled,
        issuer: "https://login.microsoftonline.com/0000-tenant/v2.0".into(),
        client_id: "client-123".into(),
        client_secret: secret.into(),
        claim: "preferred_username".into(),
    }
}

fn user(conn: &Connection, name: &str, email: &str, external_id: &str, active: Option<bool>) -> User {
    let data = UserData {
        user_name: name.into(),
        external_id: Some(external_id.into()),
        active,
        emails: vec![EmailEntry { value: email.into(), kind: Some("work".into()), primary: true, display: None }],
        ..UserData::default()
    };
    users::create(conn, T, &data).unwrap()
}

#[test]
fn issuers_must_be_https_except_on_loopback() {
    for ok in [
        "https://login.microsoftonline.com/abc/v2.0",
        "http://127.0.0.1:8080/realms/x",
        "http://localhost:3000",
        "http://[::1]:4000/oidc",
    ] {
        assert_eq!(validate_issuer(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "login.microsoftonline.com/abc/v2.0",
        "http://login.microsoftonline.com/abc/v2.0",
        "http://10.0.0.1/oidc",
        "ftp://example.com",
        "https://user:pw@login.example/",
        "https://login.example/?x=1",
        "https://login.example/#f",
    ] {
        assert!(validate_issuer(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_secret_is_needed_to_turn_sign_in_on_and_a_blank_one_keeps_the_stored() {
    let conn = db();
    let k = keys();
    assert_eq!(get(&conn, T, &k).unwrap().updated, None);
    let err = save(&conn, T, &input(true, ""), &k).unwrap_err();
    assert!(matches!(&err, Error::Invalid(m) if m.contains("client secret")), "{err}");
    assert_eq!(get(&conn, T, &k).unwrap().updated, None, "nothing saved");

    let secret = "abcDEF~123.secret_value-xyz9";
    let saved = save(&conn, T, &input(true, secret), &k).unwrap();
    assert!(saved.enabled);
    assert_eq!(saved.secret, SecretState::Stored { last4: "xyz9".into() });
    let stored: Vec<u8> = conn.query_row("SELECT client_secret_enc FROM sso_configs", [], |r| r.get(0)).unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()), "sealed, not clear");

    // Blank keeps it; the provider gets the secret in clear, in memory only.
    let mut again = input(true, "  ");
    again.claim = "email".into();
    save(&conn, T, &again, &k).unwrap();
    let p = provider(&conn, T, &k).unwrap().ready().unwrap();
    assert_eq!((p.client_secret.as_str(), p.claim), (secret, Claim::Email));
    assert!(!format!("{p:?}").contains(secret));

    // Short secrets show none of their characters.
    save(&conn, T, &input(true, "short"), &k).unwrap();
    assert_eq!(get(&conn, T, &k).unwrap().secret, SecretState::Stored { last4: String::new() });
}

#[test]
fn a_secret_sealed_under_another_key_must_be_entered_again() {
    let conn = db();
    save(&conn, T, &input(true, "first secret value 1234"), &keys()).unwrap();
    let other = SecretBox::new(b"rotated secret_key");
    assert_eq!(get(&conn, T, &other).unwrap().secret, SecretState::Unreadable);
    assert!(matches!(provider(&conn, T, &other).unwrap(), SignInWith::SecretUnreadable));
    assert!(save(&conn, T, &input(true, ""), &other).is_err());
    save(&conn, T, &input(true, "second secret value 5678"), &other).unwrap();
    assert!(provider(&conn, T, &other).unwrap().ready().is_some());
}

#[test]
fn off_means_no_provider() {
    let conn = db();
    save(&conn, T, &input(false, "a secret of enough length"), &keys()).unwrap();
    assert!(!enabled(&conn, T).unwrap());
    assert!(matches!(provider(&conn, T, &keys()).unwrap(), SignInWith::Off));
}

#[test]
fn claims_match_user_name_email_or_external_id() {
    let conn = db();
    let ada = user(&conn, "Ada@Example.com", "ada.lovelace@example.com", "oid-ada", Some(true));
    user(&conn, "bob@example.com", "shared@example.com", "oid-bob", None);
    user(&conn, "eve@example.com", "SHARED@example.com", "oid-eve", None);
    let is_ada = |m: Matched| matches!(m, Matched::User(u) if u.row_id == ada.row_id);
    assert!(is_ada(match_identity(&conn, T, Claim::PreferredUsername, "ada@example.COM").unwrap()));
    assert!(is_ada(match_identity(&conn, T, Claim::Email, "Ada.Lovelace@example.com").unwrap()));
    assert!(is_ada(match_identity(&conn, T, Claim::Oid, "oid-ada").unwrap()));
    assert_eq!(match_identity(&conn, T, Claim::Oid, "OID-ADA").unwrap(), Matched::Unknown, "externalId is exact");
    assert_eq!(match_identity(&conn, T, Claim::Email, "shared@example.com").unwrap(), Matched::Ambiguous);
    assert_eq!(match_identity(&conn, T, Claim::PreferredUsername, " ").unwrap(), Matched::Unknown);
    assert_eq!(match_identity(&conn, TenantId(2), Claim::Oid, "oid-ada").unwrap(), Matched::Unknown);
}

#[test]
fn sign_in_refuses_unknown_and_suspended_users_and_records_every_attempt() {
    let conn = db();
    user(&conn, "gone@example.com", "gone@example.com", "x", Some(false));
    for (value, why) in
        [(None, "did not send"), (Some("nobody@example.com"), "No user"), (Some("gone@example.com"), "suspended")]
    {
        match sign_in(&conn, T, Claim::PreferredUsername, value).unwrap() {
            SignIn::Refused { reason } => assert!(reason.contains(why), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    let events = sign_in_events::recent(&conn, T, 10).unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.outcome == "refused" && e.method == "sso"));
    assert_eq!(events[0].identity, "gone@example.com");
    assert_eq!(conn.query_row("SELECT COUNT(*) FROM user_sessions", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
}

#[test]
fn a_session_reflects_the_users_current_role_and_status() {
    let conn = db();
    let ada = user(&conn, "ada@example.com", "ada@example.com", "oid-ada", Some(true));
    let admins = groups::create(&conn, T, &GroupData { display_name: "Admins".into(), external_id: None }).unwrap();
    groups::add_members(&conn, T, &admins, std::slice::from_ref(&ada.id)).unwrap();
    let sysadmin = roles::find_by_name(&conn, T, "System Administrator").unwrap().unwrap();
    access::assign_role(&conn, T, &admins, Some(sysadmin.id)).unwrap();

    let SignIn::Started { secret, manages_settings, .. } =
        sign_in(&conn, T, Claim::PreferredUsername, Some("ADA@example.com")).unwrap()
    else {
        panic!("not signed in")
    };
    assert!(manages_settings);
    let live = |conn: &Connection| match find_session(conn, &secret).unwrap() {
        SessionLookup::Live(s) => s,
        other => panic!("{other:?}"),
    };
    let s = live(&conn);
    assert_eq!((s.tenant.slug.as_str(), s.user.row_id), ("default", ada.row_id));
    assert!(s.access.has_permission(roles::MANAGE_SYSTEM_SETTINGS));

    // The group loses its role: the same session, no longer an administrator.
    access::assign_role(&conn, T, &admins, None).unwrap();
    let s = live(&conn);
    assert!(!s.access.has_permission(roles::MANAGE_SYSTEM_SETTINGS));
    assert_eq!(s.access.role.as_ref().unwrap().role.name, roles::DEFAULT_ROLE);

    // Suspended: the lookup shows it; ending the user's sessions removes it.
    conn.execute("UPDATE users SET active = 0 WHERE id = ?1", [ada.row_id]).unwrap();
    assert!(live(&conn).access.suspended);
    assert_eq!(end_sessions_of(&conn, ada.row_id).unwrap(), 1);
    assert_eq!(find_session(&conn, &secret).unwrap(), SessionLookup::Missing);
    assert!(start_session(&conn, T, &users::find_by_row(&conn, T, ada.row_id).unwrap().unwrap()).is_err());

    // Deleted: the session goes with the user.
    conn.execute("UPDATE users SET active = 1 WHERE id = ?1", [ada.row_id]).unwrap();
    let secret = start_session(&conn, T, &ada).unwrap();
    users::delete(&conn, T, &ada.id, None).unwrap();
    assert_eq!(find_session(&conn, &secret).unwrap(), SessionLookup::Missing);
}

#[test]
fn sessions_expire_and_end() {
    let conn = db();
    let ada = user(&conn, "ada@example.com", "ada@example.com", "oid-ada", None);
    let secret = start_session(&conn, T, &ada).unwrap();
    conn.execute("UPDATE user_sessions SET expires = '2000-01-01T00:00:00.000Z'", []).unwrap();
    assert_eq!(find_session(&conn, &secret).unwrap(), SessionLookup::Expired);
    let secret = start_session(&conn, T, &ada).unwrap();
    assert_eq!(
        conn.query_row("SELECT COUNT(*) FROM user_sessions", [], |r| r.get::<_, i64>(0)).unwrap(),
        1,
        "the expired one was cleaned up"
    );
    end_session(&conn, &secret).unwrap();
    assert_eq!(find_session(&conn, &secret).unwrap(), SessionLookup::Missing);
    assert_eq!(find_session(&conn, "forged").unwrap(), SessionLookup::Missing);
}
