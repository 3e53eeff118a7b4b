//! Reading SNAP request bodies: fields are found by path (`additionalInfo.channel`), and every
//! refusal names the field in the caller's dialect (`400xx02` missing, `400xx01` bad format).

use bayar_snap::{Case, Money, ServiceCode};
use serde_json::{Map, Value};

use super::error::SnapError;

/// Largest request body accepted (SNAP bodies are a few hundred bytes); larger ones get
/// `400xx00`, and routers cut off those over four times this unread (`DefaultBodyLimit`).
pub const MAX_BODY: usize = 64 * 1024;

/// A request body that is a JSON object.
pub struct Body {
    map: Map<String, Value>,
    service: ServiceCode,
}

impl Body {
    /// Parses `raw`; anything but a JSON object of at most [`MAX_BODY`] bytes is
    /// `400xx00 Bad Request`.
    pub fn parse(raw: &[u8], service: ServiceCode) -> Result<Body, SnapError> {
        if raw.len() > MAX_BODY {
            return Err(SnapError::new(service, Case::BadRequest));
        }
        match serde_json::from_slice(raw) {
            Ok(Value::Object(map)) => Ok(Body { map, service }),
            _ => Err(SnapError::new(service, Case::BadRequest)),
        }
    }

    /// The value at `path` (dot-separated), `None` when absent or null.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let first = self.map.get(parts.next()?)?;
        parts
            .try_fold(first, |v, key| v.get(key))
            .filter(|v| !v.is_null())
    }

    /// A string field that may be absent (absent, null and "" are all `None`).
    pub fn optional_str(&self, path: &str, max_len: usize) -> Result<Option<&str>, SnapError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max_len => Ok(Some(s)),
            Some(_) => Err(SnapError::format(self.service, path)),
        }
    }

    /// A string field that must be present and non-empty.
    pub fn required_str(&self, path: &str, max_len: usize) -> Result<&str, SnapError> {
        self.optional_str(path, max_len)?
            .ok_or_else(|| SnapError::missing(self.service, path))
    }

    /// A SNAP amount object `{"value": "10000.00", "currency": "IDR"}` at `path`.
    pub fn amount(&self, path: &str) -> Result<Money, SnapError> {
        let value_path = format!("{path}.value");
        let currency_path = format!("{path}.currency");
        let value = self.required_str(&value_path, 16)?;
        let money =
            Money::parse(value).map_err(|_| SnapError::format(self.service, &value_path))?;
        match self.optional_str(&currency_path, 3)? {
            Some("IDR") => Ok(money),
            Some(_) => Err(SnapError::format(self.service, &currency_path)),
            None => Err(SnapError::missing(self.service, &currency_path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: ServiceCode = ServiceCode::DEBIT_PAYMENT;

    fn body(json: &str) -> Body {
        Body::parse(json.as_bytes(), SVC).unwrap()
    }

    #[test]
    fn fields_by_path_with_named_refusals() {
        let b = body(
            r#"{"a":{"b":"x","n":null,"e":"","num":5},"amount":{"value":"10.00","currency":"IDR"}}"#,
        );
        assert_eq!(b.required_str("a.b", 5).unwrap(), "x");
        assert_eq!(b.optional_str("a.n", 5).unwrap(), None);
        assert_eq!(b.optional_str("a.e", 5).unwrap(), None);
        assert_eq!(
            b.required_str("a.missing", 5).unwrap_err().message(),
            "Invalid Mandatory Field a.missing"
        );
        assert_eq!(
            b.required_str("a.num", 5).unwrap_err().message(),
            "Invalid Field Format a.num"
        );
        assert_eq!(
            b.required_str("a.b", 0).unwrap_err().code.to_string(),
            "4005401"
        );
        assert_eq!(b.amount("amount").unwrap().to_string(), "10.00");
    }

    #[test]
    fn amounts_are_strict() {
        for (json, message) in [
            (
                r#"{"amount":{"value":"10","currency":"IDR"}}"#,
                "Invalid Field Format amount.value",
            ),
            (
                r#"{"amount":{"value":10.0,"currency":"IDR"}}"#,
                "Invalid Field Format amount.value",
            ),
            (
                r#"{"amount":{"value":"10.00","currency":"USD"}}"#,
                "Invalid Field Format amount.currency",
            ),
            (
                r#"{"amount":{"value":"10.00"}}"#,
                "Invalid Mandatory Field amount.currency",
            ),
            (r#"{"amount":null}"#, "Invalid Mandatory Field amount.value"),
        ] {
            assert_eq!(
                body(json).amount("amount").unwrap_err().message(),
                message,
                "{json}"
            );
        }
        assert_eq!(
            Body::parse(b"[1]", SVC).err().unwrap().code.to_string(),
            "4005400"
        );
    }
}
