//! Canonical forms of a received body, for signature verification.
//!
//! SNAP signs `SHA-256(minify(body))` but never defines `minify`, and senders differ:
//! some sign a whitespace-stripped copy of the exact bytes they send, some sign
//! `JSON.stringify(JSON.parse(body))` while sending other escapes, some sign what they
//! send verbatim. [`candidates`] lists the forms to try, most faithful first, and
//! [`Canon`] records which one matched so operators can pin it per partner.

use std::borrow::Cow;

use aws_lc_rs::digest;

/// The canonical body form whose hash matched a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Canon {
    /// Whitespace outside JSON string literals removed from the received bytes.
    Minified,
    /// The received bytes exactly.
    Raw,
    /// Parsed and re-serialised compactly by `serde_json` (key order kept).
    Reserialized,
}

impl Canon {
    /// Lower-case name for logs and configuration: `minified`, `raw`, `reserialized`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Canon::Minified => "minified",
            Canon::Raw => "raw",
            Canon::Reserialized => "reserialized",
        }
    }
}

impl std::fmt::Display for Canon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// JSON's insignificant whitespace (RFC 8259 §2).
const fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Removes space, tab, CR and LF outside JSON string literals, keeping every other byte
/// (escapes, number spelling, key order) exactly.
///
/// Works on arbitrary bytes without parsing, so it never fails: an unterminated string
/// simply keeps its remaining bytes. Borrows the input when there is nothing to remove.
/// The function is idempotent.
pub fn minify(raw: &[u8]) -> Cow<'_, [u8]> {
    // Fast path: find the first removable byte; most bodies arrive already compact.
    let Some(first) = first_removable(raw) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(raw.get(..first).unwrap_or_default());
    // Scanning state at `first` is "outside a string" by construction.
    let mut in_string = false;
    let mut escaped = false;
    for &b in raw.get(first..).unwrap_or_default() {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !is_json_whitespace(b) {
            out.push(b);
            in_string = b == b'"';
        }
    }
    Cow::Owned(out)
}

/// Index of the first whitespace byte outside a string literal, if any.
fn first_removable(raw: &[u8]) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in raw.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if is_json_whitespace(b) {
            return Some(i);
        } else if b == b'"' {
            in_string = true;
        }
    }
    None
}

/// Parses `raw` as JSON (key order preserved) and re-serialises it compactly, as
/// `JSON.stringify(JSON.parse(body))` would; `None` if `raw` is not valid JSON.
pub fn reserialize(raw: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    serde_json::to_vec(&value).ok()
}

/// Lower-case hex SHA-256 of `bytes`, as used in the SNAP string-to-sign.
pub fn body_hash_hex(bytes: &[u8]) -> String {
    hex_lower(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// Lower-case hex encoding.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            // A nibble is always below 16, so `from_digit` always succeeds.
            s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    s
}

/// The body forms to try when verifying a signature, in order: [`Canon::Minified`],
/// then [`Canon::Raw`] if it differs, then [`Canon::Reserialized`] if the body is valid
/// JSON and differs from both. An empty body gives only `(Minified, b"")`.
///
/// Each form is made only when the ones before it did not match: nearly every signature
/// matches the first, and the re-serialised form costs a JSON parse.
pub fn candidates(raw: &[u8]) -> Candidates<'_> {
    Candidates {
        raw,
        next: Some(Canon::Minified),
    }
}

/// The forms [`candidates`] lists, made one at a time.
#[derive(Clone, Debug)]
pub struct Candidates<'a> {
    raw: &'a [u8],
    next: Option<Canon>,
}

impl<'a> Iterator for Candidates<'a> {
    type Item = (Canon, Cow<'a, [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.raw;
        loop {
            match self.next? {
                Canon::Minified => {
                    self.next = Some(Canon::Raw);
                    return Some((Canon::Minified, minify(raw)));
                }
                Canon::Raw => {
                    self.next = Some(Canon::Reserialized);
                    // `minify` changes the bytes exactly when it finds one to remove.
                    if first_removable(raw).is_some() {
                        return Some((Canon::Raw, Cow::Borrowed(raw)));
                    }
                }
                Canon::Reserialized => {
                    self.next = None;
                    let reserialized = reserialize(raw)?;
                    if reserialized != raw && reserialized != minify(raw).as_ref() {
                        return Some((Canon::Reserialized, Cow::Owned(reserialized)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_strips_only_outside_strings() {
        let pretty = b"{\n  \"a\" : \"x y\\\" z\",\r\n\t\"b\": [1, 2]\n}";
        assert_eq!(
            minify(pretty).as_ref(),
            b"{\"a\":\"x y\\\" z\",\"b\":[1,2]}"
        );
        // A string ending in an escaped backslash closes normally.
        assert_eq!(
            minify(b"{\"a\": \"\\\\\" , \"b\" : 1}").as_ref(),
            b"{\"a\":\"\\\\\",\"b\":1}"
        );
        assert!(matches!(minify(b"{\"a\":1}"), Cow::Borrowed(_)));
        assert!(matches!(minify(b""), Cow::Borrowed(_)));
        // Unterminated string: remaining bytes kept, no panic.
        assert_eq!(minify(b" \"a b").as_ref(), b"\"a b");
    }

    #[test]
    fn doku_body_keeps_inner_spaces() {
        let body = br#"{"partnerServiceId":"  088899","customerNo":"12345678901234567890","virtualAccountNo":"  08889912345678901234567890","virtualAccountName":"Jokul Doe","virtualAccountEmail":"jokul@email.com","virtualAccountPhone":"6281828384858","trxId":"abcdefgh1234","totalAmount":{"value":"12345678.00","currency":"IDR"}}"#;
        assert_eq!(
            body_hash_hex(&minify(body)),
            "3274fab8dac896837b106a16da2a974e7e65142dcecb4b768ef0294102838977"
        );
    }

    #[test]
    fn empty_body() {
        assert_eq!(
            body_hash_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let c: Vec<_> = candidates(b"").collect();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, Canon::Minified);
        assert!(c[0].1.is_empty());
    }

    #[test]
    fn candidate_order_and_dedup() {
        let kinds = |b: &[u8]| candidates(b).map(|c| c.0).collect::<Vec<_>>();
        assert_eq!(kinds(b"{\"a\":1}"), [Canon::Minified]);
        assert_eq!(kinds(b"{ \"a\": 1 }"), [Canon::Minified, Canon::Raw]);
        assert_eq!(
            kinds(b"{ \"u\": \"http:\\/\\/x\" }"),
            [Canon::Minified, Canon::Raw, Canon::Reserialized]
        );
        assert_eq!(kinds(b"not json"), [Canon::Minified, Canon::Raw]);
        assert_eq!(
            reserialize(b"{\"u\":\"\\u00e9\\/\"}").as_deref(),
            Some("{\"u\":\"é/\"}".as_bytes())
        );
        assert_eq!(reserialize(b"{"), None);
        assert_eq!(Canon::Reserialized.as_str(), "reserialized");
    }
}
