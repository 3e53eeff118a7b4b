//! The HTML shell of every hosted page, and the headers every page response carries.
//!
//! Mobile first (most customers arrive from a merchant's app on a phone), readable without
//! JavaScript or external assets: the style sheet is inline and small. The headers keep the
//! pages out of caches (they show one-time codes), out of other sites' frames (no clickjacking
//! of the PIN form) and stop the browser from telling the merchant's site where it came from.

use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The bank's name as every page shows it.
pub const BRAND: &str = "Allo Bank";

/// Whose page it is: the simulated rail the customer deals with, named and coloured in the
/// page's bar so that a customer never types a wallet PIN on a page that looks like a bank's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Brand {
    /// The Allo-like bank (account binding).
    #[default]
    Allo,
    /// The DANA-like wallet (hosted wallet payment).
    Dana,
}

impl Brand {
    /// The name the page shows.
    pub fn name(self) -> &'static str {
        match self {
            Brand::Allo => BRAND,
            Brand::Dana => "DANA",
        }
    }

    /// The text of the logo tile.
    fn logo(self) -> &'static str {
        match self {
            Brand::Allo => "allo",
            Brand::Dana => "dana",
        }
    }

    /// The `<body>` class that picks the brand's colours in [`STYLE`].
    fn class(self) -> &'static str {
        match self {
            Brand::Allo => "brand-allo",
            Brand::Dana => "brand-dana",
        }
    }

    /// What the footer says the simulation is.
    fn footer(self) -> &'static str {
        match self {
            Brand::Allo => "A simulated bank for testing. No real money or account is involved.",
            Brand::Dana => "A simulated wallet for testing. No real money or account is involved.",
        }
    }
}

/// Says on every page that this is bayar's simulation, not the real bank.
pub const SANDBOX_NOTE: &str = "(bayar sandbox)";

/// The content security policy: no scripts, no external anything, inline styles only; no
/// `form-action`, because Chromium applies it to the redirect to the merchant's URL after the
/// form post as well.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   base-uri 'none'; frame-ancestors 'none'";

/// Small on purpose; system fonts; colours meet WCAG AA contrast on their backgrounds.
const STYLE: &str = r#"
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1a1d2e;background:#eef1f8}
.bar{background:#1c2f8c;color:#fff;padding:.75rem 1rem}
.bar-in{max-width:28rem;margin:0 auto;display:flex;align-items:center;gap:.65rem}
.logo{display:inline-grid;place-items:center;flex:none;width:2.4rem;height:2.4rem;border-radius:.7rem;background:#fff;color:#1c2f8c;font-weight:800;font-size:.85rem}
.brand{font-weight:700;font-size:1.1rem;line-height:1.2}
.brand small{display:block;font-weight:400;font-size:.8rem;color:#dfe4ff}
main{max-width:28rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:1rem;padding:1.25rem;box-shadow:0 1px 3px rgba(20,30,80,.12)}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .75rem}
p{margin:.6rem 0}
label{display:block;font-weight:700;margin:1.1rem 0 .35rem}
input{width:100%;font:inherit;font-size:1.6rem;letter-spacing:.35em;text-align:center;padding:.55rem;border:2px solid #6b7497;border-radius:.6rem;background:#fff;color:inherit}
input:focus{outline:3px solid #f5b700;outline-offset:2px;border-color:#1c2f8c}
input[aria-invalid=true]{border-color:#b00020}
button,.button{display:block;width:100%;margin-top:1.1rem;padding:.85rem 1rem;font:inherit;font-weight:700;color:#fff;background:#1c2f8c;border:0;border-radius:.6rem;cursor:pointer;text-align:center;text-decoration:none}
button:hover,.button:hover{background:#14226a}
button:focus-visible,.button:focus-visible,a:focus-visible{outline:3px solid #f5b700;outline-offset:2px}
.hint{color:#4a5170;font-size:.9rem}
.error{color:#8a0019;background:#fdecee;border-left:4px solid #b00020;padding:.6rem .75rem;border-radius:.4rem}
.sandbox{margin:1rem 0;padding:.75rem;border:2px dashed #9a6b00;background:#fff8e1;border-radius:.6rem;font-size:.9rem}
.sandbox code{display:block;margin-top:.25rem;font-size:1.6rem;font-weight:700;letter-spacing:.3em;color:#1a1d2e}
.nowrap{white-space:nowrap}
.status-ok{color:#0a6b35}
.status-bad{color:#8a0019}
.brand-dana .bar{background:#0b63b6}
.brand-dana .logo{color:#0b63b6;font-size:.72rem}
.brand-dana button,.brand-dana .button{background:#0b63b6}
.brand-dana button:hover,.brand-dana .button:hover{background:#084c8c}
.brand-dana input:focus{border-color:#0b63b6}
input.text{font-size:1.25rem;letter-spacing:.05em}
button.secondary,.button.secondary{color:#1a1d2e;background:#fff;border:2px solid #6b7497}
button.secondary:hover,.button.secondary:hover{background:#eef1f8}
.summary{margin:0 0 1rem;padding:0 0 1rem;border-bottom:1px solid #dde2ef}
.summary dt{color:#4a5170;font-size:.85rem;margin-top:.5rem}
.summary dd{margin:0;font-weight:700;overflow-wrap:anywhere}
.summary dd.hint{font-weight:400}
.amount{font-size:1.9rem;line-height:1.2}
footer{max-width:28rem;margin:0 auto;padding:0 1rem 2rem;color:#4a5170;font-size:.8rem;text-align:center}
"#;

/// A hosted page: a title and content in the shared shell, with an HTTP status and,
/// optionally, a cookie to set.
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    title: String,
    content: Markup,
    set_cookie: Option<HeaderValue>,
    brand: Brand,
}

impl Page {
    /// A `200 OK` page.
    pub fn new(title: impl Into<String>, content: Markup) -> Page {
        Page {
            status: StatusCode::OK,
            title: title.into(),
            content,
            set_cookie: None,
            brand: Brand::default(),
        }
    }

    /// Shows the page as `brand`'s (the bank's by default).
    pub fn brand(mut self, brand: Brand) -> Page {
        self.brand = brand;
        self
    }

    /// Answers with `status` instead of `200 OK`.
    pub fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    /// Sets a cookie with the page (a `Set-Cookie` value).
    pub fn cookie(mut self, set_cookie: Option<HeaderValue>) -> Page {
        self.set_cookie = set_cookie;
        self
    }

    /// The whole document.
    fn render(&self) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="robots" content="noindex, nofollow";
                    title { (self.title) " · " (self.brand.name()) " " (SANDBOX_NOTE) }
                    style { (PreEscaped(STYLE)) }
                }
                body class=(self.brand.class()) {
                    header class="bar" {
                        div class="bar-in" {
                            span class="logo" aria-hidden="true" { (self.brand.logo()) }
                            span class="brand" {
                                (self.brand.name()) " " small { (SANDBOX_NOTE) }
                            }
                        }
                    }
                    main {
                        div class="card" { (self.content) }
                    }
                    footer {
                        p { (self.brand.footer()) }
                    }
                }
            }
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let body = self.render().into_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        secure(headers);
        if let Some(cookie) = self.set_cookie {
            headers.append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// `303 See Other` to `location`: after every form post, so that reloading the next page never
/// re-submits an answer.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
        }
        Err(_) => {
            // Callers pass URLs that `url` serialised (always valid header text); should one
            // ever not be, a page saying so beats a redirect to nowhere.
            tracing::error!("hosted page: redirect target is not a valid header value");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    secure(headers);
    response
}

/// The headers every page response carries (the portal's pages carry them too).
pub(crate) fn secure(headers: &mut HeaderMap) {
    let pairs: [(HeaderName, &'static str); 6] = [
        // Pages show one-time codes: never store them, not even in the back/forward cache.
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // The merchant learns the reference from the query it is sent, not from Referer.
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}
