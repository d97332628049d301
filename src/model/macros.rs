//! The HelpOnSessions example macros of both editions, shared by the two
//! profiles of the model (`r[m19.new.macro-example]`,
//! `r[m16.macro.example]`).

use serde_json::{Map, Value};

use crate::exchange::MacroEdition;

/// The HelpOnSessions example macros over a session's data
/// (`r[m19.new.macro-example]`, `r[m16.macro.example]`).
pub(crate) fn macro_text(
    data: &mut Map<String, Value>,
    modified: &mut bool,
    new: bool,
    edition: MacroEdition,
    random: u32,
) -> String {
    let stored = data.get("test").cloned();
    match edition {
        MacroEdition::V19 => {
            if new {
                return "Not storing any state until you send a cookie.".to_owned();
            }
            if let Some(v) = stored {
                return format!("Loaded value {}", render(&v));
            }
            data.insert("test".to_owned(), Value::from(random));
            *modified = true;
            format!("Set to value {random}")
        }
        MacroEdition::V16 => {
            if let Some(v) = stored {
                return render(&v);
            }
            data.insert("test".to_owned(), Value::from(random));
            *modified = true;
            format!("set to value {random}")
        }
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
