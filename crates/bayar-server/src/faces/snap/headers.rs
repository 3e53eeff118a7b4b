//! Reading SNAP request headers: names are case-insensitive, values must be visible ASCII.

use axum::http::HeaderMap;
use bayar_snap::ServiceCode;

use super::error::SnapError;

/// `X-TIMESTAMP`
pub const TIMESTAMP: &str = "X-TIMESTAMP";
/// `X-SIGNATURE`
pub const SIGNATURE: &str = "X-SIGNATURE";
/// `X-CLIENT-KEY` (token requests)
pub const CLIENT_KEY: &str = "X-CLIENT-KEY";
/// `X-PARTNER-ID` (transactions)
pub const PARTNER_ID: &str = "X-PARTNER-ID";
/// `X-EXTERNAL-ID` (transactions)
pub const EXTERNAL_ID: &str = "X-EXTERNAL-ID";
/// `Authorization`
pub const AUTHORIZATION: &str = "Authorization";
/// `Authorization-Customer` (B2B2C calls; PHP sends it as `Authorization-customer`)
pub const AUTHORIZATION_CUSTOMER: &str = "Authorization-Customer";

/// A header's value, `None` when absent or empty; `400xx01` when it is not visible ASCII.
pub fn optional<'a>(
    headers: &'a HeaderMap,
    name: &str,
    service: ServiceCode,
) -> Result<Option<&'a str>, SnapError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| SnapError::format(service, name))?
                .trim();
            Ok((!text.is_empty()).then_some(text))
        }
    }
}

/// A mandatory header's value; `400xx02 Invalid Mandatory Field <name>` when absent or empty.
pub fn required<'a>(
    headers: &'a HeaderMap,
    name: &str,
    service: ServiceCode,
) -> Result<&'a str, SnapError> {
    optional(headers, name, service)?.ok_or_else(|| SnapError::missing(service, name))
}

/// The token of an `Authorization`-style header, with or without a `Bearer ` prefix.
pub fn bearer(value: &str) -> &str {
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_prefix_is_optional_and_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), "abc");
        assert_eq!(bearer("bearer  abc"), "abc");
        assert_eq!(bearer("abc"), "abc");
        assert_eq!(bearer("Bear"), "Bear");
        assert_eq!(bearer("ünï"), "ünï");
    }

    #[test]
    fn required_names_the_missing_header() {
        let mut headers = HeaderMap::new();
        headers.insert("x-timestamp", " ".parse().unwrap());
        let err = required(&headers, TIMESTAMP, ServiceCode::ACCESS_TOKEN_B2B).unwrap_err();
        assert_eq!(err.code.to_string(), "4007302");
        assert_eq!(err.message(), "Invalid Mandatory Field X-TIMESTAMP");
    }
}
