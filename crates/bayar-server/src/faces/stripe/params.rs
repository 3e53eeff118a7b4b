//! Request parameters: form-encoded bodies and queries with Stripe's nested keys
//! (`line_items[0][price_data][currency]=idr`, `expand[]=x`) and JSON bodies, read into one tree
//! and taken field by field, so every operation sees the same typed request whatever the
//! encoding. Whatever an operation did not take is an unknown parameter, refused by name.

use std::collections::BTreeMap;

use super::error::StripeError;

/// Most bytes a request body may have.
pub const MAX_BODY: usize = 64 * 1024;

/// Deepest nesting accepted (`a[b][c][d][e]` is 5).
const MAX_DEPTH: usize = 6;

/// One parameter's value: text (forms carry only text; JSON scalars are read as text too), a
/// map, or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A scalar.
    Text(String),
    /// Nested keys.
    Map(BTreeMap<String, Value>),
    /// A JSON array (form lists arrive as maps with numeric keys).
    List(Vec<Value>),
}

impl Value {
    /// A canonical rendering, equal for equal trees: the fingerprint of idempotent requests,
    /// so a form request and its JSON twin count as the same parameters.
    fn canonical(&self, out: &mut String) {
        match self {
            Value::Text(t) => {
                out.push('"');
                out.push_str(&t.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
            }
            Value::Map(m) => {
                out.push('{');
                for (k, v) in m {
                    Value::Text(k.clone()).canonical(out);
                    out.push(':');
                    v.canonical(out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::List(l) => {
                out.push('[');
                for v in l {
                    v.canonical(out);
                    out.push(',');
                }
                out.push(']');
            }
        }
    }
}

/// The parameters of one request, as a tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, Value>);

impl Params {
    /// Reads a form-encoded body or query string.
    pub fn from_form(raw: &[u8]) -> Result<Params, StripeError> {
        let mut root = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(raw) {
            let path = split_key(&key)?;
            insert(&mut root, &path, value.into_owned(), &key)?;
        }
        Ok(Params(root))
    }

    /// Reads a JSON body: an object at the top.
    pub fn from_json(raw: &[u8]) -> Result<Params, StripeError> {
        let value: serde_json::Value = serde_json::from_slice(raw).map_err(|_| {
            StripeError::invalid_request("The request body is not valid JSON.", None)
        })?;
        match from_json_value(value, 0)? {
            Value::Map(m) => Ok(Params(m)),
            _ => Err(StripeError::invalid_request(
                "The request body must be a JSON object.",
                None,
            )),
        }
    }

    /// Reads a body by its `Content-Type`: JSON when it says so, form-encoded otherwise (what
    /// Stripe's client libraries send).
    pub fn from_body(content_type: Option<&str>, raw: &[u8]) -> Result<Params, StripeError> {
        let json = content_type.is_some_and(|c| {
            c.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if json && !raw.iter().all(u8::is_ascii_whitespace) {
            Params::from_json(raw)
        } else {
            Params::from_form(raw)
        }
    }

    /// The canonical text of the whole tree (see [`Value`]).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        Value::Map(self.0.clone()).canonical(&mut out);
        out
    }

    /// The fields, to take one by one.
    pub fn fields(self) -> Fields {
        Fields {
            map: self.0,
            prefix: String::new(),
        }
    }
}

fn from_json_value(value: serde_json::Value, depth: usize) -> Result<Value, StripeError> {
    if depth > MAX_DEPTH {
        return Err(StripeError::invalid_request(
            "The request body is nested too deeply.",
            None,
        ));
    }
    Ok(match value {
        serde_json::Value::Null => Value::Text(String::new()),
        serde_json::Value::Bool(b) => Value::Text(b.to_string()),
        serde_json::Value::Number(n) => Value::Text(n.to_string()),
        serde_json::Value::String(s) => Value::Text(s),
        serde_json::Value::Array(items) => Value::List(
            items
                .into_iter()
                .map(|v| from_json_value(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| Ok((k, from_json_value(v, depth + 1)?)))
                .collect::<Result<_, StripeError>>()?,
        ),
    })
}

/// `a[b][0]` -> `["a", "b", "0"]`; `a[]` -> `["a", ""]` (append).
fn split_key(key: &str) -> Result<Vec<String>, StripeError> {
    let bad = || StripeError::invalid_request(&format!("Invalid parameter name: {key}"), None);
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(bad());
    }
    let mut path = vec![head.to_string()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(bad)?;
        let end = inner.find(']').ok_or_else(bad)?;
        path.push(inner[..end].to_string());
        rest = &inner[end + 1..];
    }
    if path.len() > MAX_DEPTH {
        return Err(bad());
    }
    Ok(path)
}

fn insert(
    map: &mut BTreeMap<String, Value>,
    path: &[String],
    value: String,
    key: &str,
) -> Result<(), StripeError> {
    let clash = || {
        StripeError::invalid_request(
            &format!("Invalid parameter: {key} is given twice or as both a value and a hash"),
            Some(key),
        )
    };
    let (first, rest) = path.split_first().ok_or_else(clash)?;
    // `a[]` appends: the next free numeric index.
    let name = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        return match map.insert(name, Value::Text(value)) {
            None => Ok(()),
            Some(_) => Err(clash()),
        };
    }
    match map
        .entry(name)
        .or_insert_with(|| Value::Map(BTreeMap::new()))
    {
        Value::Map(inner) => insert(inner, rest, value, key),
        _ => Err(clash()),
    }
}

/// The fields of one level of parameters, taken by name; [`Fields::finish`] refuses the rest.
#[derive(Debug)]
pub struct Fields {
    map: BTreeMap<String, Value>,
    prefix: String,
}

impl Fields {
    /// The full parameter name of `name` at this level (`line_items[0][quantity]`).
    pub fn name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}[{name}]", self.prefix)
        }
    }

    /// A text field; an empty string counts as absent (Stripe's way to unset).
    pub fn text(&mut self, name: &str) -> Result<Option<String>, StripeError> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Text(t)) if t.is_empty() => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t)),
            Some(_) => Err(StripeError::invalid_request(
                &format!("Invalid string: {} must be a string", self.name(name)),
                Some(&self.name(name)),
            )),
        }
    }

    /// A required text field.
    pub fn required_text(&mut self, name: &str) -> Result<String, StripeError> {
        self.text(name)?
            .ok_or_else(|| StripeError::missing(&self.name(name)))
    }

    /// A whole number.
    pub fn integer(&mut self, name: &str) -> Result<Option<i64>, StripeError> {
        let full = self.name(name);
        match self.text(name)? {
            None => Ok(None),
            Some(t) => t.parse::<i64>().map(Some).map_err(|_| {
                StripeError::invalid_request(&format!("Invalid integer: {t}"), Some(&full))
                    .with_code("parameter_invalid_integer")
            }),
        }
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, name: &str) -> Result<Option<bool>, StripeError> {
        let full = self.name(name);
        match self.text(name)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(StripeError::invalid_request(
                &format!("Invalid boolean: {other}"),
                Some(&full),
            )),
        }
    }

    /// A nested hash (`payment_method_data[type]`).
    pub fn hash(&mut self, name: &str) -> Result<Option<Fields>, StripeError> {
        let prefix = self.name(name);
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Text(t)) if t.is_empty() => Ok(None),
            Some(Value::Map(map)) => Ok(Some(Fields { map, prefix })),
            Some(_) => Err(StripeError::invalid_request(
                &format!("Invalid object: {prefix} must be a hash"),
                Some(&prefix),
            )),
        }
    }

    /// A list: a JSON array, or form keys `name[0]`, `name[1]`... (or `name[]`).
    pub fn list(&mut self, name: &str) -> Result<Option<Vec<Item>>, StripeError> {
        let prefix = self.name(name);
        let invalid = || {
            StripeError::invalid_request(
                &format!("Invalid array: {prefix} must be an array"),
                Some(&prefix),
            )
        };
        let values: Vec<Value> = match self.map.remove(name) {
            None => return Ok(None),
            Some(Value::Text(t)) if t.is_empty() => return Ok(None),
            Some(Value::List(items)) => items,
            Some(Value::Map(map)) => {
                let mut indexed = map
                    .into_iter()
                    .map(|(k, v)| k.parse::<usize>().map(|i| (i, v)).map_err(|_| invalid()))
                    .collect::<Result<Vec<_>, _>>()?;
                indexed.sort_by_key(|(i, _)| *i);
                indexed.into_iter().map(|(_, v)| v).collect()
            }
            Some(Value::Text(_)) => return Err(invalid()),
        };
        Ok(Some(
            values
                .into_iter()
                .enumerate()
                .map(|(i, value)| Item {
                    name: format!("{prefix}[{i}]"),
                    value,
                })
                .collect(),
        ))
    }

    /// A hash of text values (`metadata[order_id]=6735`).
    pub fn text_map(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, StripeError> {
        let Some(fields) = self.hash(name)? else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        for (key, value) in fields.map {
            match value {
                Value::Text(t) => {
                    out.insert(key, t);
                }
                _ => {
                    let full = format!("{}[{key}]", fields.prefix);
                    return Err(StripeError::invalid_request(
                        &format!("Invalid string: {full} must be a string"),
                        Some(&full),
                    ));
                }
            }
        }
        Ok(Some(out))
    }

    /// Refuses whatever was not taken, naming the first such parameter.
    pub fn finish(self) -> Result<(), StripeError> {
        match self.map.into_keys().next() {
            None => Ok(()),
            Some(key) => {
                let full = if self.prefix.is_empty() {
                    key
                } else {
                    format!("{}[{key}]", self.prefix)
                };
                Err(StripeError::invalid_request(
                    &format!("Received unknown parameter: {full}"),
                    Some(&full),
                )
                .with_code("parameter_unknown"))
            }
        }
    }
}

/// One element of a list parameter, with its full name for error messages.
#[derive(Debug)]
pub struct Item {
    name: String,
    value: Value,
}

impl Item {
    /// The element as text.
    pub fn text(self) -> Result<String, StripeError> {
        match self.value {
            Value::Text(t) => Ok(t),
            _ => Err(StripeError::invalid_request(
                &format!("Invalid string: {} must be a string", self.name),
                Some(&self.name),
            )),
        }
    }

    /// The element as a hash.
    pub fn hash(self) -> Result<Fields, StripeError> {
        match self.value {
            Value::Map(map) => Ok(Fields {
                map,
                prefix: self.name,
            }),
            _ => Err(StripeError::invalid_request(
                &format!("Invalid object: {} must be a hash", self.name),
                Some(&self.name),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_make_the_same_tree() {
        let form = Params::from_form(
            b"amount=100&payment_method_data[type]=dana&payment_method_types[0]=dana&metadata[k]=v",
        )
        .unwrap();
        let json = Params::from_json(
            br#"{"amount":100,"payment_method_data":{"type":"dana"},"payment_method_types":{"0":"dana"},"metadata":{"k":"v"}}"#,
        )
        .unwrap();
        assert_eq!(form.canonical(), json.canonical());
        let mut f = form.fields();
        assert_eq!(f.integer("amount").unwrap(), Some(100));
        let mut pmd = f.hash("payment_method_data").unwrap().unwrap();
        assert_eq!(pmd.text("type").unwrap().as_deref(), Some("dana"));
        pmd.finish().unwrap();
        let types = f.list("payment_method_types").unwrap().unwrap();
        assert_eq!(types.into_iter().next().unwrap().text().unwrap(), "dana");
        assert_eq!(f.text_map("metadata").unwrap().unwrap()["k"], "v");
        f.finish().unwrap();
    }

    #[test]
    fn unknown_and_malformed_parameters_are_named() {
        let mut f = Params::from_form(b"line_items[0][price_data][colour]=red")
            .unwrap()
            .fields();
        let item = f
            .list("line_items")
            .unwrap()
            .unwrap()
            .remove(0)
            .hash()
            .unwrap();
        let mut item = item;
        let price = item.hash("price_data").unwrap().unwrap();
        let err = price.finish().unwrap_err();
        assert_eq!(err.param(), Some("line_items[0][price_data][colour]"));
        let mut f = Params::from_form(b"amount=ten").unwrap().fields();
        assert_eq!(f.integer("amount").unwrap_err().param(), Some("amount"));
        assert!(Params::from_form(b"a=1&a[b]=2").is_err());
        assert!(Params::from_form(b"a[b=1").is_err());
        let list = Params::from_form(b"t[]=a&t[]=b")
            .unwrap()
            .fields()
            .list("t");
        let texts: Vec<String> = list
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|i| i.text().unwrap())
            .collect();
        assert_eq!(texts, ["a", "b"]);
    }
}
