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

// --- POST /servers (`schemas/servers.py`, the parts porthole serves)

fn check_server_properties(server: &Map<String, Value>, version: ApiVersion) -> Check {
    if let Some(v) = server.get("name") {
        match v {
            Value::String(s) if s.is_empty() => {
                return Err(Violation::at(
                    "name",
                    v,
                    "'' should be non-empty".to_owned(),
                ))
            }
            Value::String(s) if s.chars().count() > 255 => {
                return Err(Violation::at(
                    "name",
                    v,
                    format!("{} is too long", py_repr(v)),
                ))
            }
            Value::String(_) => {}
            _ => return Err(type_error(Some("name"), v, "string")),
        }
    }
    if let Some(v) = server.get("imageRef") {
        if !v.is_string() {
            return Err(type_error(Some("imageRef"), v, "string"));
        }
    }
    if let Some(v) = server.get("flavorRef") {
        let ok = match v {
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_u64().is_some_and(|n| n >= 1),
            _ => false,
        };
        if !ok {
            return Err(Violation::at(
                "flavorRef",
                v,
                format!("{} is not valid under any of the given schemas", py_repr(v)),
            ));
        }
    }
    if let Some(v) = server.get("networks") {
        let ok = match v {
            Value::String(s) => version >= ApiVersion::new(2, 37) && (s == "auto" || s == "none"),
            Value::Array(list) => list.iter().all(|n| {
                n.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| matches!(k.as_str(), "uuid" | "port" | "fixed_ip" | "tag"))
                        && o.get("uuid")
                            .is_none_or(|u| u.as_str().is_some_and(is_uuid_like))
                        && o.get("port")
                            .is_none_or(|p| p.is_null() || p.as_str().is_some_and(is_uuid_like))
                        && o.get("fixed_ip")
                            .is_none_or(|ip| ip.as_str().is_some_and(is_ip_address))
                })
            }),
            _ => false,
        };
        if !ok {
            return Err(Violation::at(
                "networks",
                v,
                format!("{} is not valid under any of the given schemas", py_repr(v)),
            ));
        }
    }
    if let Some(v) = server.get("metadata") {
        let Value::Object(meta) = v else {
            return Err(type_error(Some("metadata"), v, "object"));
        };
        for (key, value) in meta {
            if !value.is_string() {
                return Err(type_error(Some(key), value, "string"));
            }
        }
    }
    if version >= ApiVersion::new(2, 19) {
        if let Some(v) = server.get("description") {
            match v {
                Value::Null => {}
                Value::String(s) if s.chars().count() <= 255 => {}
                Value::String(_) => {
                    return Err(Violation::at(
                        "description",
                        v,
                        format!("{} is too long", py_repr(v)),
                    ))
                }
                _ => return Err(type_error(Some("description"), v, "string, null")),
            }
        }
    }
    if version >= ApiVersion::new(2, 52) {
        if let Some(v) = server.get("tags") {
            let Value::Array(tags) = v else {
                return Err(type_error(Some("tags"), v, "array"));
            };
            for tag in tags {
                check_tag(tag)?;
            }
        }
    }
    Ok(())
}

/// The keys a server may have at `version`.
fn server_keys(version: ApiVersion) -> Vec<&'static str> {
    let mut keys = vec![
        "name",
        "imageRef",
        "flavorRef",
        "adminPass",
        "metadata",
        "networks",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "availability_zone",
        "block_device_mapping",
        "block_device_mapping_v2",
        "config_drive",
        "key_name",
        "min_count",
        "max_count",
        "return_reservation_id",
        "security_groups",
        "user_data",
    ];
    if version < ApiVersion::new(2, 57) {
        keys.push("personality");
    }
    if version >= ApiVersion::new(2, 19) {
        keys.push("description");
    }
    if version >= ApiVersion::new(2, 52) {
        keys.push("tags");
    }
    if version >= ApiVersion::new(2, 63) {
        keys.push("trusted_image_certificates");
    }
    if version >= ApiVersion::new(2, 74) {
        keys.extend(["host", "hypervisor_hostname"]);
    }
    if version >= ApiVersion::new(2, 90) {
        keys.push("hostname");
    }
    keys
}

/// Validate a `POST /servers` body and read it.
pub fn create_request(
    body: &Value,
    version: ApiVersion,
) -> Result<crate::domain::servers::CreateRequest, Fault> {
    use crate::domain::servers::{CreateRequest, NetworkRequest, RequestedNetwork};
    let Value::Object(root) = body else {
        return Err(type_error(None, body, "object").into_fault());
    };
    let server_value = root.get("server");
    if let Some(v) = server_value {
        let Value::Object(server) = v else {
            return Err(type_error(Some("server"), v, "object").into_fault());
        };
        check_server_properties(server, version).map_err(Violation::into_fault)?;
        let mut required = vec!["name", "flavorRef"];
        if version >= ApiVersion::new(2, 37) {
            required.push("networks");
        }
        if let Some(missing) = required.iter().find(|k| !server.contains_key(**k)) {
            return Err(Violation::at(
                "server",
                v,
                format!("{} is a required property", py_repr_str(missing)),
            )
            .into_fault());
        }
        if let Some(message) = additional_properties(server, &server_keys(version)) {
            return Err(Violation::at("server", v, message).into_fault());
        }
    } else {
        return Err(Fault::Validation(
            "'server' is a required property".to_owned(),
        ));
    }
    if let Some(message) = additional_properties(
        root,
        &["server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"],
    ) {
        return Err(Fault::Validation(message));
    }
    let server = server_value.and_then(Value::as_object).expect("checked");
    let text = |key: &str| server.get(key).and_then(Value::as_str).map(str::to_owned);
    let networks = match server.get("networks") {
        None => NetworkRequest::Auto,
        Some(Value::String(s)) if s == "none" => NetworkRequest::None,
        Some(Value::String(_)) => NetworkRequest::Auto,
        Some(Value::Array(list)) => NetworkRequest::List(
            list.iter()
                .map(|n| RequestedNetwork {
                    net_id: n.get("uuid").and_then(Value::as_str).map(Into::into),
                    fixed_ip: n
                        .get("fixed_ip")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok()),
                    port_id: n.get("port").and_then(Value::as_str).map(Into::into),
                    tag: n.get("tag").and_then(Value::as_str).map(str::to_owned),
                })
                .collect(),
        ),
        Some(_) => NetworkRequest::Auto,
    };
    let flavor_id = match server.get("flavorRef") {
        Some(Value::String(s)) => s.rsplit('/').next().unwrap_or_default().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    Ok(CreateRequest {
        name: text("name").unwrap_or_default(),
        image_id: text("imageRef").map(|i| i.rsplit('/').next().unwrap_or_default().to_owned()),
        flavor_id,
        networks,
        metadata: server
            .get("metadata")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        tags: server
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        description: text("description"),
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
