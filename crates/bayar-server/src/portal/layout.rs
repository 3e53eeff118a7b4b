//! The portal's HTML shell: a top bar with the navigation (it wraps on a phone), a wide main
//! column for tables (which scroll sideways on a phone rather than squeeze), an inline style
//! sheet, and the same security headers as the hosted pages (no caching: pages show secrets
//! once).

use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::session::Session;

/// System fonts; colours meet WCAG AA contrast; focus is always visible.
const STYLE: &str = r#"
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1d2e;background:#f2f4f9}
a{color:#1c3fa8}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f5b700;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:.5rem;top:.5rem;background:#fff;padding:.4rem;z-index:9}
header.top{background:#15224f;color:#fff}
.top-in{max-width:72rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem}
.top .name{font-weight:800;margin-right:auto}
.top .name small{font-weight:400;color:#c9d2f5;margin-left:.4rem}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem;margin:0;padding:0}
nav a{color:#fff;text-decoration:none;padding:.35rem .6rem;border-radius:.4rem;display:inline-block}
nav a[aria-current=page]{background:#2f4596}
nav a:hover{background:#26397f}
.top form{margin:0}
.top button{background:transparent;color:#fff;border:1px solid #8c9ad6;padding:.3rem .7rem;margin:0;width:auto}
.top .muted{color:#c9d2f5;font-weight:400}
table code{white-space:nowrap;overflow-wrap:normal}
ul.checks{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem .9rem}
li[data-seen=true]{color:#0a5a2c;font-weight:600}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.3rem 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .6rem}
.card{background:#fff;border-radius:.7rem;padding:1rem;box-shadow:0 1px 3px rgba(20,30,80,.12);margin-bottom:1rem}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr))}
.stat{font-size:1.5rem;font-weight:700}
.muted{color:#4a5170;font-size:.9rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e2e6f0;vertical-align:top}
th{font-weight:700;color:#343a55;background:#f7f8fc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}
input,select,textarea{font:inherit;width:100%;padding:.45rem .55rem;border:1px solid #6b7497;border-radius:.4rem;background:#fff;color:inherit}
textarea{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
button,.button{display:inline-block;margin-top:.8rem;padding:.55rem 1rem;font:inherit;font-weight:700;color:#fff;background:#1c3fa8;border:0;border-radius:.4rem;cursor:pointer;text-decoration:none}
button:hover,.button:hover{background:#142f80}
button.danger{background:#a3152a}
button.secondary,.button.secondary{background:#fff;color:#1a1d2e;border:1px solid #6b7497}
.filters{display:grid;gap:.2rem .8rem;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));align-items:end}
.error{color:#8a0019;background:#fdecee;border-left:4px solid #b00020;padding:.6rem .75rem;border-radius:.3rem}
.notice{background:#e8f6ee;border-left:4px solid #0a6b35;padding:.6rem .75rem;border-radius:.3rem}
.once{background:#fff8e1;border:2px dashed #9a6b00;padding:.75rem;border-radius:.5rem}
.status{display:inline-block;padding:.05rem .45rem;border-radius:.8rem;font-size:.8rem;font-weight:700;background:#e6e9f2}
.status-succeeded{background:#d7f2e1;color:#0a5a2c}
.status-failed,.status-expired,.status-cancelled{background:#fbe0e4;color:#7d0016}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{color:#4a5170}
dl.facts dd{margin:0;overflow-wrap:anywhere}
ol.timeline{margin:0;padding-left:1.2rem}
.narrow{max-width:26rem;margin:2rem auto}
.pager{display:flex;gap:1rem;margin-top:.8rem}
@media (max-width:40rem){main{padding:.6rem}.card{padding:.75rem}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}}
"#;

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// The overview.
    Dashboard,
    /// Payments.
    Payments,
    /// Balances.
    Balances,
    /// Credentials.
    Credentials,
    /// The API log and checklist.
    ApiLog,
    /// Settings.
    Settings,
    /// Reports.
    Reports,
}

/// A portal page: a title and content in the shell, with an HTTP status and an optional
/// cookie.
#[derive(Debug)]
pub struct PortalPage {
    status: StatusCode,
    title: String,
    content: Markup,
    chrome: Option<Markup>,
    set_cookie: Option<HeaderValue>,
}

/// A page of a signed-in user: the navigation bar with `current` marked, and a logout button.
pub fn page(session: &Session, current: Nav, title: &str, content: Markup) -> PortalPage {
    let link = |nav: Nav, href: &str, text: &str| {
        let href = session.path(href);
        html! {
            li { a href=(href) aria-current=[(nav == current).then_some("page")] { (text) } }
        }
    };
    let chrome = html! {
        nav aria-label="Portal" {
            ul {
                (link(Nav::Dashboard, "/portal", "Overview"))
                (link(Nav::Payments, "/portal/payments", "Payments"))
                (link(Nav::Balances, "/portal/balances", "Balances"))
                (link(Nav::Credentials, "/portal/credentials", "Credentials"))
                (link(Nav::Reports, "/portal/reports", "Reports"))
                (link(Nav::ApiLog, "/portal/api-log", "API log"))
                (link(Nav::Settings, "/portal/settings", "Settings"))
            }
        }
        form method="post" action=(session.path("/portal/logout")) {
            input type="hidden" name="csrf" value=(session.csrf());
            button type="submit" id="logout" { "Log out " span class="muted" { (session.user.email.as_str()) } }
        }
    };
    PortalPage {
        status: StatusCode::OK,
        title: title.to_string(),
        content,
        chrome: Some(chrome),
        set_cookie: None,
    }
}

/// A page with no navigation (login, sign-up, errors).
pub fn bare(title: &str, content: Markup) -> PortalPage {
    PortalPage {
        status: StatusCode::OK,
        title: title.to_string(),
        content: html! { div class="narrow card" { (content) } },
        chrome: None,
        set_cookie: None,
    }
}

impl PortalPage {
    /// Answers with `status` instead of `200 OK`.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets a cookie with the page.
    pub fn cookie(mut self, set_cookie: Option<HeaderValue>) -> Self {
        self.set_cookie = set_cookie;
        self
    }

    fn render(&self) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="robots" content="noindex, nofollow";
                    title { (self.title) " · bayar portal" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    a class="skip" href="#main" { "Skip to content" }
                    header class="top" {
                        div class="top-in" {
                            span class="name" { "bayar" small { "merchant portal · sandbox" } }
                            @if let Some(chrome) = &self.chrome { (chrome) }
                        }
                    }
                    main id="main" { (self.content) }
                }
            }
        }
    }
}

impl IntoResponse for PortalPage {
    fn into_response(self) -> Response {
        let body = self.render().into_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        crate::pages::layout::secure(headers);
        if let Some(cookie) = self.set_cookie {
            headers.append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// A payment status as a coloured badge.
pub fn status_badge(status: &str) -> Markup {
    html! { span class={ "status status-" (status) } { (status) } }
}
