//! DPoP, Demonstrating Proof of Possession (RFC 9449): access and refresh tokens
//! bound to a key pair the client holds, so that a leaked token is useless
//! without the private key.
//!
//! Every request that uses or obtains a bound token carries a `DPoP` header: a
//! fresh JWT (RFC 9449 §4.2) whose header holds the public key (`typ` `dpop+jwt`,
//! `alg` ES256, `jwk`) and whose claims bind it to this one request: `jti`, `htm`
//! (the method), `htu` (the URL without query and fragment), `iat`, and at a
//! resource `ath`, the hash of the access token (§7.1). Servers may demand a
//! nonce: the authorization server answers `400 use_dpop_nonce` (§8), a resource
//! `401` with `WWW-Authenticate: DPoP error="use_dpop_nonce"` (§9), each with a
//! `DPoP-Nonce` header. [`DpopBinding`] keeps the latest nonce of each server
//! (by origin) and says when a request is worth sending again: once, and only
//! for such a challenge.
//!
//! Signing is split so that the key can live anywhere: core builds the header and
//! claims ([`UnsignedProof::signing_input`]), a signer produces an ES256
//! signature over them, and core assembles the proof ([`UnsignedProof::assemble`]).
//! The signer is core's own P-256 key ([`DpopKey::generate`], behind the cargo
//! feature `private-key-jwt` that holds core's ES256 code: on natively and in
//! Node, off in the browser package), kept with the session as a [`Secret`], or a
//! key the host holds, such as a non-extractable WebCrypto key in a browser
//! ([`DpopKey::external`]).
//!
//! On MCP resource requests the proof also carries `content_digest`, the SHA-256
//! of the body (RFC 9530 syntax), as the MCP DPoP extension asks; servers that do
//! not know the claim ignore it (RFC 9449 §4.2 allows additional claims).
//!
//! <https://www.rfc-editor.org/rfc/rfc9449>

use crate::entropy::{random_token, Entropy};
use crate::http::HttpResponse;
use crate::secret::Secret;
use crate::www_authenticate;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use url::Url;

/// The JWS algorithm of every proof this client signs: ECDSA P-256 with SHA-256.
pub const ALGORITHM: &str = "ES256";
/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The request header a proof travels in.
pub const HEADER: &str = "DPoP";
/// The response header a server sends its nonce in (RFC 9449 §8.1).
pub const NONCE_HEADER: &str = "DPoP-Nonce";
/// The `token_type` and `Authorization` scheme of a bound token (RFC 9449 §5, §7.1).
pub const TOKEN_TYPE: &str = "DPoP";
/// The error a server answers when it wants a (fresh) nonce in the proof.
pub const USE_DPOP_NONCE: &str = "use_dpop_nonce";

/// Bytes of entropy in a proof's `jti`: 128 bits, unguessable and unique.
const JTI_BYTES: usize = 16;

/// A DPoP key or proof cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// Core was asked to sign, but the private key is held by the host.
    #[error("the DPoP private key is held by the host, which must sign the proof itself")]
    KeyNotHeld,
    /// A key could not be read or used.
    #[error("the DPoP key is unusable: {0}")]
    InvalidKey(String),
    /// A signature from the host is not a 64-byte ES256 `r || s` value.
    #[error("an ES256 signature is 64 bytes (r || s), got {len}")]
    InvalidSignature {
        /// The length received.
        len: usize,
    },
    /// No randomness for a key or a `jti`.
    #[error("no randomness for DPoP: {0}")]
    Entropy(String),
}

/// A P-256 public key as a JSON Web Key (RFC 7517, RFC 7518 §6.2.1): what every
/// proof carries and what a bound token is bound to (by its thumbprint).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Always `EC`.
    pub kty: String,
    /// Always `P-256`.
    pub crv: String,
    /// The x coordinate, base64url (32 bytes).
    pub x: String,
    /// The y coordinate, base64url (32 bytes).
    pub y: String,
}

impl PublicJwk {
    /// The JWK of the P-256 point (`x`, `y`), each 32 big-endian bytes.
    pub fn p256(x: &[u8], y: &[u8]) -> Result<Self, DpopError> {
        let jwk = Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
        };
        jwk.validate()?;
        Ok(jwk)
    }

    /// Checks that this is a P-256 public key and nothing more (no private part
    /// can hide in it: the struct has no room for `d`).
    pub fn validate(&self) -> Result<(), DpopError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(DpopError::InvalidKey(format!(
                "expected an EC P-256 key, got kty {:?} crv {:?}",
                self.kty, self.crv
            )));
        }
        // 32 bytes are 43 base64url characters without padding; checked by shape
        // rather than decoded, which keeps a base64 decoder out of the browser
        // package (the point itself is checked by whoever verifies a signature).
        for (name, value) in [("x", &self.x), ("y", &self.y)] {
            let base64url = value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if value.len() != 43 || !base64url {
                return Err(DpopError::InvalidKey(format!(
                    "{name} must be 32 bytes in base64url (43 characters)"
                )));
            }
        }
        Ok(())
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), base64url: the `jkt` a bound token's
    /// `cnf` claim names (RFC 9449 §6.1).
    pub fn thumbprint(&self) -> String {
        // RFC 7638 §3.2: the required members only, in lexicographic order, no
        // whitespace. The values are base64url and the names fixed, so plain
        // formatting is exact.
        let canonical = format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            self.crv, self.kty, self.x, self.y
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// The key a connection proves possession of: the public JWK, and the private key
/// when core signs. A restored session keeps its binding because the key is kept
/// with it; the private key is a [`Secret`], so it never prints and a sealed store
/// seals it with the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopKey {
    /// The public half, sent in every proof.
    pub public_jwk: PublicJwk,
    /// The P-256 private scalar, base64url (the JWK `d` value); absent when the host
    /// holds the private key (a non-extractable WebCrypto key) and signs itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<Secret>,
}

impl DpopKey {
    /// A key the host holds and signs with; core only ever sees the public half.
    pub fn external(public_jwk: PublicJwk) -> Result<Self, DpopError> {
        public_jwk.validate()?;
        Ok(Self {
            public_jwk,
            private_key: None,
        })
    }

    /// Whether core can sign with this key (it holds the private half).
    pub fn is_held(&self) -> bool {
        self.private_key.is_some()
    }

    /// A fresh P-256 key pair from `entropy`, signed with by core.
    #[cfg(feature = "private-key-jwt")]
    pub fn generate(entropy: &mut dyn Entropy) -> Result<Self, DpopError> {
        // A uniformly random 32-byte string is a valid scalar except with
        // probability ~2^-32; draw again in that case.
        for _ in 0..16 {
            let mut scalar = [0u8; 32];
            entropy
                .fill(&mut scalar)
                .map_err(|e| DpopError::Entropy(e.0))?;
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&scalar) {
                return Self::from_signing_key(&key);
            }
        }
        Err(DpopError::Entropy(
            "the random source keeps producing invalid P-256 scalars".into(),
        ))
    }

    #[cfg(feature = "private-key-jwt")]
    fn from_signing_key(key: &p256::ecdsa::SigningKey) -> Result<Self, DpopError> {
        let point = key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(DpopError::InvalidKey(
                "the public key is the identity".into(),
            ));
        };
        Ok(Self {
            public_jwk: PublicJwk::p256(x, y)?,
            private_key: Some(Secret::new(URL_SAFE_NO_PAD.encode(key.to_bytes()))),
        })
    }

    /// Signs `proof` with the private key core holds.
    pub fn sign(&self, proof: UnsignedProof) -> Result<String, DpopError> {
        let signature = self.es256(proof.signing_input())?;
        proof.assemble(&signature)
    }

    #[cfg(feature = "private-key-jwt")]
    fn es256(&self, signing_input: &str) -> Result<Vec<u8>, DpopError> {
        use p256::ecdsa::signature::Signer as _;
        let scalar = self.private_key.as_ref().ok_or(DpopError::KeyNotHeld)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(scalar.expose())
            .map_err(|_| DpopError::InvalidKey("the private key is not base64url".into()))?;
        let key = p256::ecdsa::SigningKey::from_slice(&bytes)
            .map_err(|_| DpopError::InvalidKey("not a P-256 private key".into()))?;
        // The stored public half must be this key's, or every proof would lie.
        if Self::from_signing_key(&key)?.public_jwk != self.public_jwk {
            return Err(DpopError::InvalidKey(
                "the private key does not match the public key".into(),
            ));
        }
        let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
        Ok(signature.to_bytes().to_vec())
    }

    #[cfg(not(feature = "private-key-jwt"))]
    fn es256(&self, _signing_input: &str) -> Result<Vec<u8>, DpopError> {
        match self.private_key {
            Some(_) => Err(DpopError::InvalidKey(
                "this build has no P-256 signer (the `private-key-jwt` feature of mcp-oauth-core)"
                    .into(),
            )),
            None => Err(DpopError::KeyNotHeld),
        }
    }
}

/// Whether a `dpop_signing_alg_values_supported` list accepts the proofs this
/// client signs: an authorization server's (RFC 9449 §5.1) or a resource's
/// (RFC 9728 §2).
pub fn supports_es256(advertised: Option<&[String]>) -> bool {
    advertised.is_some_and(|algs| algs.iter().any(|a| a == ALGORITHM))
}

/// The two kinds of server that hand out DPoP nonces: an authorization server's
/// token endpoint (RFC 9449 §8) and a resource (§9). Each keeps its own nonce,
/// even where both share an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// A token endpoint.
    Authorization,
    /// A protected resource (the MCP server).
    Resource,
}

impl Server {
    /// The key of this server's nonce for requests to `url`.
    fn nonce_key(self, url: &Url) -> String {
        let kind = match self {
            Server::Authorization => "as",
            Server::Resource => "rs",
        };
        format!("{kind} {}", url.origin().ascii_serialization())
    }
}

/// The request a proof is for.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    /// The HTTP method, as sent (`POST`, `GET`, ...).
    pub method: &'a str,
    /// The request URL; query and fragment are left out of `htu`.
    pub url: &'a Url,
    /// The access token presented with the request (resource requests): adds `ath`.
    pub access_token: Option<&'a Secret>,
    /// The request body of a resource request: adds `content_digest`.
    pub body: Option<&'a [u8]>,
}

impl ProofTarget<'_> {
    /// Where the request goes: a proof presenting an access token is for a
    /// resource (RFC 9449 §7), one without for a token endpoint (§5).
    pub fn server(&self) -> Server {
        match self.access_token {
            Some(_) => Server::Resource,
            None => Server::Authorization,
        }
    }
}

/// A proof's header and claims, ready for an ES256 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedProof {
    signing_input: String,
}

impl UnsignedProof {
    /// `BASE64URL(header) "." BASE64URL(claims)`: the bytes an ES256 signer signs
    /// (WebCrypto: `sign({ name: "ECDSA", hash: "SHA-256" }, key, input)`).
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The proof JWT, from the signer's 64-byte `r || s` signature (the form JWS
    /// and WebCrypto use; not DER).
    pub fn assemble(self, signature: &[u8]) -> Result<String, DpopError> {
        if signature.len() != 64 {
            return Err(DpopError::InvalidSignature {
                len: signature.len(),
            });
        }
        Ok(format!(
            "{}.{}",
            self.signing_input,
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// `htu` (RFC 9449 §4.2): the request URL without query and fragment.
pub fn htu(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.into()
}

/// `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII.
pub fn access_token_hash(access_token: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.expose().as_bytes()))
}

/// `content_digest` of the MCP DPoP extension: `sha-256=:<base64 of SHA-256>:`
/// (RFC 9530 §2 syntax, standard base64).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// The DPoP state of a flow or a session: its key, and the latest nonce each
/// server handed out, by origin (an authorization server and a resource keep
/// separate nonces, RFC 9449 §8 and §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopBinding {
    /// The key every proof is signed with.
    pub key: DpopKey,
    /// The latest `DPoP-Nonce` per server: `as <origin>` for a token endpoint,
    /// `rs <origin>` for a resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nonces: BTreeMap<String, String>,
}

impl DpopBinding {
    /// A binding to `key` with no nonces yet.
    pub fn new(key: DpopKey) -> Self {
        Self {
            key,
            nonces: BTreeMap::new(),
        }
    }

    /// The thumbprint bound tokens name in `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        self.key.public_jwk.thumbprint()
    }

    /// The nonce to put in a proof for `url` at `server`, if that server gave one.
    pub fn nonce_for(&self, server: Server, url: &Url) -> Option<&str> {
        self.nonces.get(&server.nonce_key(url)).map(String::as_str)
    }

    /// The header and claims of a proof for `target`, made at `now` (seconds since
    /// the epoch), with a fresh `jti` from `entropy` and the server's latest nonce.
    pub fn proof(
        &self,
        target: ProofTarget<'_>,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<UnsignedProof, DpopError> {
        let jti = random_token(entropy, JTI_BYTES).map_err(|e| DpopError::Entropy(e.0))?;
        let header = serde_json::json!({
            "typ": PROOF_TYPE,
            "alg": ALGORITHM,
            "jwk": self.key.public_jwk,
        });
        let mut claims = serde_json::json!({
            "jti": jti,
            "htm": target.method.to_ascii_uppercase(),
            "htu": htu(target.url),
            "iat": now,
        });
        if let Some(token) = target.access_token {
            claims["ath"] = access_token_hash(token).into();
        }
        if let Some(nonce) = self.nonce_for(target.server(), target.url) {
            claims["nonce"] = nonce.into();
        }
        if let Some(body) = target.body {
            claims["content_digest"] = content_digest(body).into();
        }
        Ok(UnsignedProof {
            signing_input: format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ),
        })
    }

    /// A signed proof for `target`, when core holds the private key.
    pub fn signed_proof(
        &self,
        target: ProofTarget<'_>,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<String, DpopError> {
        self.key.sign(self.proof(target, now, entropy)?)
    }

    /// Reads the answer of `server` to a request sent to `url` with a proof:
    /// remembers its `DPoP-Nonce`, if any (servers may rotate it on any
    /// response), and returns whether to send the request again with it: only
    /// when the answer is a `use_dpop_nonce` challenge carrying a nonce, and only
    /// if the request was not already a retry (`retried`), so that a server that
    /// keeps asking cannot loop a client.
    pub fn on_response(
        &mut self,
        server: Server,
        url: &Url,
        response: &HttpResponse,
        retried: bool,
    ) -> bool {
        self.remember_nonce(server, url, response) && !retried && is_nonce_challenge(response)
    }

    /// Keeps the `DPoP-Nonce` of `server`'s response to a request sent to `url`,
    /// when it carries a valid one; says whether it did.
    pub fn remember_nonce(&mut self, server: Server, url: &Url, response: &HttpResponse) -> bool {
        let Some(nonce) = nonce(response) else {
            return false;
        };
        self.nonces.insert(server.nonce_key(url), nonce.to_owned());
        true
    }
}

/// The `DPoP-Nonce` a response carries, when it is a valid one (RFC 9449 §8.1).
pub fn nonce(response: &HttpResponse) -> Option<&str> {
    response
        .header(NONCE_HEADER)
        .map(str::trim)
        .filter(|n| is_valid_nonce(n))
}

/// What a server checks a proof against (RFC 9449 §4.3).
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The method of the request the proof came with.
    pub method: &'a str,
    /// The URL of that request (compared without query and fragment).
    pub url: &'a Url,
    /// The access token presented with it, at a resource: `ath` must match.
    pub access_token: Option<&'a str>,
    /// The nonce the server currently demands, if it demands one.
    pub nonce: Option<&'a str>,
    /// The server's time, seconds since the epoch.
    pub now: u64,
    /// How far `iat` may be from `now`, either way (the MCP profile: 300 s).
    pub max_skew_secs: u64,
}

/// A proof that passed [`verify_proof`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The thumbprint of the proof's key: what a bound token names in `cnf.jkt`.
    pub jkt: String,
    /// The proof's `jti`, for the server's replay check.
    pub jti: String,
}

/// Why a server refuses a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofRejection {
    /// The nonce is missing or stale: answer `use_dpop_nonce` with a fresh one.
    #[error("the DPoP proof lacks the current nonce")]
    UseNonce,
    /// The proof is malformed, mis-signed or for another request
    /// (`invalid_dpop_proof`).
    #[error("invalid DPoP proof: {0}")]
    Invalid(&'static str),
}

/// The server side of RFC 9449 §4.3: checks one proof JWT (ES256 only) against
/// the request it came with. Replay (`jti` seen before) is the caller's check.
#[cfg(feature = "private-key-jwt")]
pub fn verify_proof(jwt: &str, check: &ProofCheck<'_>) -> Result<VerifiedProof, ProofRejection> {
    use p256::ecdsa::signature::Verifier as _;
    use ProofRejection::Invalid;
    let mut parts = jwt.split('.');
    let (Some(header_part), Some(claims_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid("not a compact JWS"));
    };
    let json = |part: &str| -> Result<serde_json::Value, ProofRejection> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| Invalid("not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| Invalid("not JSON"))
    };
    let header = json(header_part)?;
    if header["typ"] != PROOF_TYPE {
        return Err(Invalid("typ is not dpop+jwt"));
    }
    if header["alg"] != ALGORITHM {
        return Err(Invalid("alg is not ES256"));
    }
    if header["jwk"].get("d").is_some() {
        return Err(Invalid("the jwk holds a private key"));
    }
    let jwk: PublicJwk = serde_json::from_value(header["jwk"].clone())
        .map_err(|_| Invalid("jwk is not a P-256 key"))?;
    jwk.validate()
        .map_err(|_| Invalid("jwk is not a P-256 key"))?;
    let mut sec1 = vec![4u8];
    for coordinate in [&jwk.x, &jwk.y] {
        sec1.extend(
            URL_SAFE_NO_PAD
                .decode(coordinate)
                .map_err(|_| Invalid("jwk"))?,
        );
    }
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| Invalid("jwk is not a point on P-256"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .ok()
        .and_then(|bytes| p256::ecdsa::Signature::from_slice(&bytes).ok())
        .ok_or(Invalid("the signature is not an ES256 r || s value"))?;
    key.verify(
        format!("{header_part}.{claims_part}").as_bytes(),
        &signature,
    )
    .map_err(|_| Invalid("the signature does not verify"))?;

    let claims = json(claims_part)?;
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or(Invalid("jti is missing"))?;
    if !claims["htm"]
        .as_str()
        .is_some_and(|m| m.eq_ignore_ascii_case(check.method))
    {
        return Err(Invalid("htm does not match the request method"));
    }
    if claims["htu"].as_str() != Some(htu(check.url).as_str()) {
        return Err(Invalid("htu does not match the request URL"));
    }
    let iat = claims["iat"].as_u64().ok_or(Invalid("iat is missing"))?;
    if iat.abs_diff(check.now) > check.max_skew_secs {
        return Err(Invalid("iat is outside the accepted window"));
    }
    if let Some(token) = check.access_token {
        if claims["ath"].as_str() != Some(access_token_hash(&Secret::new(token)).as_str()) {
            return Err(Invalid("ath does not match the access token"));
        }
    }
    if let Some(nonce) = check.nonce {
        if claims["nonce"].as_str() != Some(nonce) {
            return Err(ProofRejection::UseNonce);
        }
    }
    Ok(VerifiedProof {
        jkt: jwk.thumbprint(),
        jti: jti.to_owned(),
    })
}

/// Whether `response` asks for a DPoP nonce: `400` with the OAuth error
/// `use_dpop_nonce` from an authorization server (RFC 9449 §8), or `401` with a
/// `DPoP` challenge whose `error` is `use_dpop_nonce` from a resource (§9).
pub fn is_nonce_challenge(response: &HttpResponse) -> bool {
    match response.status {
        400 => {
            // Error bodies are often mislabelled, so the content type is not
            // insisted on; the size cap still is.
            response.body.len() <= crate::http::MAX_BODY_BYTES
                && serde_json::from_slice::<serde_json::Value>(&response.body)
                    .ok()
                    .is_some_and(|body| body["error"] == USE_DPOP_NONCE)
        }
        401 => response.header_values("www-authenticate").any(|value| {
            www_authenticate::parse(value).is_ok_and(|challenges| {
                challenges.iter().any(|c| {
                    c.scheme.eq_ignore_ascii_case(TOKEN_TYPE)
                        && c.param("error") == Some(USE_DPOP_NONCE)
                })
            })
        }),
        _ => false,
    }
}

/// RFC 9449 §8.1: `nonce = 1*NQCHAR`, visible ASCII without `"` and `\`.
fn is_valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= 1024
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public key of the RFC 9449 examples (§4.1, §6.1).
    fn rfc_jwk() -> PublicJwk {
        PublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
            y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
        }
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            for b in buf {
                n = n.wrapping_add(1);
                *b = n;
            }
        }
    }

    #[test]
    fn thumbprint_of_the_rfc_9449_key_is_its_jkt() {
        // RFC 9449 §6.1: "jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".
        assert_eq!(
            rfc_jwk().thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn ath_of_the_rfc_9449_access_token() {
        // RFC 9449 §7.1: the token "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
        // has "ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo".
        let token = Secret::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
        assert_eq!(
            access_token_hash(&token),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn a_token_request_proof_has_the_rfc_9449_header_and_claims() {
        let binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        let url = Url::parse("https://server.example.com/token?x=1#frag").unwrap();
        let target = ProofTarget {
            method: "post",
            url: &url,
            access_token: None,
            body: None,
        };
        let proof = binding
            .proof(target, 1_562_262_616, &mut counter())
            .unwrap();
        let (header, claims) = proof.signing_input().split_once('.').unwrap();
        // RFC 9449 §4.2 Figure 3, with our jti.
        assert_eq!(
            decode(header),
            serde_json::json!({
                "typ": "dpop+jwt",
                "alg": "ES256",
                "jwk": {
                    "kty": "EC",
                    "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                    "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
                    "crv": "P-256"
                }
            })
        );
        assert_eq!(
            decode(claims),
            serde_json::json!({
                "jti": "AQIDBAUGBwgJCgsMDQ4PEA",
                "htm": "POST",
                "htu": "https://server.example.com/token",
                "iat": 1_562_262_616u64,
            })
        );
    }

    /// The DPoP proof of RFC 9449 §5, Figure 3: a token request.
    const RFC_TOKEN_PROOF: &str = concat!(
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik",
        "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR",
        "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE",
        "QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj",
        "oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia",
        "WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg",
        "4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg",
    );

    /// The DPoP proof of RFC 9449 §7.1, Figure 13: a resource request with `ath`.
    const RFC_RESOURCE_PROOF: &str = concat!(
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik",
        "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR",
        "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE",
        "QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIj",
        "oiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0Z",
        "WRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNF",
        "c05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71E",
        "OptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA",
    );

    /// The access token of RFC 9449 §7.1.
    const RFC_ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

    /// (the RFC's proof, its jti, method, URL, access token, iat)
    type RfcExample = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        u64,
    );
    const RFC_EXAMPLES: [RfcExample; 2] = [
        (
            RFC_TOKEN_PROOF,
            "-BwC3ESc6acc2lTc",
            "POST",
            "https://server.example.com/token",
            None,
            1_562_262_616,
        ),
        (
            RFC_RESOURCE_PROOF,
            "e1j3V_bKic8-LAEB",
            "GET",
            "https://resource.example.org/protectedresource",
            Some(RFC_ACCESS_TOKEN),
            1_562_262_618,
        ),
    ];

    #[test]
    fn our_proofs_for_the_rfc_9449_requests_are_the_rfc_proofs_but_for_jti_and_signature() {
        let binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        for (rfc_proof, rfc_jti, method, url, access_token, iat) in RFC_EXAMPLES {
            let url = Url::parse(url).unwrap();
            let token = access_token.map(Secret::new);
            let target = ProofTarget {
                method,
                url: &url,
                access_token: token.as_ref(),
                body: None,
            };
            let ours = binding.proof(target, iat, &mut counter()).unwrap();
            let (our_header, our_claims) = ours.signing_input().split_once('.').unwrap();
            let mut rfc = rfc_proof.split('.');
            let rfc_header = decode(rfc.next().unwrap());
            let mut rfc_claims = decode(rfc.next().unwrap());
            assert_eq!(rfc_claims["jti"], rfc_jti);
            assert_eq!(decode(our_header), rfc_header, "{url}");
            let mut our_claims = decode(our_claims);
            for claims in [&mut our_claims, &mut rfc_claims] {
                claims.as_object_mut().unwrap().remove("jti");
            }
            assert_eq!(our_claims, rfc_claims, "{url}");
        }
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn verify_proof_accepts_the_rfc_9449_example_proofs_for_their_requests_only() {
        for (rfc_proof, rfc_jti, method, url, access_token, iat) in RFC_EXAMPLES {
            let url = Url::parse(url).unwrap();
            let check = ProofCheck {
                method,
                url: &url,
                access_token,
                nonce: None,
                now: iat + 10,
                max_skew_secs: 300,
            };
            let verified = verify_proof(rfc_proof, &check).unwrap();
            assert_eq!(verified.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
            assert_eq!(verified.jti, rfc_jti);
            let other = Url::parse("https://server.example.com/other").unwrap();
            assert!(verify_proof(
                rfc_proof,
                &ProofCheck {
                    url: &other,
                    ..check
                }
            )
            .is_err());
        }
        let url = Url::parse("https://resource.example.org/protectedresource").unwrap();
        let another_token = ProofCheck {
            method: "GET",
            url: &url,
            access_token: Some("another-token"),
            nonce: None,
            now: 1_562_262_618,
            max_skew_secs: 300,
        };
        assert_eq!(
            verify_proof(RFC_RESOURCE_PROOF, &another_token),
            Err(ProofRejection::Invalid(
                "ath does not match the access token"
            ))
        );
    }

    #[test]
    fn a_resource_proof_adds_ath_nonce_and_content_digest() {
        let mut binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        let url = Url::parse("https://resource.example.org/protectedresource").unwrap();
        binding.nonces.insert(
            "rs https://resource.example.org".into(),
            "eyJ7S_zG.eyJH0-Z.HX4w-7v".into(),
        );
        let token = Secret::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
        let body = br#"{"hello": "world"}"#;
        let target = ProofTarget {
            method: "GET",
            url: &url,
            access_token: Some(&token),
            body: Some(body),
        };
        let proof = binding
            .proof(target, 1_562_262_618, &mut counter())
            .unwrap();
        let claims = decode(proof.signing_input().split('.').nth(1).unwrap());
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["ath"], "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
        assert_eq!(claims["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
        // RFC 9530 §2's example body and digest.
        assert_eq!(
            claims["content_digest"],
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
    }

    #[test]
    fn every_proof_has_a_fresh_jti() {
        let binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        let url = Url::parse("https://as.example.com/token").unwrap();
        let target = ProofTarget {
            method: "POST",
            url: &url,
            access_token: None,
            body: None,
        };
        let mut entropy = counter();
        let jti =
            |p: UnsignedProof| decode(p.signing_input().split('.').nth(1).unwrap())["jti"].clone();
        let a = jti(binding.proof(target, 1, &mut entropy).unwrap());
        let b = jti(binding.proof(target, 1, &mut entropy).unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn assemble_takes_only_64_byte_signatures() {
        let binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        let url = Url::parse("https://as.example.com/token").unwrap();
        let target = ProofTarget {
            method: "POST",
            url: &url,
            access_token: None,
            body: None,
        };
        let proof = binding.proof(target, 1, &mut counter()).unwrap();
        assert_eq!(
            proof.clone().assemble(&[0u8; 70]),
            Err(DpopError::InvalidSignature { len: 70 })
        );
        let jwt = proof.clone().assemble(&[7u8; 64]).unwrap();
        assert_eq!(
            jwt,
            format!("{}.{}", proof.signing_input(), "BwcH".repeat(21) + "Bw")
        );
        // An external key cannot be used by core to sign.
        assert_eq!(binding.key.sign(proof), Err(DpopError::KeyNotHeld));
    }

    #[test]
    fn external_keys_must_be_p256_public_keys() {
        let mut jwk = rfc_jwk();
        jwk.crv = "P-384".into();
        assert!(matches!(
            DpopKey::external(jwk),
            Err(DpopError::InvalidKey(_))
        ));
        let mut jwk = rfc_jwk();
        jwk.x = "AAAA".into();
        assert!(matches!(
            DpopKey::external(jwk),
            Err(DpopError::InvalidKey(_))
        ));
    }

    #[test]
    fn htu_drops_query_and_fragment_only() {
        let table = [
            ("https://a.example/mcp?x=1#y", "https://a.example/mcp"),
            (
                "http://127.0.0.1:8080/t/token",
                "http://127.0.0.1:8080/t/token",
            ),
            ("https://a.example", "https://a.example/"),
        ];
        for (url, want) in table {
            assert_eq!(htu(&Url::parse(url).unwrap()), want, "{url}");
        }
    }

    fn nonce_response(status: u16, www_authenticate: Option<&str>, body: &str) -> HttpResponse {
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("DPoP-Nonce".to_owned(), "n-2".to_owned()),
        ];
        if let Some(value) = www_authenticate {
            headers.push(("WWW-Authenticate".to_owned(), value.to_owned()));
        }
        HttpResponse::new(status, headers, body)
    }

    #[test]
    fn nonce_challenge_table() {
        // (status, WWW-Authenticate, body, retry?)
        let table: &[(u16, Option<&str>, &str, bool)] = &[
            // RFC 9449 §8: the authorization server.
            (400, None, r#"{"error":"use_dpop_nonce"}"#, true),
            (400, None, r#"{"error":"invalid_dpop_proof"}"#, false),
            (400, None, "not json", false),
            // RFC 9449 §9: the resource.
            (
                401,
                Some(r#"DPoP error="use_dpop_nonce", error_description="x""#),
                "",
                true,
            ),
            (
                401,
                Some(r#"Bearer realm="x", DPoP error="use_dpop_nonce""#),
                "",
                true,
            ),
            (401, Some(r#"DPoP error="invalid_token""#), "", false),
            (401, Some(r#"Bearer error="use_dpop_nonce""#), "", false),
            (200, None, r#"{"error":"use_dpop_nonce"}"#, false),
        ];
        for (status, challenge, body, want) in table {
            let mut binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
            let url = Url::parse("https://as.example.com/token").unwrap();
            let response = nonce_response(*status, *challenge, body);
            assert_eq!(
                binding.on_response(Server::Authorization, &url, &response, false),
                *want,
                "{status} {challenge:?} {body}"
            );
            // Whatever the status, the nonce is kept for the next proof.
            assert_eq!(binding.nonce_for(Server::Authorization, &url), Some("n-2"));
        }
    }

    #[test]
    fn a_nonce_challenge_is_retried_once_and_needs_a_nonce() {
        let mut binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        let url = Url::parse("https://as.example.com/token").unwrap();
        let challenge = nonce_response(400, None, r#"{"error":"use_dpop_nonce"}"#);
        assert!(binding.on_response(Server::Authorization, &url, &challenge, false));
        assert!(
            !binding.on_response(Server::Authorization, &url, &challenge, true),
            "only once"
        );
        let without_nonce =
            HttpResponse::json_body(400, &serde_json::json!({"error": "use_dpop_nonce"}));
        let mut fresh = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        assert!(!fresh.on_response(Server::Authorization, &url, &without_nonce, false));
        let bad = HttpResponse::new(400, vec![("DPoP-Nonce".into(), "a\"b".into())], "{}");
        assert!(!fresh.on_response(Server::Authorization, &url, &bad, false));
        assert_eq!(
            fresh.nonce_for(Server::Authorization, &url),
            None,
            "an invalid nonce is not kept"
        );
    }

    #[test]
    fn nonces_are_kept_per_server_even_on_one_origin() {
        use Server::{Authorization, Resource};
        let mut binding = DpopBinding::new(DpopKey::external(rfc_jwk()).unwrap());
        let token_endpoint = Url::parse("https://as.example.com/token").unwrap();
        let resource = Url::parse("https://mcp.example.com/mcp").unwrap();
        let ok = nonce_response(200, None, "{}");
        binding.on_response(Authorization, &token_endpoint, &ok, false);
        assert_eq!(
            binding.nonce_for(Authorization, &token_endpoint),
            Some("n-2")
        );
        assert_eq!(binding.nonce_for(Resource, &resource), None);
        assert_eq!(
            binding.nonce_for(
                Authorization,
                &Url::parse("https://as.example.com/other").unwrap()
            ),
            Some("n-2")
        );
        // An all-in-one server: the resource's nonce does not replace the
        // token endpoint's (a test server found this).
        let same_origin = Url::parse("https://as.example.com/mcp").unwrap();
        let mut rs = ok.clone();
        rs.headers[1].1 = "rs-nonce".into();
        binding.on_response(Resource, &same_origin, &rs, false);
        assert_eq!(binding.nonce_for(Resource, &same_origin), Some("rs-nonce"));
        assert_eq!(
            binding.nonce_for(Authorization, &token_endpoint),
            Some("n-2")
        );
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn a_core_key_signs_proofs_that_verify_with_the_jwk_in_their_header() {
        use p256::ecdsa::signature::Verifier as _;
        let key = DpopKey::generate(&mut counter()).unwrap();
        let binding = DpopBinding::new(key.clone());
        let url = Url::parse("https://mcp.example.com/mcp").unwrap();
        let token = Secret::new("at-1");
        let target = ProofTarget {
            method: "POST",
            url: &url,
            access_token: Some(&token),
            body: None,
        };
        let jwt = binding
            .signed_proof(target, 1_700_000_000, &mut counter())
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(
            header["jwk"].get("d").is_none(),
            "no private parts in the proof"
        );
        let claims = decode(parts[1]);
        for claim in ["jti", "htm", "htu", "iat", "ath"] {
            assert!(claims.get(claim).is_some(), "{claim} missing");
        }
        assert_eq!(claims["ath"], access_token_hash(&token));
        // Verify with the key from the header, as a server does.
        let jwk: PublicJwk = serde_json::from_value(header["jwk"].clone()).unwrap();
        assert_eq!(jwk, key.public_jwk);
        let mut sec1 = vec![4u8];
        sec1.extend(URL_SAFE_NO_PAD.decode(&jwk.x).unwrap());
        sec1.extend(URL_SAFE_NO_PAD.decode(&jwk.y).unwrap());
        let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let signature =
            p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        verifying
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn verify_proof_accepts_what_the_client_signs_and_refuses_every_mismatch() {
        let binding = DpopBinding::new(DpopKey::generate(&mut counter()).unwrap());
        let url = Url::parse("https://mcp.example.com/mcp?q=1").unwrap();
        let token = Secret::new("at-1");
        let sign = |nonce: Option<&str>| {
            let mut binding = binding.clone();
            if let Some(nonce) = nonce {
                binding
                    .nonces
                    .insert("rs https://mcp.example.com".into(), nonce.into());
            }
            let target = ProofTarget {
                method: "POST",
                url: &url,
                access_token: Some(&token),
                body: Some(b"{}"),
            };
            binding.signed_proof(target, 1_000, &mut counter()).unwrap()
        };
        let check = ProofCheck {
            method: "POST",
            url: &url,
            access_token: Some("at-1"),
            nonce: None,
            now: 1_100,
            max_skew_secs: 300,
        };
        let jwt = sign(None);
        let verified = verify_proof(&jwt, &check).unwrap();
        assert_eq!(verified.jkt, binding.thumbprint());
        assert!(!verified.jti.is_empty());

        use ProofRejection::{Invalid, UseNonce};
        let other = Url::parse("https://mcp.example.com/other").unwrap();
        let table: Vec<(ProofCheck<'_>, &str, ProofRejection)> = vec![
            (
                ProofCheck {
                    method: "GET",
                    ..check
                },
                "htm",
                Invalid("htm does not match the request method"),
            ),
            (
                ProofCheck {
                    url: &other,
                    ..check
                },
                "htu",
                Invalid("htu does not match the request URL"),
            ),
            (
                ProofCheck {
                    access_token: Some("at-2"),
                    ..check
                },
                "ath",
                Invalid("ath does not match the access token"),
            ),
            (
                ProofCheck {
                    now: 1_301,
                    ..check
                },
                "late",
                Invalid("iat is outside the accepted window"),
            ),
            (
                ProofCheck {
                    nonce: Some("n-1"),
                    ..check
                },
                "nonce",
                UseNonce,
            ),
        ];
        for (check, what, want) in table {
            assert_eq!(verify_proof(&jwt, &check), Err(want), "{what}");
        }
        let with_nonce = sign(Some("n-1"));
        assert!(verify_proof(
            &with_nonce,
            &ProofCheck {
                nonce: Some("n-1"),
                ..check
            }
        )
        .is_ok());
        assert_eq!(
            verify_proof(
                &with_nonce,
                &ProofCheck {
                    nonce: Some("n-2"),
                    ..check
                }
            ),
            Err(UseNonce)
        );
        // A tampered claim breaks the signature.
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD
            .encode(r#"{"jti":"x","htm":"POST","htu":"https://mcp.example.com/mcp","iat":1000}"#);
        assert_eq!(
            verify_proof(&parts.join("."), &check),
            Err(Invalid("the signature does not verify"))
        );
        assert_eq!(
            verify_proof("a.b", &check),
            Err(Invalid("not a compact JWS"))
        );
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn a_key_survives_serialization_and_never_prints_its_private_half() {
        let key = DpopKey::generate(&mut counter()).unwrap();
        let json = serde_json::to_string(&key).unwrap();
        let back: DpopKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, key);
        let d = key.private_key.as_ref().unwrap().expose().to_owned();
        assert!(!format!("{key:?}").contains(&d));
        // A tampered public half is refused rather than signed for.
        let mut swapped = key.clone();
        swapped.public_jwk = DpopKey::generate(&mut |b: &mut [u8]| b.fill(9))
            .unwrap()
            .public_jwk;
        let url = Url::parse("https://as.example.com/token").unwrap();
        let target = ProofTarget {
            method: "POST",
            url: &url,
            access_token: None,
            body: None,
        };
        let binding = DpopBinding::new(swapped);
        assert!(matches!(
            binding.signed_proof(target, 1, &mut counter()),
            Err(DpopError::InvalidKey(_))
        ));
    }
}
