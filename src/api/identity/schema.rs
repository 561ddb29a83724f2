//! Keystone's JSON schema for `POST /v3/auth/tokens` (`keystone/auth/schema.py`)
//! and its 400 messages as jsonschema writes them (`str(ValidationError)`:
//! the message, the failing schema and the instance, `pprint`ed), with one
//! deliberate difference: password values are never repeated (`'***'`),
//! where Keystone echoes them.

use std::sync::LazyLock;

use crate::api::python::py_repr_str;
use serde_json::{json, Value};

/// The schema, keys in Keystone's order (they show in messages).
static TOKEN_ISSUE: LazyLock<Value> = LazyLock::new(|| {
    let id_name = json!({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}});
    json!({
        "type": "object",
        "properties": {
            "identity": {
                "type": "object",
                "properties": {
                    "methods": {"type": "array", "items": {"type": "string"}},
                    "password": {
                        "type": "object",
                        "properties": {
                            "user": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "name": {"type": "string"},
                                    "password": {"type": "string"},
                                    "domain": id_name,
                                },
                            }
                        },
                    },
                    "token": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}},
                        "required": ["id"],
                    },
                },
                "required": ["methods"],
            },
            "scope": {
                "type": ["object", "string"],
                "properties": {
                    "project": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "id": {"type": "string"},
                            "domain": id_name,
                        },
                    },
                    "domain": id_name,
                    "OS-TRUST:trust": {"type": "object", "properties": {"id": {"type": "string"}}},
                    "system": {
                        "type": "object",
                        "properties": {"all": {"type": "boolean", "enum": [true, false, null]}},
                    },
                },
            },
        },
        "required": ["identity"],
    })
});

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

struct SchemaError<'a> {
    message: String,
    keyword: &'static str,
    /// The schema holding the failing keyword, and where it is.
    schema: &'a Value,
    schema_path: Vec<Step>,
    instance: &'a Value,
    path: Vec<Step>,
}

/// The first error, in the order jsonschema finds them (schema keys in
/// order; `validate` raises the first).
fn first_error<'a>(
    schema: &'a Value,
    instance: &'a Value,
    schema_path: &mut Vec<Step>,
    path: &mut Vec<Step>,
) -> Option<SchemaError<'a>> {
    let here = |message: String, keyword: &'static str, schema_path: &[Step], path: &[Step]| {
        Some(SchemaError {
            message,
            keyword,
            schema,
            schema_path: schema_path.to_vec(),
            instance,
            path: path.to_vec(),
        })
    };
    for (keyword, value) in schema.as_object()? {
        match keyword.as_str() {
            "type" => {
                let types: Vec<&str> = match value {
                    Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
                    other => other.as_str().into_iter().collect(),
                };
                if !types.iter().any(|t| is_type(instance, t)) {
                    let names: Vec<String> = types.iter().map(|t| py_repr_str(t)).collect();
                    let message = format!(
                        "{} is not of type {}",
                        repr(instance, Where::of(path)),
                        names.join(", ")
                    );
                    return here(message, "type", schema_path, path);
                }
            }
            "enum" => {
                let options = value.as_array().map(Vec::as_slice).unwrap_or(&[]);
                if !options.contains(instance) {
                    let message = format!(
                        "{} is not one of {}",
                        repr(instance, Where::of(path)),
                        repr(value, Where::default())
                    );
                    return here(message, "enum", schema_path, path);
                }
            }
            "required" => {
                let Some(object) = instance.as_object() else {
                    continue;
                };
                for name in value.as_array().into_iter().flatten() {
                    let name = name.as_str().unwrap_or("");
                    if !object.contains_key(name) {
                        let message = format!("{} is a required property", py_repr_str(name));
                        return here(message, "required", schema_path, path);
                    }
                }
            }
            "properties" => {
                let Some(object) = instance.as_object() else {
                    continue;
                };
                for (name, subschema) in value.as_object().into_iter().flatten() {
                    if let Some(member) = object.get(name) {
                        schema_path
                            .extend([Step::Key("properties".into()), Step::Key(name.clone())]);
                        path.push(Step::Key(name.clone()));
                        if let Some(error) = first_error(subschema, member, schema_path, path) {
                            return Some(error);
                        }
                        path.pop();
                        schema_path.truncate(schema_path.len() - 2);
                    }
                }
            }
            "items" => {
                let Some(items) = instance.as_array() else {
                    continue;
                };
                for (index, item) in items.iter().enumerate() {
                    schema_path.push(Step::Key("items".into()));
                    path.push(Step::Index(index));
                    if let Some(error) = first_error(value, item, schema_path, path) {
                        return Some(error);
                    }
                    path.pop();
                    schema_path.pop();
                }
            }
            _ => {}
        }
    }
    None
}

fn is_type(instance: &Value, name: &str) -> bool {
    match name {
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "boolean" => instance.is_boolean(),
        "integer" => instance.is_i64() || instance.is_u64(),
        "number" => instance.is_number(),
        "null" => instance.is_null(),
        _ => false,
    }
}

/// Keystone's 400 message for `auth`, if the schema refuses it.
pub fn validate(auth: &Value) -> Result<(), String> {
    let Some(error) = first_error(&TOKEN_ISSUE, auth, &mut Vec::new(), &mut Vec::new()) else {
        return Ok(());
    };
    let index = |word: &str, steps: &[Step]| {
        let mut out = word.to_owned();
        for step in steps {
            match step {
                Step::Key(key) => out.push_str(&format!("[{}]", py_repr_str(key))),
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    };
    let schema_steps = &error.schema_path[..];
    let text = format!(
        "{}\n\nFailed validating {} in {}:\n    {}\n\nOn {}:\n    {}",
        error.message,
        py_repr_str(error.keyword),
        index("schema", schema_steps),
        indent(&pformat(error.schema, Where::default())),
        index("instance", &error.path),
        indent(&pformat(error.instance, Where::of(&error.path))),
    );
    if error.path.is_empty() {
        return Err(text);
    }
    let path: Vec<String> = error
        .path
        .iter()
        .map(|s| match s {
            Step::Key(k) => k.clone(),
            Step::Index(i) => i.to_string(),
        })
        .collect();
    Err(format!(
        "Invalid input for field '{}': {text}",
        path.join("/")
    ))
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}

/// Where a value sits: its member name and its parent's (for masking).
#[derive(Debug, Clone, Copy, Default)]
struct Where<'a> {
    parent: Option<&'a str>,
    key: Option<&'a str>,
}

impl<'a> Where<'a> {
    fn of(path: &'a [Step]) -> Self {
        let name = |step: Option<&'a Step>| match step {
            Some(Step::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        let n = path.len();
        Where {
            parent: name(n.checked_sub(2).and_then(|i| path.get(i))),
            key: name(path.last()),
        }
    }

    fn child(self, key: Option<&'a str>) -> Self {
        Where {
            parent: self.key,
            key,
        }
    }
}

/// Whether a value is a secret: a password (a scalar under `password`) or
/// the token method's token (`token.id`).
fn secret(value: &Value, at: Where<'_>) -> bool {
    !value.is_object()
        && (at.key == Some("password") || at.key == Some("id") && at.parent == Some("token"))
}

/// Python's `repr` of a JSON value (`at`: where it is, for masking).
fn repr(value: &Value, at: Where<'_>) -> String {
    if secret(value, at) {
        return "'***'".to_owned();
    }
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => py_number(n),
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| repr(v, at.child(None))).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), repr(v, at.child(Some(k)))))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

fn py_number(n: &serde_json::Number) -> String {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        if f.fract() == 0.0 && f.abs() < 1e16 {
            return format!("{f:.1}");
        }
        return f.to_string();
    }
    n.to_string()
}

const WIDTH: usize = 72;

/// `pprint.pformat(value, width=72, sort_dicts=False)`.
fn pformat(value: &Value, at: Where<'_>) -> String {
    let mut out = String::new();
    format_value(value, at, &mut out, 0, 0);
    out
}

fn format_value(value: &Value, at: Where<'_>, out: &mut String, indent: usize, allowance: usize) {
    let rep = repr(value, at);
    let max_width = WIDTH.saturating_sub(indent + allowance);
    let fits = rep.chars().count() <= max_width;
    match value {
        Value::Object(map) if !fits && !map.is_empty() => {
            out.push('{');
            let indent = indent + 1;
            let last = map.len() - 1;
            for (i, (k, v)) in map.iter().enumerate() {
                let krep = py_repr_str(k);
                out.push_str(&krep);
                out.push_str(": ");
                let allowance = if i == last { allowance + 1 } else { 1 };
                format_value(
                    v,
                    at.child(Some(k)),
                    out,
                    indent + krep.chars().count() + 2,
                    allowance,
                );
                if i != last {
                    out.push_str(",\n");
                    out.push_str(&" ".repeat(indent));
                }
            }
            out.push('}');
        }
        Value::Array(items) if !fits && !items.is_empty() => {
            out.push('[');
            let indent = indent + 1;
            let last = items.len() - 1;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                    out.push_str(&" ".repeat(indent));
                }
                let allowance = if i == last { allowance + 1 } else { 1 };
                format_value(item, at.child(None), out, indent, allowance);
            }
            out.push(']');
        }
        _ => out.push_str(&rep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystone_messages() {
        let err = validate(&json!({})).unwrap_err();
        assert!(err.starts_with("'identity' is a required property\n\nFailed validating 'required' in schema:\n    {'type': 'object',\n     'properties': {'identity': {'type': 'object',\n"), "{err}");
        assert!(
            err.ends_with("     'required': ['identity']}\n\nOn instance:\n    {}"),
            "{err}"
        );
        let err = validate(&json!({"identity": {"methods": "password"}})).unwrap_err();
        assert!(err.starts_with("Invalid input for field 'identity/methods': 'password' is not of type 'array'\n\nFailed validating 'type' in schema['properties']['identity']['properties']['methods']:\n    {'type': 'array', 'items': {'type': 'string'}}\n\nOn instance['identity']['methods']:\n    'password'"), "{err}");
        let err = validate(&json!({"identity": {"methods": [1]}})).unwrap_err();
        assert!(
            err.starts_with(
                "Invalid input for field 'identity/methods/0': 1 is not of type 'string'"
            ),
            "{err}"
        );
        let err = validate(&json!({"identity": {"methods": []}, "scope": 42})).unwrap_err();
        assert!(
            err.starts_with(
                "Invalid input for field 'scope': 42 is not of type 'object', 'string'"
            ),
            "{err}"
        );
        assert!(validate(&json!({"identity": {"methods": []}, "scope": "unscoped"})).is_ok());
    }

    #[test]
    fn passwords_are_never_repeated() {
        let auth = json!({"identity": {"password": {"user": {"name": "demo", "password": "s3cret-value"}}}});
        let err = validate(&auth).unwrap_err();
        assert!(!err.contains("s3cret-value"), "{err}");
        assert!(err.contains("'password': '***'"), "{err}");
        let auth = json!({"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "password": 987654}}}});
        let err = validate(&auth).unwrap_err();
        assert!(!err.contains("987654"), "{err}");
        assert!(err.starts_with("Invalid input for field 'identity/password/user/password': '***' is not of type 'string'"), "{err}");
        // Nor is the token method's token.
        let auth = json!({"identity": {"token": {"id": "gAAAAAsecret-token"}}});
        let err = validate(&auth).unwrap_err();
        assert!(!err.contains("secret-token"), "{err}");
        assert!(err.contains("{'token': {'id': '***'}}"), "{err}");
        let auth = json!({"identity": {"methods": ["token"], "token": {"id": 1234567}}});
        let err = validate(&auth).unwrap_err();
        assert!(
            err.starts_with(
                "Invalid input for field 'identity/token/id': '***' is not of type 'string'"
            ),
            "{err}"
        );
    }
}
