//! Parsing `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3) and the
//! Bearer parameters MCP relies on: `resource_metadata` (RFC 9728 §5.1), `scope`,
//! `error` and `error_description`.
//!
//! Bad input returns [`ChallengeError`] and never panics.
//!
//! <https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1>,
//! <https://www.rfc-editor.org/rfc/rfc6750#section-3>,
//! <https://www.rfc-editor.org/rfc/rfc9728#section-5.1>

use crate::http::HttpResponse;
use serde::{Deserialize, Serialize};

/// One challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The auth scheme as sent (compare with `eq_ignore_ascii_case`).
    pub scheme: String,
    /// A token68 credential hint, for schemes that use one instead of parameters.
    pub token68: Option<String>,
    /// Parameters with lower-cased names and unescaped values, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the scheme is `Bearer` (schemes are case-insensitive).
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// Whether the scheme is `DPoP` (RFC 9449 §7.1).
    pub fn is_dpop(&self) -> bool {
        self.scheme.eq_ignore_ascii_case(crate::dpop::TOKEN_TYPE)
    }
}

/// What a Bearer challenge tells an MCP client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BearerChallenge {
    /// Where the protected-resource metadata lives (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// Space-separated scopes the resource asks for.
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, ...
    pub error: Option<String>,
    /// Human-readable explanation from the server.
    pub error_description: Option<String>,
    /// The response also (or only) challenges with the `DPoP` scheme: the
    /// resource takes DPoP-bound tokens (RFC 9449 §7.1).
    #[serde(default)]
    pub dpop: bool,
}

impl BearerChallenge {
    /// Whether this is a step-up request (RFC 6750 §3.1 `insufficient_scope`).
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }

    /// The Bearer parameters of a parsed challenge. The scheme is not checked (see
    /// [`Challenge::is_bearer`]); a repeated parameter counts by its first occurrence.
    pub fn from_challenge(challenge: &Challenge) -> Self {
        let param = |name: &str| challenge.param(name).map(str::to_owned);
        Self {
            resource_metadata: param("resource_metadata"),
            scope: param("scope"),
            error: param("error"),
            error_description: param("error_description"),
            dpop: challenge.is_dpop(),
        }
    }
}

/// A `WWW-Authenticate` value that does not follow the RFC 9110 grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The header was present but malformed.
    #[error("malformed WWW-Authenticate header at byte {position}: {reason}")]
    Malformed {
        /// Byte offset where parsing failed.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
}

/// Parses one header value into its challenges (a value may hold several).
///
/// Follows RFC 9110 §11.6.1: `#challenge`, where a challenge is an auth scheme,
/// optionally followed by a token68 or by comma-separated auth-params. Because both
/// challenges and auth-params are separated by commas, an element after a comma
/// belongs to the current challenge when it reads `name=value`, and starts a new
/// challenge otherwise.
pub fn parse(header_value: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let (challenges, error) = parse_prefix(header_value);
    match error {
        Some(error) => Err(error),
        None => Ok(challenges),
    }
}

/// The first Bearer challenge across all `WWW-Authenticate` headers of a response,
/// else the first `DPoP` challenge (RFC 9449 §7.1: a resource that takes only
/// DPoP-bound tokens challenges with that scheme, carrying the same parameters).
/// `Ok(None)` when there is no such header or no such challenge in it.
///
/// Servers often send several challenges, and a broken one (another scheme, another
/// header) should not hide a good Bearer challenge: every complete challenge that
/// precedes a syntax error is still considered. The error is returned only when no
/// Bearer or DPoP challenge was found at all.
pub fn bearer_challenge(
    response: &HttpResponse,
) -> Result<Option<BearerChallenge>, ChallengeError> {
    let mut first_error = None;
    let mut bearer = None;
    let mut dpop = None;
    for value in response.header_values("www-authenticate") {
        let (challenges, error) = parse_prefix(value);
        if bearer.is_none() {
            bearer = challenges
                .iter()
                .find(|c| c.is_bearer())
                .map(BearerChallenge::from_challenge);
        }
        if dpop.is_none() {
            dpop = challenges
                .iter()
                .find(|c| c.is_dpop())
                .map(BearerChallenge::from_challenge);
        }
        if first_error.is_none() {
            first_error = error;
        }
    }
    let takes_dpop = dpop.is_some();
    match (bearer.or(dpop), first_error) {
        (Some(challenge), _) => Ok(Some(BearerChallenge {
            dpop: takes_dpop,
            ..challenge
        })),
        (None, Some(error)) => Err(error),
        (None, None) => Ok(None),
    }
}

/// Parses as many complete challenges as possible, and the error that stopped
/// parsing, if any. A challenge interrupted by the error is not included.
fn parse_prefix(header_value: &str) -> (Vec<Challenge>, Option<ChallengeError>) {
    let mut parser = Parser {
        input: header_value.as_bytes(),
        pos: 0,
    };
    let mut challenges = Vec::new();
    loop {
        parser.skip_list_separators();
        if parser.at_end() {
            return (challenges, None);
        }
        match parser.challenge() {
            Ok(challenge) => challenges.push(challenge),
            Err(error) => return (challenges, Some(error)),
        }
    }
}

/// A cursor over the header's bytes. Only ASCII bytes are ever split on, so every
/// slice taken between positions is valid UTF-8 and positions are byte offsets.
struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, pos: usize) -> Option<u8> {
        self.input.get(pos).copied()
    }

    fn error(&self, reason: &'static str) -> ChallengeError {
        ChallengeError::Malformed {
            position: self.pos,
            reason,
        }
    }

    /// OWS / BWS: spaces and horizontal tabs.
    fn skip_whitespace(&mut self) {
        self.pos = skip_whitespace_from(self.input, self.pos);
    }

    /// Commas and whitespace: RFC 9110 §5.6.1 lets list recipients ignore empty elements.
    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b',' | b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// One challenge, leaving the cursor at the end or at the comma that follows it.
    fn challenge(&mut self) -> Result<Challenge, ChallengeError> {
        let scheme = self
            .token()
            .ok_or_else(|| self.error("expected an auth scheme"))?;
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let after_scheme = self.pos;
        self.skip_whitespace();
        if matches!(self.peek(), None | Some(b',')) {
            return Ok(challenge);
        }
        if self.pos == after_scheme {
            return Err(self.error("expected a space after the auth scheme"));
        }
        if self.param_starts_at(self.pos) {
            challenge.params = self.params()?;
        } else {
            challenge.token68 = Some(self.token68()?);
        }
        Ok(challenge)
    }

    /// `#auth-param` for one challenge. Stops at the end, or at a comma whose next
    /// non-empty element is not an auth-param (that is, the next challenge).
    fn params(&mut self) -> Result<Vec<(String, String)>, ChallengeError> {
        let mut params = vec![self.param()?];
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => return Ok(params),
                Some(b',') => {
                    let comma = self.pos;
                    self.skip_list_separators();
                    if !self.param_starts_at(self.pos) {
                        self.pos = comma;
                        return Ok(params);
                    }
                    params.push(self.param()?);
                }
                Some(_) => return Err(self.error("expected a comma after the auth-param")),
            }
        }
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, the name lower-cased.
    fn param(&mut self) -> Result<(String, String), ChallengeError> {
        let name = self
            .token()
            .ok_or_else(|| self.error("expected an auth-param name"))?;
        self.skip_whitespace();
        if self.peek() != Some(b'=') {
            return Err(self.error("expected '=' after the auth-param name"));
        }
        self.pos += 1;
        self.skip_whitespace();
        let value = match self.peek() {
            Some(b'"') => self.quoted_string()?,
            _ => self
                .token()
                .ok_or_else(|| self.error("expected a token or quoted-string value"))?,
        };
        Ok((name.to_ascii_lowercase(), value))
    }

    /// Whether `token BWS "=" BWS` followed by a value starts at `pos`. A `=` that is
    /// followed by another `=`, a comma or the end is token68 padding instead.
    fn param_starts_at(&self, pos: usize) -> bool {
        let after_name = token_end(self.input, pos);
        if after_name == pos {
            return false;
        }
        let eq = skip_whitespace_from(self.input, after_name);
        if self.peek_at(eq) != Some(b'=') {
            return false;
        }
        let value = skip_whitespace_from(self.input, eq + 1);
        !matches!(self.peek_at(value), None | Some(b'=' | b','))
    }

    /// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, which must
    /// be the whole of the challenge's data.
    fn token68(&mut self) -> Result<String, ChallengeError> {
        let start = self.pos;
        while self.peek().is_some_and(is_token68_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a token68 or auth-params"));
        }
        while self.peek() == Some(b'=') {
            self.pos += 1;
        }
        let end = self.pos;
        self.skip_whitespace();
        if !matches!(self.peek(), None | Some(b',')) {
            return Err(self.error("expected a comma or the end after the token68"));
        }
        Ok(self.text(start, end))
    }

    /// `1*tchar`, or `None` (cursor unmoved) when there is none.
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        let end = token_end(self.input, start);
        if end == start {
            return None;
        }
        self.pos = end;
        Some(self.text(start, end))
    }

    /// `DQUOTE *( qdtext / quoted-pair ) DQUOTE`, returned unescaped.
    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        self.pos += 1; // the opening quote
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted-string")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(byte) if is_quoted_text(byte) || byte == b'"' || byte == b'\\' => {
                            value.push(byte);
                            self.pos += 1;
                        }
                        _ => return Err(self.error("invalid escape in quoted-string")),
                    }
                }
                Some(byte) if is_quoted_text(byte) => {
                    value.push(byte);
                    self.pos += 1;
                }
                Some(_) => return Err(self.error("control character in quoted-string")),
            }
        }
        // Only ASCII backslashes were removed from valid UTF-8, so this cannot fail;
        // an error is still reported rather than trusting that with a panic.
        String::from_utf8(value).map_err(|_| self.error("invalid UTF-8 in quoted-string"))
    }

    fn text(&self, start: usize, end: usize) -> String {
        String::from_utf8_lossy(&self.input[start..end]).into_owned()
    }
}

fn skip_whitespace_from(input: &[u8], mut pos: usize) -> usize {
    while matches!(input.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

fn token_end(input: &[u8], mut pos: usize) -> usize {
    while input.get(pos).copied().is_some_and(is_tchar) {
        pos += 1;
    }
    pos
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 9110 §11.2 token68 characters (before the `=` padding).
fn is_token68_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte)
}

/// RFC 9110 §5.6.4 `qdtext` (HTAB, SP, visible ASCII except `"` and `\`, obs-text).
/// Non-ASCII UTF-8 bytes are obs-text, so internationalized text passes through.
fn is_quoted_text(byte: u8) -> bool {
    matches!(byte, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            token68: None,
            params: params
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
        }
    }

    fn token68(scheme: &str, token: &str) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            token68: Some(token.into()),
            params: Vec::new(),
        }
    }

    fn response(values: &[&str]) -> HttpResponse {
        HttpResponse::new(
            401,
            values
                .iter()
                .map(|v| ("WWW-Authenticate".to_owned(), (*v).to_owned()))
                .collect(),
            "",
        )
    }

    #[test]
    fn parse_table() {
        let table: Vec<(&str, Vec<Challenge>)> = vec![
            // RFC 9728 §5.1
            (
                r#"Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource""#,
                vec![challenge(
                    "Bearer",
                    &[(
                        "resource_metadata",
                        "https://resource.example.com/.well-known/oauth-protected-resource",
                    )],
                )],
            ),
            // RFC 6750 §3
            (
                r#"Bearer realm="example""#,
                vec![challenge("Bearer", &[("realm", "example")])],
            ),
            // RFC 6750 §3, with its line folding removed.
            (
                r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
                vec![challenge(
                    "Bearer",
                    &[
                        ("realm", "example"),
                        ("error", "invalid_token"),
                        ("error_description", "The access token expired"),
                    ],
                )],
            ),
            // RFC 6750 §3.1 step-up
            (
                r#"Bearer error="insufficient_scope", scope="files:read files:write""#,
                vec![challenge(
                    "Bearer",
                    &[
                        ("error", "insufficient_scope"),
                        ("scope", "files:read files:write"),
                    ],
                )],
            ),
            // Several challenges in one value.
            (
                r#"Basic realm="x", Bearer resource_metadata="https://h/.well-known/oauth-protected-resource", scope="a b""#,
                vec![
                    challenge("Basic", &[("realm", "x")]),
                    challenge(
                        "Bearer",
                        &[
                            (
                                "resource_metadata",
                                "https://h/.well-known/oauth-protected-resource",
                            ),
                            ("scope", "a b"),
                        ],
                    ),
                ],
            ),
            // RFC 9110 §11.6.1 example: empty elements, BWS, token68-less schemes.
            (
                r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
                vec![
                    challenge(
                        "Newauth",
                        &[
                            ("realm", "apps"),
                            ("type", "1"),
                            ("title", r#"Login to "apps""#),
                        ],
                    ),
                    challenge("Basic", &[("realm", "simple")]),
                ],
            ),
            // Escapes: any quoted-pair stands for its character.
            (
                r#"Bearer realm="a\\b\"c\d""#,
                vec![challenge("Bearer", &[("realm", r#"a\b"cd"#)])],
            ),
            // Names are lower-cased; token values kept as sent.
            (
                "Bearer Scope=Read, ERROR=invalid_token",
                vec![challenge(
                    "Bearer",
                    &[("scope", "Read"), ("error", "invalid_token")],
                )],
            ),
            // Whitespace around `=` and commas, empty list elements.
            (
                " , Bearer  realm = \"x\" ,, ,\tscope\t=\"a\" , ",
                vec![challenge("Bearer", &[("realm", "x"), ("scope", "a")])],
            ),
            // token68.
            (
                "Negotiate abc+/_-.~==",
                vec![token68("Negotiate", "abc+/_-.~==")],
            ),
            (
                "Negotiate abc=, Bearer scope=x",
                vec![
                    token68("Negotiate", "abc="),
                    challenge("Bearer", &[("scope", "x")]),
                ],
            ),
            // Bare schemes.
            ("Bearer", vec![challenge("Bearer", &[])]),
            (
                "Basic, Bearer",
                vec![challenge("Basic", &[]), challenge("Bearer", &[])],
            ),
            // Non-ASCII in a quoted-string (obs-text) survives intact.
            (
                "Bearer error_description=\"Jeton expiré — réessayez\"",
                vec![challenge(
                    "Bearer",
                    &[("error_description", "Jeton expiré — réessayez")],
                )],
            ),
            ("", vec![]),
            (" , ,", vec![]),
        ];
        for (input, expected) in table {
            assert_eq!(parse(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn malformed_table() {
        let table = [
            (
                "Bearer realm=\"unterminated",
                26,
                "unterminated quoted-string",
            ),
            ("Bearer\"x\"", 6, "expected a space after the auth scheme"),
            ("=x", 0, "expected an auth scheme"),
            (
                "Bearer realm=\"a\" scope=\"b\"",
                17,
                "expected a comma after the auth-param",
            ),
            ("Bearer realm=\"a\\", 16, "invalid escape in quoted-string"),
            (
                "Bearer realm=\"a\u{1}\"",
                15,
                "control character in quoted-string",
            ),
            (
                "Bearer abc def",
                11,
                "expected a comma or the end after the token68",
            ),
            ("Bearer \"x\"", 7, "expected a token68 or auth-params"),
            (
                "Bearer realm=é",
                13,
                "expected a token or quoted-string value",
            ),
            ("é Bearer", 0, "expected an auth scheme"),
            ("Bearer a=b, é", 12, "expected an auth scheme"),
        ];
        for (input, position, reason) in table {
            assert_eq!(
                parse(input),
                Err(ChallengeError::Malformed { position, reason }),
                "{input}"
            );
        }
    }

    #[test]
    fn equals_padding_reads_as_token68_not_as_an_empty_param() {
        // `realm=` cannot be an auth-param (values are never empty), so it is token68.
        assert_eq!(
            parse("Bearer realm="),
            Ok(vec![token68("Bearer", "realm=")])
        );
    }

    #[test]
    fn bearer_challenge_reads_the_mcp_parameters() {
        let response = response(&[
            r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write", error="insufficient_scope", error_description="need write""#,
        ]);
        let bearer = bearer_challenge(&response).unwrap().unwrap();
        assert_eq!(
            bearer,
            BearerChallenge {
                resource_metadata: Some(
                    "https://mcp.example.com/.well-known/oauth-protected-resource/mcp".into()
                ),
                scope: Some("mcp:read mcp:write".into()),
                error: Some("insufficient_scope".into()),
                error_description: Some("need write".into()),
                dpop: false,
            }
        );
        assert!(bearer.is_insufficient_scope());
    }

    type Outcome = Result<Option<BearerChallenge>, ChallengeError>;

    #[test]
    fn bearer_challenge_table() {
        let bearer = |scope: &str| {
            Ok(Some(BearerChallenge {
                scope: Some(scope.into()),
                ..Default::default()
            }))
        };
        // The same, from a resource that also (or only) challenges with DPoP.
        let dpop = |scope: &str| {
            Ok(Some(BearerChallenge {
                scope: Some(scope.into()),
                dpop: true,
                ..Default::default()
            }))
        };
        let table: Vec<(Vec<&str>, Outcome)> = vec![
            (vec![], Ok(None)),
            (vec![r#"Basic realm="x""#], Ok(None)),
            (vec!["Bearer"], Ok(Some(BearerChallenge::default()))),
            // The scheme is case-insensitive.
            (vec!["bEARER scope=a"], bearer("a")),
            // The first Bearer challenge wins, across challenges and headers.
            (
                vec!["Basic realm=x, Bearer scope=a, Bearer scope=b"],
                bearer("a"),
            ),
            (
                vec![r#"Basic realm="x""#, "Bearer scope=b", "Bearer scope=c"],
                bearer("b"),
            ),
            // A malformed header does not hide a Bearer challenge in another one.
            (vec!["Basic realm=\"x", "Bearer scope=b"], bearer("b")),
            (vec!["Bearer scope=b", "Basic realm=\"x"], bearer("b")),
            // Nor does a malformed challenge after a complete Bearer one.
            (vec!["Bearer scope=a, Basic realm=\"x"], bearer("a")),
            // A resource that takes DPoP-bound tokens only (RFC 9449 §7.1).
            (vec![r#"DPoP scope=a, algs="ES256""#], dpop("a")),
            // Bearer's parameters win over DPoP's wherever it stands; the DPoP
            // challenge still says the resource takes DPoP-bound tokens.
            (vec!["DPoP scope=a", "Bearer scope=b"], dpop("b")),
            (vec!["DPoP scope=a, Bearer scope=b"], dpop("b")),
            (vec![r#"Bearer scope=b, DPoP algs="ES256""#], dpop("b")),
            // A Bearer challenge cut short by the error is not used.
            (
                vec!["Bearer scope=a b"],
                Err(ChallengeError::Malformed {
                    position: 15,
                    reason: "expected a comma after the auth-param",
                }),
            ),
            (
                vec!["Basic realm=\"x", "Digest realm=\"y\""],
                Err(ChallengeError::Malformed {
                    position: 14,
                    reason: "unterminated quoted-string",
                }),
            ),
        ];
        for (values, expected) in table {
            assert_eq!(bearer_challenge(&response(&values)), expected, "{values:?}");
        }
    }

    #[test]
    fn bearer_challenge_matches_the_header_name_case_insensitively() {
        let response = HttpResponse::new(
            401,
            vec![
                ("content-type".into(), "text/plain".into()),
                ("www-authenticate".into(), "Bearer scope=a".into()),
            ],
            "",
        );
        assert_eq!(
            bearer_challenge(&response)
                .unwrap()
                .unwrap()
                .scope
                .as_deref(),
            Some("a")
        );
    }

    #[test]
    fn from_challenge_takes_the_first_of_repeated_params() {
        let c = challenge("Bearer", &[("scope", "a"), ("scope", "b")]);
        assert_eq!(
            BearerChallenge::from_challenge(&c).scope.as_deref(),
            Some("a")
        );
    }

    /// A small deterministic PRNG (xorshift64*), so the test needs no new dependency
    /// and every failure is reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn arbitrary_input_never_panics() {
        const PIECES: &[&str] = &[
            "Bearer",
            "Basic",
            "realm",
            "scope",
            "resource_metadata",
            "=",
            "==",
            ",",
            ", ",
            " ",
            "\t",
            "\"",
            "\\",
            "\\\"",
            "a",
            "Z9",
            "+/",
            "~",
            "é",
            "—",
            "😀",
            "\u{0}",
            "\u{7f}",
            "\r\n",
            "'",
            "(",
            "x=\"y\"",
            "token68==",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = rng.below(24);
            let input: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            let result = parse(&input);
            if let Err(ChallengeError::Malformed { position, .. }) = result {
                assert!(position <= input.len(), "{input:?}");
            }
            let _ = bearer_challenge(&response(&[&input, &input]));
        }
    }
}
