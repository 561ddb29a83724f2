//! Wire types, spelled as Nova spells them. No logic beyond choosing the
//! fields a microversion shows.

use std::net::IpAddr;

use serde::Serialize;

use crate::domain::{ApiVersion, Port};

/// One fixed IP of the port, as Neutron reports it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FixedIp<'a> {
    /// An IPv4 or IPv6 address.
    #[schema(value_type = String, example = "192.168.1.3")]
    pub ip_address: IpAddr,
    #[schema(format = Uuid)]
    pub subnet_id: &'a str,
}

/// One interface object: `net_id`, `port_id`, `mac_addr`, `port_state`,
/// `fixed_ips`, and from 2.70 `tag`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InterfaceAttachment<'a> {
    /// The port's network.
    #[schema(format = Uuid)]
    pub net_id: &'a str,
    #[schema(format = Uuid)]
    pub port_id: &'a str,
    #[schema(example = "fa:16:3e:4c:2c:30")]
    pub mac_addr: &'a str,
    /// The port's status: `ACTIVE`, `DOWN`, `BUILD`, `ERROR`, ...
    #[schema(example = "ACTIVE")]
    pub port_state: &'a str,
    pub fixed_ips: Vec<FixedIp<'a>>,
    /// Microversion 2.70 and later only, and then always present: the
    /// device tag given on attach (2.49+), or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
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

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceAttachments<'a> {
    pub interface_attachments: Vec<InterfaceAttachment<'a>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OneInterfaceAttachment<'a> {
    pub interface_attachment: InterfaceAttachment<'a>,
}
