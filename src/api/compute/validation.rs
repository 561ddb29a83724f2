//! Nova's JSON-schema validation of the attach body (`schemas/attach_interfaces.py`),
//! reproducing jsonschema's first error and its message word for word.
//! Keywords are checked in the order of Nova's schema dicts, as jsonschema does.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use crate::api::python::{py_repr, py_repr_str, py_str};
use crate::domain::ids::is_uuid_like;
use crate::domain::ops::AttachRequest;
use crate::domain::ApiVersion;
use crate::error::Fault;

/// A schema violation: where (last path element) and what.
struct Violation {
    /// `None` at the top level.
    field: Option<String>,
    instance: Value,
    message: String,
}

impl Violation {
    fn at(field: impl Into<String>, instance: &Value, message: String) -> Self {
        Violation {
            field: Some(field.into()),
            instance: instance.clone(),
            message,
        }
    }

    fn into_fault(self) -> Fault {
        match self.field {
            Some(field) => Fault::Validation(format!(
                "Invalid input for field/attribute {field}. Value: {}. {}",
                py_str(&self.instance),
                self.message
            )),
            None => Fault::Validation(self.message),
        }
    }
}

type Check = Result<(), Violation>;

fn type_error(field: Option<&str>, instance: &Value, type_name: &str) -> Violation {
    Violation {
        field: field.map(Into::into),
        instance: instance.clone(),
        message: format!("{} is not of type '{type_name}'", py_repr(instance)),
    }
}

fn additional_properties(object: &Map<String, Value>, allowed: &[&str]) -> Option<String> {
    let mut extras: Vec<&String> = object
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    extras.sort();
    let extras: Vec<String> = extras.into_iter().map(|k| py_repr_str(k)).collect();
    if extras.is_empty() {
        return None;
    }
    let verb = if extras.len() == 1 { "was" } else { "were" };
    Some(format!(
        "Additional properties are not allowed ({} {verb} unexpected)",
        extras.join(", ")
    ))
}

/// Query parameters at ≥ 2.102: `{"additionalProperties": false}` with no properties.
pub fn check_no_query_parameters(names: &[String]) -> Result<(), Fault> {
    if names.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    names.dedup();
    let extras: Vec<String> = names.into_iter().map(|n| py_repr_str(n)).collect();
    let verb = if extras.len() == 1 { "was" } else { "were" };
    Err(Fault::Validation(format!(
        "Additional properties are not allowed ({} {verb} unexpected)",
        extras.join(", ")
    )))
}

fn check_uuid(field: &str, value: &Value) -> Check {
    match value {
        Value::String(s) if is_uuid_like(s) => Ok(()),
        Value::String(_) => Err(Violation::at(
            field,
            value,
            format!("{} is not a 'uuid'", py_repr(value)),
        )),
        _ => Err(type_error(Some(field), value, "string")),
    }
}

/// Python's `ipaddress` (as jsonschema's `ipv4`/`ipv6` formats use it).
fn is_ip_address(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok() || (s.parse::<Ipv6Addr>().is_ok() && !s.contains('%'))
}

fn check_fixed_ips(value: &Value) -> Check {
    let Value::Array(items) = value else {
        return Err(type_error(Some("fixed_ips"), value, "array"));
    };
    if items.is_empty() {
        return Err(Violation::at(
            "fixed_ips",
            value,
            format!("{} should be non-empty", py_repr(value)),
        ));
    }
    if items.len() > 1 {
        return Err(Violation::at(
            "fixed_ips",
            value,
            format!("{} is too long", py_repr(value)),
        ));
    }
    for (index, item) in items.iter().enumerate() {
        let field = index.to_string();
        let Value::Object(object) = item else {
            return Err(type_error(Some(&field), item, "object"));
        };
        if let Some(ip) = object.get("ip_address") {
            match ip {
                Value::String(s) if is_ip_address(s) => {}
                Value::String(_) => {
                    return Err(Violation::at(
                        "ip_address",
                        ip,
                        format!(
                            "{} is not valid under any of the given schemas",
                            py_repr(ip)
                        ),
                    ))
                }
                _ => return Err(type_error(Some("ip_address"), ip, "string")),
            }
        } else {
            return Err(Violation::at(
                field,
                item,
                "'ip_address' is a required property".to_owned(),
            ));
        }
        if let Some(message) = additional_properties(object, &["ip_address"]) {
            return Err(Violation::at(field, item, message));
        }
    }
    Ok(())
}

fn check_tag(value: &Value) -> Check {
    let Value::String(s) = value else {
        return Err(type_error(Some("tag"), value, "string"));
    };
    let chars = s.chars().count();
    if chars < 1 {
        return Err(Violation::at(
            "tag",
            value,
            format!("{} should be non-empty", py_repr(value)),
        ));
    }
    if chars > 60 {
        return Err(Violation::at(
            "tag",
            value,
            format!("{} is too long", py_repr(value)),
        ));
    }
    if s.contains([',', '/']) {
        return Err(Violation::at(
            "tag",
            value,
            format!("{} does not match '^[^,/]*$'", py_repr(value)),
        ));
    }
    Ok(())
}

fn check_attachment(value: &Value, version: ApiVersion) -> Check {
    let Value::Object(object) = value else {
        return Err(type_error(Some("interfaceAttachment"), value, "object"));
    };
    let with_tag = version >= ApiVersion::TAG_ON_ATTACH;
    if let Some(v) = object.get("net_id") {
        check_uuid("net_id", v)?;
    }
    if let Some(v) = object.get("port_id") {
        check_uuid("port_id", v)?;
    }
    if let Some(v) = object.get("fixed_ips") {
        check_fixed_ips(v)?;
    }
    if with_tag {
        if let Some(v) = object.get("tag") {
            check_tag(v)?;
        }
    }
    let allowed: &[&str] = if with_tag {
        &["net_id", "port_id", "fixed_ips", "tag"]
    } else {
        &["net_id", "port_id", "fixed_ips"]
    };
    if let Some(message) = additional_properties(object, allowed) {
        return Err(Violation::at("interfaceAttachment", value, message));
    }
    Ok(())
}

/// Validate a parsed POST body (`Value::Null` for an empty one) and read it
/// as the controller does.
pub fn attach_request(body: &Value, version: ApiVersion) -> Result<AttachRequest, Fault> {
    let Value::Object(root) = body else {
        return Err(type_error(None, body, "object").into_fault());
    };
    if let Some(attachment) = root.get("interfaceAttachment") {
        check_attachment(attachment, version).map_err(Violation::into_fault)?;
    }
    if let Some(message) = additional_properties(root, &["interfaceAttachment"]) {
        return Err(Violation {
            field: None,
            instance: body.clone(),
            message,
        }
        .into_fault());
    }
    let Some(Value::Object(attachment)) = root.get("interfaceAttachment") else {
        return Ok(AttachRequest::default());
    };
    let text = |key: &str| {
        attachment
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let fixed_ip = attachment
        .get("fixed_ips")
        .and_then(|ips| ips.get(0))
        .and_then(|ip| ip.get("ip_address"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    Ok(AttachRequest {
        net_id: text("net_id").map(Into::into),
        port_id: text("port_id").map(Into::into),
        fixed_ip,
        tag: text("tag"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V21: ApiVersion = ApiVersion::new(2, 1);
    const V249: ApiVersion = ApiVersion::new(2, 49);

    fn message(body: Value, version: ApiVersion) -> String {
        match attach_request(&body, version) {
            Err(Fault::Validation(m)) => m,
            other => panic!("expected a validation fault, got {other:?}"),
        }
    }

    #[test]
    fn reprs() {
        assert_eq!(py_repr(&json!({"foo": "bar"})), "{'foo': 'bar'}");
        assert_eq!(
            py_repr(&json!([{"ip_address": "1.1.1.1"}, null, true, 1.0])),
            "[{'ip_address': '1.1.1.1'}, None, True, 1.0]"
        );
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr_str("x\ny"), "'x\\ny'");
    }

    #[test]
    fn messages_of_section_3_1() {
        let net = "3cb9bc59-5699-4588-a4b1-b87f96708bc6";
        let cases = [
            (json!(null), V21, "None is not of type 'object'".to_owned()),
            (json!([]), V21, "[] is not of type 'object'".to_owned()),
            (json!({"foo": {}}), V21, "Additional properties are not allowed ('foo' was unexpected)".to_owned()),
            (json!({"interfaceAttachment": {}, "x": 1}), V21, "Additional properties are not allowed ('x' was unexpected)".to_owned()),
            (json!({"interfaceAttachment": null}), V21, "Invalid input for field/attribute interfaceAttachment. Value: None. None is not of type 'object'".to_owned()),
            (json!({"interfaceAttachment": {"foo": "bar"}}), V21, "Invalid input for field/attribute interfaceAttachment. Value: {'foo': 'bar'}. Additional properties are not allowed ('foo' was unexpected)".to_owned()),
            (json!({"interfaceAttachment": {"net_id": net, "tag": "foo"}}), V21, format!("Invalid input for field/attribute interfaceAttachment. Value: {{'net_id': '{net}', 'tag': 'foo'}}. Additional properties are not allowed ('tag' was unexpected)")),
            (json!({"interfaceAttachment": {"net_id": "non_uuid"}}), V21, "Invalid input for field/attribute net_id. Value: non_uuid. 'non_uuid' is not a 'uuid'".to_owned()),
            (json!({"interfaceAttachment": {"port_id": 123}}), V21, "Invalid input for field/attribute port_id. Value: 123. 123 is not of type 'string'".to_owned()),
            (json!({"interfaceAttachment": {"net_id": null}}), V21, "Invalid input for field/attribute net_id. Value: None. None is not of type 'string'".to_owned()),
            (json!({"interfaceAttachment": {"fixed_ips": "non_array"}}), V21, "Invalid input for field/attribute fixed_ips. Value: non_array. 'non_array' is not of type 'array'".to_owned()),
            (json!({"interfaceAttachment": {"fixed_ips": []}}), V21, "Invalid input for field/attribute fixed_ips. Value: []. [] should be non-empty".to_owned()),
            (json!({"interfaceAttachment": {"fixed_ips": [{"ip_address": "1.1.1.1"}, {"ip_address": "1.1.1.2"}]}}), V21, "Invalid input for field/attribute fixed_ips. Value: [{'ip_address': '1.1.1.1'}, {'ip_address': '1.1.1.2'}]. [{'ip_address': '1.1.1.1'}, {'ip_address': '1.1.1.2'}] is too long".to_owned()),
            (json!({"interfaceAttachment": {"fixed_ips": [{}]}}), V21, "Invalid input for field/attribute 0. Value: {}. 'ip_address' is a required property".to_owned()),
            (json!({"interfaceAttachment": {"fixed_ips": [{"ip_address": "1.1.1.1", "subnet_id": net}]}}), V21, format!("Invalid input for field/attribute 0. Value: {{'ip_address': '1.1.1.1', 'subnet_id': '{net}'}}. Additional properties are not allowed ('subnet_id' was unexpected)")),
            (json!({"interfaceAttachment": {"fixed_ips": [{"ip_address": "10.0.0.256"}]}}), V21, "Invalid input for field/attribute ip_address. Value: 10.0.0.256. '10.0.0.256' is not valid under any of the given schemas".to_owned()),
            (json!({"interfaceAttachment": {"fixed_ips": [{"ip_address": "192.168.01.1"}]}}), V21, "Invalid input for field/attribute ip_address. Value: 192.168.01.1. '192.168.01.1' is not valid under any of the given schemas".to_owned()),
            (json!({"interfaceAttachment": {"tag": ","}}), V249, "Invalid input for field/attribute tag. Value: ,. ',' does not match '^[^,/]*$'".to_owned()),
            (json!({"interfaceAttachment": {"tag": ""}}), V249, "Invalid input for field/attribute tag. Value: . '' should be non-empty".to_owned()),
            (json!({"interfaceAttachment": {"tag": "x".repeat(61)}}), V249, format!("Invalid input for field/attribute tag. Value: {x}. '{x}' is too long", x = "x".repeat(61))),
            (json!({"interfaceAttachment": {"tag": null}}), V249, "Invalid input for field/attribute tag. Value: None. None is not of type 'string'".to_owned()),
            (json!({"interfaceAttachment": {"tag": 5}}), V249, "Invalid input for field/attribute tag. Value: 5. 5 is not of type 'string'".to_owned()),
        ];
        for (body, version, expected) in cases {
            assert_eq!(message(body.clone(), version), expected, "{body}");
        }
    }

    #[test]
    fn valid_bodies() {
        assert_eq!(
            attach_request(&json!({}), V21).unwrap(),
            AttachRequest::default()
        );
        assert_eq!(
            attach_request(&json!({"interfaceAttachment": {}}), V21).unwrap(),
            AttachRequest::default()
        );
        let r = attach_request(
            &json!({"interfaceAttachment": {"net_id": "3cb9bc59-5699-4588-a4b1-b87f96708bc6", "fixed_ips": [{"ip_address": "fd00::5"}], "tag": "t"}}),
            V249,
        )
        .unwrap();
        assert_eq!(r.fixed_ip, Some("fd00::5".parse().unwrap()));
        assert_eq!(r.tag.as_deref(), Some("t"));
    }

    #[test]
    fn ipv6_zone_rejected() {
        assert!(!is_ip_address("fe80::1%eth0"));
        assert!(is_ip_address("::ffff:1.2.3.4"));
    }
}
