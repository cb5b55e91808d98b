//! The access model's rules, table-driven, on a real database.

use scim_portal::db::{Db, Durability};
use scim_portal::domain::access::{self, RoleSource};
use scim_portal::domain::applications::{self, ApplicationInput};
use scim_portal::domain::groups::{self, Group, GroupData};
use scim_portal::domain::roles::{self, RoleInput, DEFAULT_ROLE, PREDEFINED};
use scim_portal::domain::users::{self, User, UserData};
use scim_portal::domain::{tenants, Error, TenantId};

struct World {
    _dir: tempfile::TempDir,
    db: Db,
    tenant: TenantId,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("a.db"), Durability::Normal).unwrap();
    let tenant = db.write(|tx| tenants::create(tx, "acme", "Acme")).unwrap().id;
    World { _dir: dir, db, tenant }
}

impl World {
    fn user(&self, name: &str, active: Option<bool>) -> User {
        let data = UserData { user_name: name.into(), active, ..Default::default() };
        self.db.write(|tx| users::create(tx, self.tenant, &data)).unwrap()
    }
    fn group(&self, name: &str, members: &[&User]) -> Group {
        let data = GroupData { display_name: name.into(), external_id: None };
        let ids: Vec<String> = members.iter().map(|u| u.id.clone()).collect();
        self.db
            .write(|tx| {
                let g = groups::create(tx, self.tenant, &data)?;
                groups::add_members(tx, self.tenant, &g, &ids)?;
                Ok::<_, Error>(g)
            })
            .unwrap()
    }
    fn role_id(&self, name: &str) -> i64 {
        self.db.read(|tx| roles::find_by_name(tx, self.tenant, name)).unwrap().unwrap().id
    }
    fn assign(&self, group: &Group, role: Option<&str>) {
        let id = role.map(|r| self.role_id(r));
        self.db.write(|tx| access::assign_role(tx, self.tenant, group, id)).unwrap()
    }
    fn app(&self, name: &str) -> i64 {
        let input = ApplicationInput { name: name.into(), ..Default::default() };
        self.db.write(|tx| applications::create(tx, self.tenant, &input)).unwrap().id
    }
    fn grant_apps(&self, group: &Group, apps: &[i64]) {
        self.db.write(|tx| access::set_applications(tx, self.tenant, group, apps)).unwrap()
    }
    fn access(&self, user: &User) -> access::Access {
        let fresh = self.db.read(|tx| users::get(tx, self.tenant, &user.id)).unwrap();
        self.db.read(|tx| access::effective(tx, self.tenant, &fresh)).unwrap()
    }
    fn role_of(&self, user: &User) -> (String, Option<String>) {
        let a = self.access(user);
        let r = a.role.expect("not suspended");
        let via = match r.source {
            RoleSource::Group { group_name, .. } => Some(group_name),
            RoleSource::Default => None,
        };
        (r.role.name, via)
    }
}

#[test]
fn predefined_roles_are_seeded_with_fixed_permissions() {
    let w = world();
    let all = w.db.read(|tx| roles::list(tx, w.tenant)).unwrap();
    assert_eq!(all.len(), PREDEFINED.len());
    for (name, _, perms) in PREDEFINED {
        let role = all.iter().find(|r| r.name == *name).unwrap_or_else(|| panic!("{name} seeded"));
        assert!(role.predefined);
        let mut want: Vec<&str> = perms.to_vec();
        let mut got: Vec<&str> = role.permissions.iter().map(String::as_str).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{name}");
    }
    // Seeding again (every start does) adds nothing.
    w.db.write(|tx| roles::seed_all(tx)).unwrap();
    assert_eq!(w.db.read(|tx| roles::list(tx, w.tenant)).unwrap().len(), PREDEFINED.len());
}

/// Each case: role assignments in order (group index, role), the user's groups,
/// and the expected (role, granting group).
#[test]
fn most_recent_role_assignment_wins() {
    type Case =
        (&'static str, &'static [(usize, Option<&'static str>)], &'static [usize], &'static str, Option<&'static str>);
    let cases: &[Case] = &[
        ("no groups", &[], &[], DEFAULT_ROLE, None),
        ("groups without roles", &[], &[0, 1], DEFAULT_ROLE, None),
        ("one role", &[(0, Some("Publisher"))], &[0], "Publisher", Some("g0")),
        ("role of a group the user is not in", &[(2, Some("Publisher"))], &[0], DEFAULT_ROLE, None),
        (
            "later assignment wins",
            &[(0, Some("Publisher")), (1, Some("Translator"))],
            &[0, 1],
            "Translator",
            Some("g1"),
        ),
        (
            "order of assignment, not of group",
            &[(1, Some("Translator")), (0, Some("Publisher"))],
            &[0, 1],
            "Publisher",
            Some("g0"),
        ),
        (
            "reassigning an earlier group makes it most recent",
            &[(0, Some("Publisher")), (1, Some("Translator")), (0, Some("Scheduler"))],
            &[0, 1],
            "Scheduler",
            Some("g0"),
        ),
        (
            "re-saving the same role does not reorder",
            &[(0, Some("Publisher")), (1, Some("Translator")), (0, Some("Publisher"))],
            &[0, 1],
            "Translator",
            Some("g1"),
        ),
        (
            "removing the winning role falls back to the next",
            &[(0, Some("Publisher")), (1, Some("Translator")), (1, None)],
            &[0, 1],
            "Publisher",
            Some("g0"),
        ),
        ("removing the only role gives the default", &[(0, Some("Publisher")), (0, None)], &[0], DEFAULT_ROLE, None),
    ];
    for (name, assignments, member_of, want_role, want_group) in cases {
        let w = world();
        let u = w.user("u@x", Some(true));
        let groups: Vec<Group> = (0..3)
            .map(|i| {
                let members: Vec<&User> = if member_of.contains(&i) { vec![&u] } else { vec![] };
                w.group(&format!("g{i}"), &members)
            })
            .collect();
        for (g, role) in *assignments {
            w.assign(&groups[*g], *role);
        }
        let (role, via) = w.role_of(&u);
        assert_eq!(role, *want_role, "{name}");
        assert_eq!(via.as_deref(), *want_group, "{name}");
    }
}

#[test]
fn role_provenance_counts_the_other_role_bearing_groups() {
    let w = world();
    let u = w.user("u@x", None);
    let (a, b, c) = (w.group("a", &[&u]), w.group("b", &[&u]), w.group("c", &[&u]));
    w.assign(&a, Some("Publisher"));
    w.assign(&b, Some("Customizer"));
    let _ = c;
    let role = w.access(&u).role.unwrap();
    match role.source {
        RoleSource::Group { group_name, other_groups, .. } => {
            assert_eq!(group_name, "b");
            assert_eq!(other_groups, 1);
        }
        RoleSource::Default => panic!("expected a group role"),
    }
    assert!(role.role.permissions.contains(&"branding.customize".to_string()));
}

#[test]
fn reprovisioning_the_same_memberships_does_not_change_the_role() {
    let w = world();
    let u = w.user("u@x", Some(true));
    let (a, b) = (w.group("a", &[&u]), w.group("b", &[&u]));
    w.assign(&a, Some("Publisher"));
    w.assign(&b, Some("Translator"));
    assert_eq!(w.role_of(&u).0, "Translator");
    // Entra removes and re-adds memberships, in any order, and re-sends adds of existing members.
    for group in [&b, &a, &b] {
        w.db.write(|tx| {
            groups::remove_members(tx, w.tenant, group, std::slice::from_ref(&u.id))?;
            groups::add_members(tx, w.tenant, group, std::slice::from_ref(&u.id))?;
            groups::add_members(tx, w.tenant, group, std::slice::from_ref(&u.id))
        })
        .unwrap();
        assert_eq!(w.role_of(&u), ("Translator".to_string(), Some("b".to_string())));
    }
}

#[test]
fn suspended_users_have_no_access() {
    let w = world();
    let u = w.user("s@x", Some(false));
    let g = w.group("g", &[&u]);
    w.assign(&g, Some("System Administrator"));
    let app = w.app("Wiki");
    w.grant_apps(&g, &[app]);
    let a = w.access(&u);
    assert!(a.suspended);
    assert!(a.role.is_none());
    assert!(a.applications.is_empty());
    // Reactivated: access returns.
    let data = UserData { user_name: "s@x".into(), active: Some(true), ..Default::default() };
    w.db.write(|tx| users::replace(tx, w.tenant, &u.id, &data, None)).unwrap();
    assert_eq!(w.role_of(&u).0, "System Administrator");
}

#[test]
fn applications_are_the_union_over_groups_with_provenance() {
    let w = world();
    let u = w.user("u@x", None);
    let other = w.user("o@x", None);
    let (a, b, c) = (w.group("a", &[&u]), w.group("b", &[&u]), w.group("c", &[&other]));
    let (wiki, crm, hr) = (w.app("Wiki"), w.app("CRM"), w.app("HR"));
    w.grant_apps(&a, &[wiki, crm]);
    w.grant_apps(&b, &[crm]);
    w.grant_apps(&c, &[hr]);
    let got: Vec<(String, Vec<String>)> =
        w.access(&u).applications.into_iter().map(|g| (g.application.name, g.via_groups)).collect();
    assert_eq!(
        got,
        vec![("CRM".to_string(), vec!["a".to_string(), "b".to_string()]), ("Wiki".to_string(), vec!["a".to_string()])]
    );
}

#[test]
fn deleting_an_application_removes_it_from_every_group() {
    let w = world();
    let u = w.user("u@x", None);
    let (a, b) = (w.group("a", &[&u]), w.group("b", &[&u]));
    let wiki = w.app("Wiki");
    w.grant_apps(&a, &[wiki]);
    w.grant_apps(&b, &[wiki]);
    w.db.write(|tx| applications::delete(tx, w.tenant, wiki)).unwrap();
    assert!(w.access(&u).applications.is_empty());
    let grant = w.db.read(|tx| access::group_grant(tx, w.tenant, &a)).unwrap();
    assert!(grant.applications.is_empty());
}

#[test]
fn role_deletion_rules() {
    let w = world();
    // Predefined roles cannot be deleted or edited.
    let publisher = w.role_id("Publisher");
    let err = w.db.write(|tx| roles::delete(tx, w.tenant, publisher)).unwrap_err();
    assert!(matches!(err, Error::Invalid(m) if m.contains("predefined")));
    // A custom role still assigned names the groups.
    let input =
        RoleInput { name: "Auditor".into(), description: "Reads".into(), permissions: vec!["dashboards.view".into()] };
    let auditor = w.db.write(|tx| roles::create(tx, w.tenant, &input)).unwrap();
    let g = w.group("Finance", &[]);
    w.assign(&g, Some("Auditor"));
    let err = w.db.write(|tx| roles::delete(tx, w.tenant, auditor.id)).unwrap_err();
    assert!(matches!(&err, Error::Conflict(m) if m.contains("Finance")), "{err}");
    // Unassigned, it can go.
    w.assign(&g, None);
    w.db.write(|tx| roles::delete(tx, w.tenant, auditor.id)).unwrap();
    assert!(w.db.read(|tx| roles::find_by_name(tx, w.tenant, "auditor")).unwrap().is_none());
}

#[test]
fn custom_role_validation() {
    let w = world();
    let cases: &[(RoleInput, &str)] = &[
        (RoleInput { name: " ".into(), ..Default::default() }, "name"),
        (RoleInput { name: "X".into(), permissions: vec!["root".into()], ..Default::default() }, "unknown permission"),
        (RoleInput { name: "publisher".into(), ..Default::default() }, "already exists"),
    ];
    for (input, want) in cases {
        let err = w.db.write(|tx| roles::create(tx, w.tenant, input)).unwrap_err();
        assert!(err.to_string().contains(want), "{err} should mention {want}");
    }
}

#[test]
fn grants_are_tenant_scoped() {
    let w = world();
    let other = w.db.write(|tx| tenants::create(tx, "other", "Other")).unwrap().id;
    let g = w.group("g", &[]);
    let foreign_role = w.db.read(|tx| roles::find_by_name(tx, other, "Publisher")).unwrap().unwrap().id;
    let err = w.db.write(|tx| access::assign_role(tx, w.tenant, &g, Some(foreign_role))).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    let foreign_app = w
        .db
        .write(|tx| applications::create(tx, other, &ApplicationInput { name: "Theirs".into(), ..Default::default() }))
        .unwrap()
        .id;
    let err = w.db.write(|tx| access::set_applications(tx, w.tenant, &g, &[foreign_app])).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
}
