//! Flavors and images: just enough to boot. Nova's classic flavors
//! (`m1.tiny` … `m1.xlarge`) and one cirros image by default; both lists
//! can be replaced in the config file (`[[flavors]]`, `[[images]]`).

use serde::{Deserialize, Serialize};

/// The default image's id (`cirros-0.6.3-x86_64-disk`).
pub const DEFAULT_IMAGE_ID: &str = "c1a2b3c4-0603-4e8a-9d1f-0123456789ab";
pub const DEFAULT_IMAGE_NAME: &str = "cirros-0.6.3-x86_64-disk";

/// A Nova flavor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    /// MiB.
    pub ram: u64,
    /// GiB.
    pub disk: u64,
    pub vcpus: u32,
    #[serde(default)]
    pub ephemeral: u64,
    /// MiB; 0 shows as `""`, as in Nova.
    #[serde(default)]
    pub swap: u64,
    #[serde(default = "one")]
    pub rxtx_factor: f64,
    #[serde(default = "yes")]
    pub is_public: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub extra_specs: std::collections::BTreeMap<String, String>,
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

/// A Glance image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub id: String,
    pub name: String,
    #[serde(default = "qcow2")]
    pub disk_format: String,
    #[serde(default = "bare")]
    pub container_format: String,
    #[serde(default)]
    pub size: u64,
    /// MiB.
    #[serde(default)]
    pub min_ram: u64,
    /// GiB.
    #[serde(default)]
    pub min_disk: u64,
    #[serde(default = "public")]
    pub visibility: String,
    /// The owning project (`""`: none).
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub checksum: Option<String>,
}

fn qcow2() -> String {
    "qcow2".to_owned()
}
fn bare() -> String {
    "bare".to_owned()
}
fn public() -> String {
    "public".to_owned()
}

fn flavor(id: &str, name: &str, ram: u64, disk: u64, vcpus: u32) -> Flavor {
    Flavor {
        id: id.to_owned(),
        name: name.to_owned(),
        ram,
        disk,
        vcpus,
        ephemeral: 0,
        swap: 0,
        rxtx_factor: 1.0,
        is_public: true,
        description: None,
        extra_specs: Default::default(),
    }
}

/// Nova's classic default flavors.
pub fn default_flavors() -> Vec<Flavor> {
    vec![
        flavor("1", "m1.tiny", 512, 1, 1),
        flavor("2", "m1.small", 2048, 20, 1),
        flavor("3", "m1.medium", 4096, 40, 2),
        flavor("4", "m1.large", 8192, 80, 4),
        flavor("5", "m1.xlarge", 16384, 160, 8),
    ]
}

/// The cirros image DevStack uploads.
pub fn default_images() -> Vec<Image> {
    vec![Image {
        id: DEFAULT_IMAGE_ID.to_owned(),
        name: DEFAULT_IMAGE_NAME.to_owned(),
        disk_format: qcow2(),
        container_format: bare(),
        size: 21_692_416,
        min_ram: 0,
        min_disk: 0,
        visibility: public(),
        owner: String::new(),
        checksum: None,
    }]
}

/// The flavors and images the servers and image APIs serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub flavors: Vec<Flavor>,
    pub images: Vec<Image>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            flavors: default_flavors(),
            images: default_images(),
        }
    }
}

impl Catalog {
    pub fn flavor(&self, id: &str) -> Option<&Flavor> {
        self.flavors.iter().find(|f| f.id == id)
    }

    pub fn image(&self, id: &str) -> Option<&Image> {
        self.images.iter().find(|i| i.id == id)
    }
}
