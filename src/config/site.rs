//! Where the wiki is mounted ([`Site`]), which the default cookie name and
//! path are made from, and its patch form ([`SitePatch`]).

use std::fmt::Write as _;

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

impl Site {
    /// MoinMoin 1.9's session cookie name for this site and the configured
    /// `cookie_name` (`r[m19.name.default]`, `r[m19.name.script-root]`,
    /// `r[m19.name.siteidmagic]`, `r[m19.name.explicit]`; the hardened
    /// profile keeps them): `MOIN_SESSION_` and the configured name, the
    /// site id for `"siteidmagic"`, or by default the port and `ROOT` with
    /// the script root, every `/` made `_`.
    pub fn session_cookie_name(&self, cookie_name: Option<&str>) -> String {
        const PREFIX: &str = "MOIN_SESSION_";
        let rest = match cookie_name {
            None => self.script_root.len() + 10,
            Some("siteidmagic") => self.siteid.len(),
            Some(name) => name.len(),
        };
        let mut name = String::with_capacity(PREFIX.len() + rest);
        name.push_str(PREFIX);
        match cookie_name {
            None => {
                let _ = write!(name, "{}_ROOT", self.server_port);
                name.extend(
                    self.script_root
                        .chars()
                        .map(|c| if c == '/' { '_' } else { c }),
                );
            }
            Some("siteidmagic") => name.push_str(&self.siteid),
            Some(configured) => name.push_str(configured),
        }
        name
    }
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
