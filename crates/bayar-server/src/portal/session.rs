//! Portal sessions: the cookie, the [`Session`] extractor every signed-in page takes, and the
//! CSRF token of a session's forms.
//!
//! The cookie holds a random token (`HttpOnly; SameSite=Lax; Path=<prefix>/portal`, `Secure`
//! when the public URL is https); the store keeps only its hash. Every form of a signed-in page
//! carries a CSRF token derived from the session token ([`SessionToken::csrf_token`]); a post
//! is accepted only when it matches the session's, compared in constant time. Another site can
//! make a browser post here but cannot read the page, so it cannot know the token.

use aws_lc_rs::constant_time;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use bayar_core::portal::{PortalUser, SESSION_TTL, SessionToken};

use super::PortalError;
use crate::app::AppState;
use crate::pages::Site;

/// The session cookie's name.
pub const COOKIE: &str = "bayar_portal";

/// A signed-in user, with the token of its session.
#[derive(Debug)]
pub struct Session {
    /// Who.
    pub user: PortalUser,
    /// Where the portal lives.
    pub site: Site,
    token: SessionToken,
}

impl Session {
    /// The CSRF token this session's forms carry.
    pub fn csrf(&self) -> String {
        self.token.csrf_token()
    }

    /// Accepts a post only when its CSRF field is this session's token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PortalError> {
        constant_time::verify_slices_are_equal(self.csrf().as_bytes(), submitted.as_bytes())
            .map_err(|_| PortalError::Csrf)
    }

    /// The session's token (to end it).
    pub fn token(&self) -> &SessionToken {
        &self.token
    }

    /// An absolute portal path as the browser must request it.
    pub fn path(&self, path: &str) -> String {
        self.site.path(path)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Session, PortalError> {
        let site = Site::from_public_url(&state.public_url);
        let Some(token) = token_from(&parts.headers) else {
            return Err(PortalError::SignedOut { site });
        };
        match state.core.portal_session(&token).await {
            Ok(Some(user)) => Ok(Session { user, site, token }),
            Ok(None) => Err(PortalError::SignedOut { site }),
            Err(e) => Err(PortalError::Core(e)),
        }
    }
}

/// The session token in the request's cookies, if well formed.
pub fn token_from(headers: &HeaderMap) -> Option<SessionToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .find_map(|(_, value)| SessionToken::parse(value.trim()))
}

/// The `Set-Cookie` that gives the browser its session.
pub fn set_cookie(token: &SessionToken, site: &Site) -> Result<HeaderValue, PortalError> {
    cookie(token.expose(), SESSION_TTL.num_seconds(), site)
}

/// The `Set-Cookie` that takes the session cookie away.
pub fn clear_cookie(site: &Site) -> Result<HeaderValue, PortalError> {
    cookie("", 0, site)
}

fn cookie(value: &str, max_age: i64, site: &Site) -> Result<HeaderValue, PortalError> {
    let secure = if site.secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        site.path("/portal"),
    ))
    .map_err(|_| PortalError::Internal("the session cookie is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        let https = Site::from_public_url("https://pay.example.com/bayar");
        let cleared = clear_cookie(&https).unwrap();
        assert_eq!(
            cleared.to_str().unwrap(),
            "bayar_portal=; Path=/bayar/portal; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
        let http = Site::from_public_url("http://127.0.0.1:8080");
        assert!(
            clear_cookie(&http)
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("HttpOnly; SameSite=Lax")
        );
    }

    #[test]
    fn malformed_tokens_are_no_session() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("bayar_portal=short"),
        );
        assert!(token_from(&headers).is_none());
    }
}
