//! The crate-wide error: one variant per concern, each wrapping that concern's own
//! error enum, plus a stable machine-readable [`Error::code`] that the Node and
//! browser packages expose as `error.code`.

use crate::authorize::CallbackError;
use crate::client_auth::ClientAuthError;
use crate::discovery::DiscoveryError;
use crate::entropy::EntropyError;
use crate::network::EndpointRefused;
use crate::pending::SignInError;
use crate::registration::RegistrationError;
use crate::resource::RequestRefused;
use crate::revocation::RevocationError;
use crate::scope::StepUpExhausted;
use crate::seal::SealError;
use crate::token::{OAuthErrorCode, TokenError};
use crate::www_authenticate::ChallengeError;

/// Anything that can stop an OAuth flow or a token refresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A `WWW-Authenticate` header could not be parsed.
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    /// Metadata discovery failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// No client could be registered.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// Client authentication cannot be performed.
    #[error(transparent)]
    ClientAuth(#[from] ClientAuthError),
    /// The authorization callback was rejected.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The token endpoint refused or answered badly.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A sign-in request would go to a host the network policy refuses (SSRF).
    #[error(transparent)]
    Endpoint(#[from] EndpointRefused),
    /// The access token must not be sent with this request (resource policy).
    #[error(transparent)]
    Request(#[from] RequestRefused),
    /// Revoking tokens at sign-out failed (they are forgotten locally anyway).
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// Step-up authorization gave up.
    #[error(transparent)]
    StepUp(#[from] StepUpExhausted),
    /// No randomness was available.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// A callback cannot finish a web backend's pending sign-in.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// A value could not be sealed or opened, or seal keys are unusable.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The configuration handed to a flow is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The host fed a flow an event it is not waiting for (a bug in the host).
    #[error("the flow is {state}, it cannot take {event}")]
    UnexpectedEvent {
        /// What the flow is waiting for.
        state: &'static str,
        /// What it was given.
        event: &'static str,
    },
    /// The session has no usable tokens and cannot get new ones: the user must
    /// sign in again.
    #[error("the tokens for {server} cannot be renewed{}: sign in again", cause.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    ReauthRequired {
        /// The server the session is for.
        server: String,
        /// The authorization server's refusal, when it refused a renewal
        /// (`invalid_grant`: the refresh token was revoked, expired or reused).
        #[source]
        cause: Option<Box<TokenError>>,
    },
}

impl Error {
    /// A stable, snake_case code for programs (and JS `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Challenge(_) => "invalid_challenge",
            Error::Discovery(e) => match e {
                DiscoveryError::ResourceMismatch { .. } => "resource_mismatch",
                DiscoveryError::IssuerMismatch { .. } => "issuer_mismatch",
                DiscoveryError::PkceNotSupported { .. } => "pkce_not_supported",
                DiscoveryError::InsecureEndpoint { .. } => "insecure_endpoint",
                DiscoveryError::AuthorizationServerNotFound { .. } => "metadata_not_found",
                DiscoveryError::Body { .. }
                | DiscoveryError::Invalid { .. }
                | DiscoveryError::InvalidUrl { .. } => "invalid_metadata",
            },
            Error::Registration(e) => match e {
                RegistrationError::Refused { .. } => "registration_refused",
                RegistrationError::ManualRequired { .. } => "manual_client_required",
                RegistrationError::Rejected { .. } => "registration_rejected",
                RegistrationError::IssuerRequired { .. } => "client_issuer_required",
                RegistrationError::ClientAuth(_) => "client_secret_required",
                RegistrationError::InvalidResponse { .. } | RegistrationError::Body { .. } => {
                    "invalid_registration_response"
                }
            },
            Error::ClientAuth(ClientAuthError::SignerNotBuilt { .. })
            | Error::Token(TokenError::ClientAuth(ClientAuthError::SignerNotBuilt { .. })) => {
                "signer_not_built"
            }
            Error::ClientAuth(_) => "client_secret_required",
            Error::Callback(e) => match e {
                CallbackError::StateMissing | CallbackError::StateMismatch => "state_mismatch",
                CallbackError::IssuerMissing { .. } | CallbackError::IssuerMismatch { .. } => {
                    "issuer_mismatch"
                }
                CallbackError::Denied { error, .. } if error == "access_denied" => "access_denied",
                CallbackError::Denied { .. } => "authorization_error",
                CallbackError::Malformed(_)
                | CallbackError::DuplicateParameter(_)
                | CallbackError::CodeMissing => "invalid_callback",
            },
            Error::Token(e) => match e {
                TokenError::Rejected {
                    error: OAuthErrorCode::InvalidGrant,
                    ..
                } => "invalid_grant",
                TokenError::Rejected {
                    error: OAuthErrorCode::InvalidClient,
                    ..
                } => "invalid_client",
                TokenError::Rejected { .. } => "token_rejected",
                TokenError::ClientAuth(_) => "client_secret_required",
                TokenError::UnexpectedStatus { .. }
                | TokenError::Body(_)
                | TokenError::Invalid(_)
                | TokenError::UnsupportedTokenType(_) => "invalid_token_response",
            },
            Error::Endpoint(_) => "endpoint_not_allowed",
            Error::Request(_) => "origin_not_allowed",
            Error::Revocation(_) => "revocation_failed",
            Error::StepUp(_) => "insufficient_scope",
            Error::Entropy(_) => "entropy_unavailable",
            Error::SignIn(e) => match e {
                SignInError::UnknownState => "state_mismatch",
                SignInError::Expired { .. } => "sign_in_expired",
                SignInError::SubjectMismatch => "subject_mismatch",
                SignInError::StateTooLong { .. } => "state_too_long",
                SignInError::NoSubject => "invalid_config",
            },
            Error::Seal(e) => match e {
                SealError::NoKeys
                | SealError::InvalidKeyId(_)
                | SealError::DuplicateKeyId(_)
                | SealError::InvalidKey { .. } => "invalid_seal_key",
                SealError::Malformed | SealError::UnknownKey(_) | SealError::Forged => {
                    "sealed_value_invalid"
                }
                SealError::Entropy(_) => "entropy_unavailable",
            },
            Error::Config(_) => "invalid_config",
            Error::UnexpectedEvent { .. } => "unexpected_event",
            Error::ReauthRequired { .. } => "reauth_required",
        }
    }
}
