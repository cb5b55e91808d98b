//! The SCIM schemas this server implements (RFC 7643 §4, §8.7), as data.
//!
//! One definition drives everything that depends on it: `/Schemas`, input
//! validation, filter and PATCH path resolution, case sensitivity and
//! attribute projection.

use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Sent by Microsoft Entra ID when it creates a group; accepted and ignored.
pub const MS_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attribute],
    pub description: &'static str,
}

const fn attr(name: &'static str, kind: Type, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical: &[],
        reference_types: &[],
        sub: &[],
        description,
    }
}

const fn string(name: &'static str, description: &'static str) -> Attribute {
    attr(name, Type::String, description)
}

impl Attribute {
    const fn required(self) -> Self {
        Attribute { required: true, ..self }
    }
    const fn exact(self) -> Self {
        Attribute { case_exact: true, ..self }
    }
    const fn multi(self) -> Self {
        Attribute { multi: true, ..self }
    }
    const fn read_only(self) -> Self {
        Attribute { mutability: Mutability::ReadOnly, ..self }
    }
    const fn immutable(self) -> Self {
        Attribute { mutability: Mutability::Immutable, ..self }
    }
    const fn unique(self) -> Self {
        Attribute { uniqueness: Uniqueness::Server, ..self }
    }
    const fn canonical(self, canonical: &'static [&'static str]) -> Self {
        Attribute { canonical, ..self }
    }
    const fn refs(self, reference_types: &'static [&'static str]) -> Self {
        Attribute { reference_types, ..self }
    }
    const fn sub(self, sub: &'static [Attribute]) -> Self {
        Attribute { sub, ..self }
    }

    /// The sub-attribute `name` (case-insensitive).
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub, name)
    }

    /// True for a multi-valued complex attribute (emails, members, …).
    pub fn is_multi_complex(&self) -> bool {
        self.multi && self.kind == Type::Complex
    }
}

/// A schema: its URN, name and attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

/// The attribute `name` of `attrs`; attribute names are case-insensitive (RFC 7643 §2.1).
pub fn find(attrs: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

macro_rules! common_subs {
    ($value:expr, $types:expr) => {
        &[
            $value,
            string("display", "A human-readable name, primarily used for display purposes."),
            string("type", "A label indicating the attribute's function.").canonical($types),
            attr("primary", Type::Boolean, "Indicates the preferred value for this attribute."),
        ]
    };
}

const EXTERNAL_ID: Attribute =
    string("externalId", "An identifier for the resource as defined by the provisioning client.").exact();

const NAME_SUBS: &[Attribute] = &[
    string("formatted", "The full name, formatted for display."),
    string("familyName", "The family name of the User."),
    string("givenName", "The given name of the User."),
    string("middleName", "The middle name(s) of the User."),
    string("honorificPrefix", "The honorific prefix(es) of the User."),
    string("honorificSuffix", "The honorific suffix(es) of the User."),
];

const ADDRESS_SUBS: &[Attribute] = &[
    string("formatted", "The full mailing address, formatted for display."),
    string("streetAddress", "The full street address component."),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    string("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
    attr("primary", Type::Boolean, "Indicates the preferred mailing address."),
];

const USER_ATTRIBUTES: &[Attribute] = &[
    string("userName", "Unique identifier for the User, typically used to sign in.").required().unique(),
    attr("name", Type::Complex, "The components of the user's real name.").sub(NAME_SUBS),
    string("displayName", "The name of the User, suitable for display to end-users."),
    string("nickName", "The casual way to address the user."),
    attr("profileUrl", Type::Reference, "A URI that is a uniform resource locator to the User's online profile.")
        .refs(&["external"]),
    string("title", "The user's title, such as \"Vice President\"."),
    string("userType", "Used to identify the relationship between the organization and the user."),
    string("preferredLanguage", "The User's preferred written or spoken language (RFC 7231)."),
    string("locale", "The User's default location for localizing currency, dates and numbers."),
    string("timezone", "The User's time zone in IANA Time Zone database format."),
    attr("active", Type::Boolean, "The User's administrative status; false means suspended."),
    attr("emails", Type::Complex, "Email addresses for the user.")
        .multi()
        .sub(common_subs!(string("value", "Email address for the User."), &["work", "home", "other"])),
    attr("phoneNumbers", Type::Complex, "Phone numbers for the User.").multi().sub(common_subs!(
        string("value", "Phone number of the User."),
        &["work", "home", "mobile", "fax", "pager", "other"]
    )),
    attr("ims", Type::Complex, "Instant messaging addresses for the User.").multi().sub(common_subs!(
        string("value", "Instant messaging address for the User."),
        &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
    )),
    attr("photos", Type::Complex, "URLs of photos of the User.").multi().sub(common_subs!(
        attr("value", Type::Reference, "URL of a photo of the User.").refs(&["external"]),
        &["photo", "thumbnail"]
    )),
    attr("addresses", Type::Complex, "A physical mailing address for this User.").multi().sub(ADDRESS_SUBS),
    attr("groups", Type::Complex, "The groups the user belongs to, as provisioned to this server.")
        .multi()
        .read_only()
        .sub(&[
            string("value", "The identifier of the User's group.").read_only(),
            attr("$ref", Type::Reference, "The URI of the corresponding Group resource.").refs(&["Group"]).read_only(),
            string("display", "The group's displayName.").read_only(),
            string("type", "How the membership came about.").canonical(&["direct", "indirect"]).read_only(),
        ]),
    attr("entitlements", Type::Complex, "A list of entitlements for the User.")
        .multi()
        .sub(common_subs!(string("value", "The value of an entitlement."), &[])),
    attr("roles", Type::Complex, "A list of roles for the User.")
        .multi()
        .sub(common_subs!(string("value", "The value of a role."), &[])),
    attr("x509Certificates", Type::Complex, "A list of certificates issued to the User.")
        .multi()
        .sub(common_subs!(attr("value", Type::Binary, "The value of an X.509 certificate.").exact(), &[])),
    EXTERNAL_ID,
];

const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    attr("manager", Type::Complex, "The User's manager.").sub(&[
        string("value", "The id of the SCIM resource representing the User's manager.").exact(),
        attr("$ref", Type::Reference, "The URI of the SCIM resource representing the User's manager.").refs(&["User"]),
        string("displayName", "The displayName of the User's manager.").read_only(),
    ]),
];

const GROUP_ATTRIBUTES: &[Attribute] = &[
    string("displayName", "A human-readable name for the Group; unique in this tenant.").required().unique(),
    attr("members", Type::Complex, "A list of members of the Group (users).").multi().sub(&[
        string("value", "Identifier of the member of this Group.").exact().immutable(),
        attr("$ref", Type::Reference, "The URI of the member resource.").refs(&["User"]).immutable(),
        string("type", "The type of the member.").canonical(&["User"]).immutable(),
    ]),
    EXTERNAL_ID,
];

pub static USER_SCHEMA: Schema =
    Schema { id: USER, name: "User", description: "User Account", attributes: USER_ATTRIBUTES };

pub static ENTERPRISE_SCHEMA: Schema = Schema {
    id: ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRIBUTES,
};

pub static GROUP_SCHEMA: Schema =
    Schema { id: GROUP, name: "Group", description: "Group", attributes: GROUP_ATTRIBUTES };

/// Every schema, in the order `/Schemas` lists them.
pub static ALL: [&Schema; 3] = [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA];

/// The schema with URN `id` (case-insensitive).
pub fn by_id(id: &str) -> Option<&'static Schema> {
    ALL.iter().copied().find(|s| s.id.eq_ignore_ascii_case(id))
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::Decimal => "decimal",
        Type::Integer => "integer",
        Type::DateTime => "dateTime",
        Type::Binary => "binary",
        Type::Reference => "reference",
        Type::Complex => "complex",
    }
}

fn attribute_json(a: &Attribute) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": type_name(a.kind),
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Default => "default",
        },
        "uniqueness": match a.uniqueness {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
        },
    });
    if !a.canonical.is_empty() {
        v["canonicalValues"] = json!(a.canonical);
    }
    if a.kind == Type::Reference {
        v["referenceTypes"] = json!(a.reference_types);
    }
    if !a.sub.is_empty() {
        v["subAttributes"] = Value::Array(a.sub.iter().map(attribute_json).collect());
    }
    v
}

/// The schema as a SCIM Schema resource (RFC 7643 §7), with `meta.location` under `base`.
pub fn schema_json(schema: &Schema, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{}", schema.id),
        },
    })
}
