//! The OpenID Connect relying party: discovery and signing keys (cached per
//! issuer), the authorization request (code flow, PKCE S256, state, nonce),
//! and the code exchange with ID-token verification. Built on the
//! `openidconnect` crate; nothing here knows about tenants, users or HTTP
//! routes, and every call blocks (run it on a blocking thread).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::http::{self, header::CONTENT_TYPE, Method};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IdTokenFields,
    IdTokenVerifier, IssuerUrl, JsonWebKeySet, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, SyncHttpClient, TokenResponse,
};
use serde::{Deserialize, Serialize};

/// How long a provider's discovery document and signing keys are reused.
pub const CACHE_TTL: Duration = Duration::from_secs(60 * 60);
/// How long a failed discovery is answered from memory: while a provider is
/// down, sign-in attempts must not each hold a blocking thread for [`TIMEOUT`].
pub const FAILURE_TTL: Duration = Duration::from_secs(30);
/// The longest wait for the provider on one request.
const TIMEOUT: Duration = Duration::from_secs(15);
/// The largest response read from the provider.
const MAX_BODY: u64 = 1024 * 1024;

/// The claims Microsoft Entra ID adds to an ID token that OpenID Connect does
/// not define: the user's object id and the directory (tenant) id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}
impl AdditionalClaims for EntraClaims {}

/// ID-token fields and token response carrying [`EntraClaims`].
pub type EntraIdTokenFields = IdTokenFields<
    EntraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type EntraTokenResponse = StandardTokenResponse<EntraIdTokenFields, CoreTokenType>;

/// A client made from discovery metadata: authorization endpoint set, token endpoint maybe.
type EntraClient = Client<
    EntraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    EntraTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the relying party needs to know about one registration at a provider.
#[derive(Clone)]
pub struct Registration {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider sends the browser back: `…/sso/callback`.
    pub redirect_url: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

/// An authorization request to send the browser to, and the secrets the
/// callback must present again (kept by the caller, never sent to the provider
/// except the verifier at the code exchange).
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The verified identity from an ID token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub oid: Option<String>,
    pub tid: Option<String>,
}

/// Why a provider interaction failed. Messages name the step and the
/// provider's reason; they never contain a code, token or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or its discovery document or keys are unusable.
    #[error("the identity provider's configuration could not be read: {0}")]
    Discovery(String),
    /// A URL of the registration is malformed.
    #[error("{0}")]
    Config(String),
    /// The provider refused the authorization code, or the exchange failed.
    #[error("the identity provider did not accept the sign-in: {0}")]
    Exchange(String),
    /// The token response or its ID token did not pass verification.
    #[error("the ID token could not be verified: {0}")]
    IdToken(String),
}

/// The relying party, with its cache of provider metadata (keyed by issuer).
pub struct Oidc {
    http: Http,
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    outcome: Result<CoreProviderMetadata, OidcError>,
    fetched: Instant,
}

impl Cached {
    fn fresh(&self) -> bool {
        let ttl = if self.outcome.is_ok() { CACHE_TTL } else { FAILURE_TTL };
        self.fetched.elapsed() < ttl
    }
}

impl Default for Oidc {
    fn default() -> Self {
        Oidc::new()
    }
}

impl Oidc {
    pub fn new() -> Oidc {
        // Following redirects would let a provider's answer point the server at
        // any internal address (SSRF): the openidconnect crate asks for none.
        let agent = openidconnect::ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(TIMEOUT)
            .user_agent(concat!("scim-portal/", env!("CARGO_PKG_VERSION")))
            .build();
        Oidc { http: Http(agent), cache: Mutex::new(HashMap::new()) }
    }

    /// The provider's metadata and signing keys: unless `fresh`, from the
    /// cache when fetched less than [`CACHE_TTL`] ago (a failure: less than
    /// [`FAILURE_TTL`] ago), else fetched now.
    pub fn discover(&self, issuer: &str, fresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !fresh {
            let cached =
                self.cache.lock().ok().and_then(|c| c.get(issuer).filter(|c| c.fresh()).map(|c| c.outcome.clone()));
            if let Some(outcome) = cached {
                return outcome;
            }
        }
        let url = IssuerUrl::new(issuer.to_string()).map_err(|e| OidcError::Config(format!("invalid issuer: {e}")))?;
        let outcome = CoreProviderMetadata::discover(&url, &self.http)
            .map_err(|e| OidcError::Discovery(format!("{issuer}: {}", chain(&e))));
        self.remember(issuer, outcome.clone());
        outcome
    }

    fn remember(&self, issuer: &str, outcome: Result<CoreProviderMetadata, OidcError>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(issuer.to_string(), Cached { outcome, fetched: Instant::now() });
        }
    }

    fn client(&self, reg: &Registration, metadata: CoreProviderMetadata) -> Result<EntraClient, OidcError> {
        let redirect = RedirectUrl::new(reg.redirect_url.clone())
            .map_err(|e| OidcError::Config(format!("invalid redirect URL: {e}")))?;
        Ok(EntraClient::from_provider_metadata(
            metadata,
            ClientId::new(reg.client_id.clone()),
            Some(ClientSecret::new(reg.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// A new authorization request: code flow, scopes `openid profile email`,
    /// PKCE S256, random state and nonce.
    pub fn authorization(&self, reg: &Registration) -> Result<AuthorizationRequest, OidcError> {
        let client = self.client(reg, self.discover(&reg.issuer, false)?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(AuthorizationRequest {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` (with the PKCE verifier) for tokens and verifies the
    /// ID token: signature against the provider's keys, issuer, audience,
    /// expiry and nonce. A token signed with a key id not in the cached key
    /// set makes the keys be fetched again once (the provider rotated them).
    pub fn sign_in(
        &self,
        reg: &Registration,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, OidcError> {
        let mut metadata = self.discover(&reg.issuer, false)?;
        let client = self.client(reg, metadata.clone())?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Discovery(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request(&self.http)
            .map_err(|e| OidcError::Exchange(chain(&e)))?;
        let id_token =
            response.id_token().ok_or_else(|| OidcError::IdToken("the token response carries no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match id_token.claims(&verifier(reg, &metadata), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                let keys = JsonWebKeySet::fetch(metadata.jwks_uri(), &self.http)
                    .map_err(|e| OidcError::Discovery(format!("signing keys: {}", chain(&e))))?;
                metadata = metadata.set_jwks(keys);
                self.remember(&reg.issuer, Ok(metadata.clone()));
                id_token.claims(&verifier(reg, &metadata), &nonce)
            }
            other => other,
        }
        .map_err(|e| OidcError::IdToken(chain(&e)))?;
        Ok(Identity {
            subject: claims.subject().to_string(),
            preferred_username: claims.preferred_username().map(|u| u.to_string()),
            email: claims.email().map(|e| e.to_string()),
            oid: claims.additional_claims().oid.clone(),
            tid: claims.additional_claims().tid.clone(),
        })
    }
}

/// Verifies ID tokens of `reg`'s client: RS256 signatures by `metadata`'s
/// keys, `iss` equal to the issuer, `aud` containing the client id and no
/// untrusted audience, `exp` in the future.
fn verifier<'a>(reg: &Registration, metadata: &CoreProviderMetadata) -> IdTokenVerifier<'a, CoreJsonWebKey> {
    let keys: CoreJsonWebKeySet = metadata.jwks().clone();
    IdTokenVerifier::new_confidential_client(
        ClientId::new(reg.client_id.clone()),
        ClientSecret::new(reg.client_secret.clone()),
        metadata.issuer().clone(),
        keys,
    )
}

/// An error and its sources, joined: the crate's top-level messages alone
/// ("Request failed") do not say what went wrong.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// HTTP for the crate, over ureq (rustls). Unlike the crate's own adapter it
/// hands 4xx/5xx answers back as responses, so a provider's OAuth error
/// (`invalid_grant`, …) reaches the message instead of a bare status, and it
/// reads at most [`MAX_BODY`] bytes.
struct Http(openidconnect::ureq::Agent);

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{0}")]
    Transport(String),
    #[error("the response is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("reading the response failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Http(#[from] http::Error),
}

impl SyncHttpClient for Http {
    type Error = HttpError;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut req = self.0.request(request.method().as_str(), &request.uri().to_string());
        for (name, value) in request.headers() {
            let value = value.to_str().map_err(|_| HttpError::Transport(format!("invalid {name} header")))?;
            req = req.set(name.as_str(), value);
        }
        let sent = if request.method() == Method::POST { req.send_bytes(request.body()) } else { req.call() };
        let response = match sent {
            Ok(r) | Err(openidconnect::ureq::Error::Status(_, r)) => r,
            Err(openidconnect::ureq::Error::Transport(t)) => return Err(HttpError::Transport(t.to_string())),
        };
        let mut builder = http::Response::builder().status(response.status());
        if let Some(content_type) = response.header(CONTENT_TYPE.as_str()) {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        let mut body = Vec::new();
        response.into_reader().take(MAX_BODY + 1).read_to_end(&mut body)?;
        if body.len() as u64 > MAX_BODY {
            return Err(HttpError::TooLarge);
        }
        Ok(builder.body(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_issuer_is_a_discovery_error_naming_it() {
        let oidc = Oidc::new();
        // Port 9 on loopback (discard) is closed on test machines: connection refused at once.
        let err = oidc.discover("http://127.0.0.1:9/tenant/v2.0", true).unwrap_err();
        assert!(matches!(&err, OidcError::Discovery(m) if m.contains("127.0.0.1:9")), "{err}");
    }

    #[test]
    fn a_failed_discovery_is_remembered_briefly_unless_asked_fresh() {
        let oidc = Oidc::new();
        let issuer = "http://127.0.0.1:9/remembered";
        let first = oidc.discover(issuer, true).unwrap_err();
        assert!(oidc.cache.lock().unwrap().get(issuer).is_some_and(Cached::fresh), "remembered");
        assert_eq!(oidc.discover(issuer, false).unwrap_err(), first);
        oidc.cache.lock().unwrap().get_mut(issuer).unwrap().fetched -= FAILURE_TTL;
        assert!(!oidc.cache.lock().unwrap().get(issuer).is_some_and(Cached::fresh), "for 30 seconds");
    }

    #[test]
    fn registration_debug_hides_the_secret() {
        let reg = Registration {
            issuer: "https://login.example/v2.0".into(),
            client_id: "client".into(),
            client_secret: "very-secret".into(),
            redirect_url: "https://portal.example/admin/default/sso/callback".into(),
        };
        assert!(!format!("{reg:?}").contains("very-secret"));
    }
}
