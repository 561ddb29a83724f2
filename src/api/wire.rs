//! Wire types, spelled as Nova spells them. No logic beyond choosing the
//! fields a microversion shows.

use std::net::IpAddr;

use serde::Serialize;

use crate::domain::{ApiVersion, Port};

#[derive(Serialize)]
pub struct FixedIp<'a> {
    pub ip_address: IpAddr,
    pub subnet_id: &'a str,
}

/// One interface object: `net_id`, `port_id`, `mac_addr`, `port_state`,
/// `fixed_ips`, and from 2.70 `tag`.
#[derive(Serialize)]
pub struct InterfaceAttachment<'a> {
    pub net_id: &'a str,
    pub port_id: &'a str,
    pub mac_addr: &'a str,
    pub port_state: &'a str,
    pub fixed_ips: Vec<FixedIp<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<Option<&'a str>>,
}

impl<'a> InterfaceAttachment<'a> {
    pub fn new(port: &'a Port, version: ApiVersion) -> Self {
        InterfaceAttachment {
            net_id: &port.network_id,
            port_id: &port.id,
            mac_addr: &port.mac_address,
            port_state: &port.status,
            fixed_ips: port
                .fixed_ips
                .iter()
                .map(|ip| FixedIp {
                    ip_address: ip.ip_address,
                    subnet_id: &ip.subnet_id,
                })
                .collect(),
            tag: (version >= ApiVersion::TAG_IN_RESPONSE).then_some(port.tag.as_deref()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceAttachments<'a> {
    pub interface_attachments: Vec<InterfaceAttachment<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OneInterfaceAttachment<'a> {
    pub interface_attachment: InterfaceAttachment<'a>,
}
