//! Where the wiki is mounted ([`Site`]), which the default cookie name and
//! path are made from, and its patch form ([`SitePatch`]).

use serde::{Deserialize, Serialize};

/// Where the wiki is mounted, as a patch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    /// The server port the wiki is reached on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_port: Option<u16>,
    /// The script root (mount point), `""` at the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_root: Option<String>,
    /// The wiki's site id (`siteid`), used by `cookie_name = "siteidmagic"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siteid: Option<String>,
}

/// Where the wiki is mounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The server port.
    pub server_port: u16,
    /// The script root, `""` at the root.
    pub script_root: String,
    /// The site id.
    pub siteid: String,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            server_port: 8080,
            script_root: String::new(),
            siteid: "default".to_owned(),
        }
    }
}
