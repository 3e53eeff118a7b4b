//! CSRF protection for the hosted pages' forms: a double-submit token.
//!
//! A page with a form makes sure the browser holds a random token in the [`COOKIE`] cookie
//! (`HttpOnly; SameSite=Strict; Path=<prefix>/pages`) and puts the same token in the form's
//! hidden [`FIELD`]. A post is accepted only when both are present and equal (compared in
//! constant time). Another site can make a browser post to bayar, but it can neither read the
//! cookie nor, with `SameSite=Strict`, get it sent along, so it cannot produce a matching pair.
//!
//! The token guards no secret of its own: it only proves that the post came from a page bayar
//! served to this browser. The binding id in the URL is what authorises the step.

use aws_lc_rs::constant_time;
use axum::http::header::{self, HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{PageError, Site};

/// The cookie's name.
pub const COOKIE: &str = "bayar_csrf";

/// The hidden form field's name.
pub const FIELD: &str = "csrf";

/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// Characters of a token: 32 bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// A CSRF token, to put in a form's hidden field.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn generate() -> Result<CsrfToken, PageError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| PageError::Internal("the system random generator failed"))?;
        Ok(CsrfToken(URL_SAFE_NO_PAD.encode(bytes)))
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken([redacted])")
    }
}

/// A token for a form, with the cookie to set when the browser did not have one yet.
#[derive(Debug)]
pub struct Issued {
    /// Goes into the form's hidden field.
    pub token: CsrfToken,
    /// A `Set-Cookie` value, when the browser needs the cookie.
    pub set_cookie: Option<HeaderValue>,
}

/// The token for a form on a page answering `headers`: the browser's own when it sent a
/// well-formed one, a fresh one (and its cookie) otherwise.
///
/// The first arrival from the merchant's site never carries the cookie (`SameSite=Strict`
/// keeps it off cross-site navigations), so it gets a fresh one; the form post that follows
/// is same-site and carries it.
pub fn issue(headers: &HeaderMap, site: &Site) -> Result<Issued, PageError> {
    issue_under(headers, site, "/pages")
}

/// [`issue`] for forms under `scope` (`/pages`, `/portal`): the cookie's path, so each area's
/// forms carry their own cookie.
pub fn issue_under(headers: &HeaderMap, site: &Site, scope: &str) -> Result<Issued, PageError> {
    if let Some(token) = from_cookie(headers) {
        return Ok(Issued {
            token,
            set_cookie: None,
        });
    }
    let token = CsrfToken::generate()?;
    let secure = if site.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; Path={}; HttpOnly; SameSite=Strict{secure}",
        token.as_str(),
        site.path(scope),
    );
    let set_cookie = HeaderValue::from_str(&cookie)
        .map_err(|_| PageError::Internal("the CSRF cookie is not a valid header value"))?;
    Ok(Issued {
        token,
        set_cookie: Some(set_cookie),
    })
}

/// Checks a form post: the `submitted` field must equal the browser's cookie. The token, for
/// a form rendered again, when it does.
pub fn verify(headers: &HeaderMap, submitted: &str) -> Option<CsrfToken> {
    let cookie = from_cookie(headers)?;
    constant_time::verify_slices_are_equal(cookie.as_str().as_bytes(), submitted.as_bytes())
        .ok()?;
    Some(cookie)
}

/// The first well-formed token among the request's cookies. Browsers send the most specific
/// path first, and issuing and verifying both take the first, so they always agree.
fn from_cookie(headers: &HeaderMap) -> Option<CsrfToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .find(|value| well_formed(value))
        .map(|value| CsrfToken(value.to_string()))
}

fn well_formed(value: &str) -> bool {
    value.len() == TOKEN_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::from_public_url("https://pay.example.com/bayar/")
    }

    fn with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn a_fresh_browser_gets_a_cookie() {
        let issued = issue(&HeaderMap::new(), &site()).unwrap();
        assert_eq!(issued.token.as_str().len(), TOKEN_CHARS);
        let cookie = issued.set_cookie.unwrap();
        let cookie = cookie.to_str().unwrap();
        assert_eq!(
            cookie,
            format!(
                "bayar_csrf={}; Path=/bayar/pages; HttpOnly; SameSite=Strict; Secure",
                issued.token.as_str()
            )
        );
        let http = Site::from_public_url("http://127.0.0.1:8080");
        let issued = issue(&HeaderMap::new(), &http).unwrap();
        let cookie = issued.set_cookie.unwrap();
        assert!(
            cookie
                .to_str()
                .unwrap()
                .ends_with("; Path=/pages; HttpOnly; SameSite=Strict")
        );
    }

    #[test]
    fn a_returning_browser_keeps_its_token_and_posts_are_checked() {
        let first = issue(&HeaderMap::new(), &site()).unwrap().token;
        let headers = with_cookie(&format!("other=1; {COOKIE}={}", first.as_str()));
        let again = issue(&headers, &site()).unwrap();
        assert!(again.set_cookie.is_none());
        assert_eq!(again.token, first);

        assert_eq!(verify(&headers, first.as_str()), Some(first.clone()));
        assert_eq!(verify(&headers, ""), None);
        let mut wrong = first.as_str().to_string();
        wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
        assert_eq!(verify(&headers, &wrong), None);
        assert_eq!(verify(&HeaderMap::new(), first.as_str()), None);
    }

    #[test]
    fn malformed_cookies_are_ignored() {
        for cookie in [
            format!("{COOKIE}="),
            format!("{COOKIE}=short"),
            format!("{COOKIE}={}", "!".repeat(TOKEN_CHARS)),
        ] {
            let headers = with_cookie(&cookie);
            assert!(issue(&headers, &site()).unwrap().set_cookie.is_some());
            assert_eq!(verify(&headers, "short"), None);
        }
    }
}
